"""CheckStagedBatches, SessionizeAndUpsert, AdvanceWatermark and CheckBusinessDays: one function, the
state says which action.

Event: one of ``CheckStagedBatchesInput`` (action ``check_staged_batches``),
``SessionizeAndUpsertInput`` (``sessionize_and_upsert``), ``AdvanceWatermarkInput``
(``advance_watermark``) and ``CheckBusinessDaysInput`` (``check_business_days``); returns the action's result
model (clickstream/pipeline/states.py). The actions' former names, ``sessionize``
and ``upsert``, are still read: a redrive runs an execution's original definition.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from clickstream.core import db
from clickstream.core.lake import hour_iso
from clickstream.core.observability import logger, metrics, tracer
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.pipeline import business, load
from clickstream.pipeline.states import (
    AdvanceWatermarkResult,
    BusinessAlertNotice,
    CheckBusinessDaysInput,
    CheckStagedBatchesInput,
    CheckStagedBatchesResult,
    SessionizeAndUpsertInput,
    SessionizeAndUpsertResult,
    load_input,
)


@cache
def lake(bucket: str) -> Lake:
    """One S3 client per process, made on the first invocation (not at import)."""
    return Lake(bucket)


def publish_freshness(minutes: float, runtime: str) -> None:
    """On Lambda an EMF metric; elsewhere a log line (nothing collects EMF from a local stdout)."""
    if runtime == "aws":
        metrics.add_metric(name="FreshnessMinutes", unit=MetricUnit.NoUnit, value=minutes)
    else:
        logger.info("metric", metric="FreshnessMinutes", value=minutes)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = load_input(event)
    settings = get_settings().require("database_url")
    logger.append_keys(action=task.action, execution=task.execution, hour=hour_iso(task.hour))
    result: BaseModel
    with db.connect(settings.database_url, application_name=f"clickstream-load-{task.action}") as conn:
        if isinstance(task, CheckStagedBatchesInput):
            result = CheckStagedBatchesResult.model_validate(
                load.check_staged_batches(
                    conn,
                    lake(settings.lake_bucket),
                    execution=task.execution,
                    hour=task.hour,
                    worklist_key=task.worklist,
                )
            )
        elif isinstance(task, SessionizeAndUpsertInput):
            result = SessionizeAndUpsertResult.model_validate(
                load.upsert(
                    conn,
                    lake(settings.lake_bucket),
                    execution=task.execution,
                    hour=task.hour,
                    worklist_key=task.worklist,
                )
            )
        elif isinstance(task, CheckBusinessDaysInput):
            result = BusinessAlertNotice.model_validate(
                business.check_days(
                    conn,
                    run=task.execution,
                    before=task.watermark_before,
                    after=task.watermark_after,
                    settings=business.AlertSettings.from_settings(settings),
                )
            )
            logger.info("business days checked", checked=result.checked, alerted=result.alerted)
        else:
            result = AdvanceWatermarkResult.model_validate(
                load.advance_watermark(conn, execution=task.execution, hour=task.watermark_to)
            )
    if isinstance(result, AdvanceWatermarkResult) and result.freshness_minutes is not None:
        publish_freshness(result.freshness_minutes, settings.runtime)
    return result.model_dump(mode="json")
