"""ListNew: the raw objects this execution processes, as small work-item references."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from clickstream.core import db
from clickstream.core.lake import parse_hour
from clickstream.core.observability import logger
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.pipeline import listing


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    options = event.get("options") or {}
    since = options.get("since")
    with db.connect(settings.database_url) as conn:
        result = listing.list_new(
            lake=Lake(settings.lake_bucket),
            conn=conn,
            hour=parse_hour(event["hour"]),
            execution=event["execution"],
            lookback_hours=int(options.get("lookback_hours", settings.lookback_hours)),
            max_objects=settings.max_objects_per_item,
            max_bytes=settings.max_bytes_per_item,
            since=parse_hour(since) if since else None,
        )
    logger.info(
        "listed new objects",
        execution=event["execution"],
        objects=result["objects"],
        items=len(result["items"]),
        truncated=result["truncated"],
    )
    return result
