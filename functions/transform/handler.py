"""TransformPartition (the Map's task): one work item -> one staged batch.

Event: ``TransformPartitionInput``; returns ``TransformPartitionResult``
(clickstream/pipeline/states.py), the batch's counts; everything else goes to S3.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from clickstream.core.observability import logger, metrics, tracer
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.pipeline.states import TransformPartitionInput, TransformPartitionResult, parse_event
from clickstream.pipeline.transform import transform_work_item


@cache
def lake(bucket: str) -> Lake:
    """One S3 client per warm process, made on the first invocation (not at import)."""
    return Lake(bucket)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_event(event, TransformPartitionInput)
    settings = get_settings().require("user_id_hmac_key")
    logger.append_keys(execution=task.execution, index=task.index)
    result = TransformPartitionResult.model_validate(
        transform_work_item(lake(settings.lake_bucket), task, settings)
    )
    metrics.add_metric(name="EventsStaged", unit=MetricUnit.Count, value=result.staged)
    # The names the reject-rate alarm divides (infra/constants.py).
    metrics.add_metric(name="LinesRead", unit=MetricUnit.Count, value=result.lines_read)
    metrics.add_metric(name="RejectedLines", unit=MetricUnit.Count, value=result.rejected)
    return result.model_dump(mode="json")
