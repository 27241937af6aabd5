"""ListNew: the raw objects this execution processes, as small work-item references.

Event: ``ListNewInput``; returns ``ListNewResult`` (clickstream/pipeline/states.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from clickstream.core import db
from clickstream.core.observability import logger, tracer
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.pipeline import listing, reprocess
from clickstream.pipeline.states import ListNewInput, ListNewResult, parse_event


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_event(event, ListNewInput)
    settings = get_settings().require("database_url")
    options = task.options
    if options.reprocess is not None:  # clickstream reprocess: the partitions, processed or not
        result = ListNewResult.model_validate(
            reprocess.list_range(
                Lake(settings.lake_bucket),
                execution=task.execution,
                first=options.reprocess.first,
                last=options.reprocess.last,
                max_objects=settings.max_objects_per_item,
                max_bytes=settings.max_bytes_per_item,
                max_total_bytes=settings.max_bytes_per_execution,
            )
        )
        logger.info("listed partitions to reprocess", execution=task.execution, objects=result.objects)
        return result.model_dump(mode="json")
    with db.connect(settings.database_url) as conn:
        result = ListNewResult.model_validate(
            listing.list_new(
                lake=Lake(settings.lake_bucket),
                conn=conn,
                hour=task.hour,
                execution=task.execution,
                lookback_hours=(
                    settings.lookback_hours if options.lookback_hours is None else options.lookback_hours
                ),
                max_objects=settings.max_objects_per_item,
                max_bytes=settings.max_bytes_per_item,
                since=options.since,
                max_total_bytes=settings.max_bytes_per_execution,
            )
        )
    logger.info(
        "listed new objects",
        execution=task.execution,
        objects=result.objects,
        items=len(result.items),
        truncated=result.truncated,
        left_objects=result.left_objects,
    )
    return result.model_dump(mode="json")
