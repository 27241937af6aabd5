"""TransformPartition (the Map's task): one work item -> one staged batch.

Event: {"item": {"work_key", "batch_key", "partition_hour", "objects"}, "index",
"hour", "execution"}. Returns the batch's counts; everything else goes to S3.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from clickstream.observability import logger, metrics
from clickstream.settings import Settings
from clickstream.storage import Lake
from clickstream.transform import transform_work_item


@cache
def settings() -> Settings:
    """Read once per process, on the first invocation (not at import)."""
    return Settings()


@cache
def lake(bucket: str) -> Lake:
    return Lake(bucket)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    current = settings()
    logger.append_keys(execution=event.get("execution"), index=event.get("index"))
    result = transform_work_item(lake(current.lake_bucket), event, current)
    metrics.add_metric(name="EventsStaged", unit=MetricUnit.Count, value=result["staged"])
    metrics.add_metric(name="LinesRejected", unit=MetricUnit.Count, value=result["rejected"])
    return result
