"""CheckStagedBatches, SessionizeAndUpsert and AdvanceWatermark: one function, the state says which action.

Event: {"action": "check_staged_batches" | "sessionize_and_upsert" |
"advance_watermark", "hour", "execution", "worklist"} (worklist: the S3 key
list_new wrote, absent or null when there was nothing new). AdvanceWatermark
also honours an optional "watermark_to" (null: do not move it). Returns the
action's small result. The actions' former names, "sessionize" and "upsert",
are still read: a redrive runs an execution's original definition.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from clickstream.core import db
from clickstream.core.errors import ContractViolation
from clickstream.core.lake import parse_hour
from clickstream.core.observability import logger, metrics, tracer
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.pipeline import load

ACTIONS = ("check_staged_batches", "sessionize_and_upsert", "advance_watermark")
RENAMED_ACTIONS = {"sessionize": "check_staged_batches", "upsert": "sessionize_and_upsert"}


@cache
def lake(bucket: str) -> Lake:
    """One S3 client per process, made on the first invocation (not at import)."""
    return Lake(bucket)


def publish_freshness(minutes: float, runtime: str) -> None:
    """On Lambda an EMF metric; elsewhere a log line (nothing collects EMF from a local stdout)."""
    if runtime == "aws":
        metrics.add_metric(name="FreshnessMinutes", unit=MetricUnit.NoUnit, value=minutes)
        metrics.flush_metrics()
    else:
        logger.info("metric", metric="FreshnessMinutes", value=minutes)


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    action = RENAMED_ACTIONS.get(event.get("action"), event.get("action"))
    if action not in ACTIONS:
        raise ContractViolation(f"unknown load action {action!r}; expected one of {', '.join(ACTIONS)}")
    execution = str(event["execution"])
    hour = parse_hour(str(event["hour"]))
    logger.append_keys(action=action, execution=execution, hour=event["hour"])
    with db.connect(settings.database_url, application_name=f"clickstream-load-{action}") as conn:
        if action == "check_staged_batches":
            return load.check_staged_batches(
                conn,
                lake(settings.lake_bucket),
                execution=execution,
                hour=hour,
                worklist_key=event.get("worklist"),
            )
        if action == "sessionize_and_upsert":
            return load.upsert(
                conn,
                lake(settings.lake_bucket),
                execution=execution,
                hour=hour,
                worklist_key=event.get("worklist"),
            )
        target = event.get("watermark_to", event["hour"])
        result = load.advance_watermark(
            conn, execution=execution, hour=parse_hour(str(target)) if target else None
        )
    if result["freshness_minutes"] is not None:
        publish_freshness(result["freshness_minutes"], settings.runtime)
    return result
