"""The dashboards' settings, read once from the environment (never at import).

- ``DATABASE_URL``: the warehouse (read only is enough for the analysis pages).
- For the Reliability page's executions and Redrive button, the pipeline:
  ``CLICKSTREAM_STATE_MACHINE_ARN`` (with ``AWS_ENDPOINT_URL`` for the local
  stack; without it, AWS itself with the usual credentials), or
  ``CLICKSTREAM_DATA_DIR`` whose ``stack.json`` names the local stack's
  endpoint, state machine and lake. ``LAKE_BUCKET`` lets the page count raw
  partitions that are not processed yet. ``LAMBDA_FUNCTIONS`` (``role=FunctionName,...``) and
  ``INGEST_DLQ_URL`` give the Lambda error rates (CloudWatch) and the dead-letter queue's depth
  (SQS) read directly with the caller's credentials; the local stack's are found from its
  stack.json. ``HEALTH_SNAPSHOT_BUCKET`` (the lake, set on the warehouse host by the stack)
  reads them instead from the snapshot the notify function writes at the end of every
  execution (``ops/health.json``, clickstream/ops/health.py): the host reaches S3 only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = ""
    clickstream_data_dir: Path | None = None
    clickstream_state_machine_arn: str = ""
    aws_endpoint_url: str = ""
    aws_default_region: str = "us-east-1"
    lake_bucket: str = ""
    lookback_hours: int = 2  # ListNew's (LOOKBACK_HOURS): older waiting partitions are "late"
    # On AWS, for the Reliability page's Lambda error rates and DLQ depth (the local stack knows them):
    lambda_functions: str = ""  # list_new=FunctionName,transform=...,load=...,notify=...,ingest=...
    ingest_dlq_url: str = ""  # IngestDeadLetterQueueUrl
    # On the warehouse host: the lake bucket holding notify's health snapshot (ops/health.json).
    health_snapshot_bucket: str = ""


@lru_cache(maxsize=1)
def get_settings() -> DashboardSettings:
    return DashboardSettings()
