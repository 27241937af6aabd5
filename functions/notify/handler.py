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
from clickstream.pipeline.states import FailureNotice, NotifySuccessInput, SuccessNotice, notify_input


def _history(execution_arn: str) -> list[dict[str, Any]]:
    client = boto3.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
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
    state = None
    if task.execution_arn:
        try:
            state = notify.failed_state(_history(task.execution_arn))
        except (BotoCoreError, ClientError) as exc:  # the alert matters more than the detail
            logger.warning("could not read the execution history", error=str(exc))
    failure = FailureNotice.model_validate(
        notify.format_failure(
            task.hour,
            task.execution,
            task.execution_arn,
            task.error.model_dump(),
            state,
            settings.runtime,
        )
    )
    logger.info("failure notice", execution=task.execution, state=state, error=failure.error)
    return failure.model_dump(mode="json")
