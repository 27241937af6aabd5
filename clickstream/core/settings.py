"""Settings, read once at the handler (never at import, never deep in logic)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a handler or the command line needs, from the environment.

    Names are the environment variables in upper case (``LAKE_BUCKET``...).
    Clients reach local endpoints through the standard ``AWS_ENDPOINT_URL``
    variables, which boto3 reads itself, so no endpoint appears here.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    lake_bucket: str = "clickstream-lake"
    database_url: str = ""
    # Key of the HMAC that hashes user_id before it is stored anywhere.
    user_id_hmac_key: SecretStr = SecretStr("local-development-key-change-me")
    alert_topic_arn: str = ""
    # Lookback: partitions this many hours before the watermark are re-listed.
    lookback_hours: int = Field(default=2, ge=0, le=72)
    # A success notice is sent when rejected lines exceed this share of lines read.
    reject_alert_ratio: float = Field(default=0.01, ge=0, le=1)
    # Bounded slice of a partition that one Map item processes.
    max_objects_per_item: int = Field(default=200, ge=1)
    max_bytes_per_item: int = Field(default=256 * 1024 * 1024, ge=1)
    aws_region: str = Field(default="us-east-1", alias="AWS_DEFAULT_REGION")
    # How the operator reaches this stack in redrive commands: "local" or "aws".
    runtime: str = "local"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read on first use (never at import)."""
    return Settings()
