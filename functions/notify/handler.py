"""NotifySuccess / NotifyFailure: format the SNS message for the outcome of an hour.

Event: ``NotifySuccessInput`` or ``NotifyFailureInput`` (by ``outcome``); returns
``SuccessNotice`` or ``FailureNotice`` (clickstream/pipeline/states.py).

With ``HEALTH_SNAPSHOT`` set (the stack sets it), both also write the pipeline's health
snapshot to the lake for the dashboards (``record_health``): best effort, bounded in time,
and never the notice's failure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from clickstream.core.lake import hour_iso
from clickstream.core.observability import logger, metrics, tracer
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.ops import health
from clickstream.pipeline import notify
from clickstream.pipeline.states import (
    AwaitRedriveInput,
    ContinuationStarted,
    FailureNotice,
    NotifySuccessInput,
    StartContinuationInput,
    SuccessNotice,
    notify_input,
)


def redrive_count(execution_arn: str) -> int:
    """DescribeExecution's redriveCount (absent before any redrive, and on moto: 0)."""
    description = boto3.client("stepfunctions").describe_execution(executionArn=execution_arn)
    return int(description.get("redriveCount") or 0)


def _history(execution_arn: str) -> list[dict[str, Any]]:
    client = boto3.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


# The snapshot's three calls (GetMetricData, GetQueueAttributes, PutObject) at most 4 s each, not
# retried (the next execution takes a new one), and only with this much of the function's 30 s left.
HEALTH_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=3, retries={"total_max_attempts": 1})
HEALTH_MIN_REMAINING_MS = 15_000
HEALTH_FAILED_METRIC = "HealthSnapshotFailed"


def record_health(settings: notify.NotifySettings, context: Any, now: datetime) -> bool:
    """Write the health snapshot (clickstream/ops/health.py) to the lake; True if it is complete.

    Best effort: whatever goes wrong (a read refused, the write failing, a bad setting) is
    logged and counted as ``HealthSnapshotFailed``, and the notice goes on regardless. A
    snapshot whose CloudWatch or SQS read failed is still written, saying so.
    """
    try:
        remaining = getattr(context, "get_remaining_time_in_millis", None)  # absent off Lambda
        if remaining is not None and remaining() < HEALTH_MIN_REMAINING_MS:
            raise TimeoutError(f"only {remaining()} ms left of the function's timeout")
        snapshot = health.take_snapshot(
            boto3.client("cloudwatch", config=HEALTH_CLIENT_CONFIG),
            boto3.client("sqs", config=HEALTH_CLIENT_CONFIG),
            health.ordered(health.parse_functions(settings.lambda_functions)),
            settings.ingest_dlq_url or None,
            now,
        )
        health.write_snapshot(
            Lake(settings.lake_bucket, boto3.client("s3", config=HEALTH_CLIENT_CONFIG)), snapshot
        )
    except Exception as exc:  # the notice matters more than the snapshot
        logger.warning("health snapshot not written", error=f"{type(exc).__name__}: {exc}")
        _count_failure(settings.runtime)
        return False
    if snapshot.problems:
        logger.warning("health snapshot incomplete", problems=list(snapshot.problems))
        _count_failure(settings.runtime)
        return False
    return True


def _count_failure(runtime: str) -> None:
    """On Lambda an EMF metric; elsewhere a log line (as load's FreshnessMinutes)."""
    if runtime == "aws":
        metrics.add_metric(name=HEALTH_FAILED_METRIC, unit=MetricUnit.Count, value=1)
    else:
        logger.info("metric", metric=HEALTH_FAILED_METRIC, value=1)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | str:
    task = notify_input(event)
    settings = get_settings()
    if isinstance(task, NotifySuccessInput):
        success = notify.format_success(
            hour_iso(task.hour),
            task.execution,
            task.counts.model_dump(mode="json"),
            settings.reject_alert_ratio,
        )
        notice = SuccessNotice.model_validate(success).model_dump(mode="json")
        _health(context)
        return notice
    if isinstance(task, StartContinuationInput):
        name, arn = notify.start_continuation(
            boto3.client("stepfunctions"), task.execution_arn, task.execution, hour_iso(task.hour)
        )
        logger.info("backlog left: continuation started", execution=name, left_objects=task.left_objects)
        return ContinuationStarted(name=name, execution_arn=arn).model_dump(mode="json")
    if isinstance(task, AwaitRedriveInput):
        now = redrive_count(task.execution_arn)
        resume_at = notify.await_redrive(task.state, task.redrive_count, now, task.error.model_dump())
        logger.info("redriven: resuming", execution=task.execution, state=resume_at, redrive_count=now)
        return resume_at  # at $.resume_at, which the Resume choice reads
    state = task.state
    count = 0
    if task.execution_arn:
        # Not optional: AwaitRedrive compares it with the count after a redrive (an error here is
        # retried, then the raw alert is published and the execution fails at Failed).
        count = redrive_count(task.execution_arn)
        try:
            state = state or notify.failed_state(_history(task.execution_arn))
        except (BotoCoreError, ClientError) as exc:  # the alert matters more than the detail
            logger.warning("could not read the execution", error=str(exc))
    failure = FailureNotice.model_validate(
        {
            **notify.format_failure(
                task.hour,
                task.execution,
                task.execution_arn,
                task.error.model_dump(),
                state,
                settings.runtime,
            ),
            "redrive_count": count,
        }
    )
    logger.info("failure notice", execution=task.execution, state=state, error=failure.error)
    notice = failure.model_dump(mode="json")
    _health(context)
    return notice


def _health(context: Any) -> None:
    settings = notify.NotifySettings()
    if settings.health_snapshot:
        record_health(settings, context, datetime.now(UTC))
