"""Settings, read once at the handler (never at import, never deep in logic).

Locally everything has a default, so ``make demo`` needs no configuration. On
AWS a function states what it cannot run without (``Settings.require``): a
deployed function without a real HMAC key or a database URL fails on its
first invocation with a ConfigurationError that names the variable, instead
of hashing user ids with the public development key.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from clickstream.core import limits
from clickstream.core.errors import ConfigurationError

DEVELOPMENT_HMAC_KEY = "local-development-key-change-me"
# The stack generates a 48-character key (infra/capabilities/pipeline.py, UserIdHmacKey).
MIN_HMAC_KEY_LENGTH = 32

# What a function may require on AWS, and where the stack sets it.
Required = Literal["database_url", "user_id_hmac_key"]
WHERE_SET: dict[str, str] = {
    "database_url": "the stack builds it from the warehouse's password secret "
    "(Warehouse.pipeline_database_url in infra/capabilities/warehouse.py) for list_new and load",
    "user_id_hmac_key": "the stack passes the UserIdHmacKey secret (infra/capabilities/pipeline.py) "
    "to transform and ingest",
}


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
    user_id_hmac_key: SecretStr = SecretStr(DEVELOPMENT_HMAC_KEY)
    alert_topic_arn: str = ""
    # Lookback: partitions this many hours before the watermark are re-listed.
    lookback_hours: int = Field(default=2, ge=0, le=72)
    # A success notice is sent when rejected lines exceed this share of lines read.
    reject_alert_ratio: float = Field(default=0.01, ge=0, le=1)
    # Business alerts (docs/DESIGN.md "Business alerts", clickstream/pipeline/business.py): a day's
    # sessions, orders, conversion or revenue changing by more than this share against the median
    # of the same weekday over the weeks before sends one SNS message.
    business_alerts: bool = True
    business_alert_threshold: float = Field(default=0.3, gt=0, le=10)
    business_alert_baseline_weeks: int = Field(default=4, ge=2, le=12)
    # Baselines too small to judge are not compared: sessions, and orders (also for conversion, revenue).
    business_alert_min_sessions: int = Field(default=200, ge=0)
    business_alert_min_orders: int = Field(default=30, ge=0)
    # A day is checked once the receive hours up to this many after its midnight are committed.
    business_alert_settle_hours: int = Field(default=2, ge=1, le=48)
    # Bounded slice of a partition that one Map item processes.
    max_objects_per_item: int = Field(default=200, ge=1)
    max_bytes_per_item: int = Field(default=256 * 1024 * 1024, ge=1)
    # What one execution takes at most (raw bytes): its upsert fits the load function's timeout
    # (clickstream/core/limits.py); a bigger backlog drains through continuations.
    max_bytes_per_execution: int = Field(default=limits.MAX_BYTES_PER_EXECUTION, ge=1)
    aws_region: str = Field(default="us-east-1", alias="AWS_DEFAULT_REGION")
    # Where this runs: "local" or "aws" (the stack sets RUNTIME=aws; on Lambda, AWS_EXECUTION_ENV
    # makes it "aws" whatever RUNTIME says). Decides the redrive commands, EMF metrics, require().
    runtime: str = "local"
    aws_execution_env: str = Field(default="", alias="AWS_EXECUTION_ENV")

    @model_validator(mode="after")
    def _lambda_is_aws(self) -> Self:
        if self.aws_execution_env.startswith("AWS_Lambda_"):
            self.runtime = "aws"
        return self

    def require(self, *names: Required) -> Self:
        """These settings, checked: on AWS each of ``names`` must be really set, else ConfigurationError.

        ``database_url``: not empty. ``user_id_hmac_key``: not the development
        key, and at least MIN_HMAC_KEY_LENGTH characters. Locally the defaults
        stand.
        """
        if self.runtime != "aws":
            return self
        for name in names:
            problem = self._problem(name)
            if problem:
                variable = name.upper()
                raise ConfigurationError(
                    f"{variable} {problem}, and this function needs it on AWS: set {variable} in the "
                    f"function's environment ({WHERE_SET[name]})"
                )
        return self

    def _problem(self, name: Required) -> str | None:
        if name == "database_url":
            return None if self.database_url.strip() else "is not set"
        key = self.user_id_hmac_key.get_secret_value()
        if key == DEVELOPMENT_HMAC_KEY:
            return "is not set (it is the public development key)"
        if len(key) < MIN_HMAC_KEY_LENGTH:
            return f"is shorter than {MIN_HMAC_KEY_LENGTH} characters"
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read on first use (never at import)."""
    return Settings()
