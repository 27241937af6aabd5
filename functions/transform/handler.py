"""TransformPartition (the Map's task): one work item -> one staged batch.

Event: {"item": {"work_key", "batch_key", "partition_hour", "objects"}, "index",
"hour", "execution"}. Returns the batch's counts; everything else goes to S3.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from clickstream.core.observability import logger, metrics
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.pipeline.transform import transform_work_item


@cache
def lake(bucket: str) -> Lake:
    """One S3 client per warm process, made on the first invocation (not at import)."""
    return Lake(bucket)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    logger.append_keys(execution=event.get("execution"), index=event.get("index"))
    result = transform_work_item(lake(settings.lake_bucket), event, settings)
    metrics.add_metric(name="EventsStaged", unit=MetricUnit.Count, value=result["staged"])
    # The names the reject-rate alarm divides (infra/constants.py).
    metrics.add_metric(name="LinesRead", unit=MetricUnit.Count, value=result["lines_read"])
    metrics.add_metric(name="RejectedLines", unit=MetricUnit.Count, value=result["rejected"])
    return result
