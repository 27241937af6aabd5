"""NotifySuccess / NotifyFailure: format the SNS message for the outcome of an hour.

Event: ``NotifySuccessInput`` or ``NotifyFailureInput`` (by ``outcome``); returns
``SuccessNotice`` or ``FailureNotice`` (clickstream/pipeline/states.py).
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from clickstream.core.lake import hour_iso
from clickstream.core.observability import logger, tracer
from clickstream.core.settings import get_settings
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


@logger.inject_lambda_context(clear_state=True)
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
        return SuccessNotice.model_validate(success).model_dump(mode="json")
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
    return failure.model_dump(mode="json")
