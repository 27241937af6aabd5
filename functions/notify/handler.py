"""NotifySuccess / NotifyFailure: format the SNS message for the outcome of an hour."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from clickstream.core.observability import logger
from clickstream.core.settings import get_settings
from clickstream.pipeline import notify


def _history(execution_arn: str) -> list[dict[str, Any]]:
    client = boto3.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    hour, execution = str(event.get("hour", "")), str(event.get("execution", ""))
    if event.get("outcome") == "success":
        return notify.format_success(hour, execution, event.get("counts") or {}, settings.reject_alert_ratio)
    arn = event.get("execution_arn")
    state = None
    if arn:
        try:
            state = notify.failed_state(_history(arn))
        except (BotoCoreError, ClientError) as exc:  # the alert matters more than the detail
            logger.warning("could not read the execution history", error=str(exc))
    notice = notify.format_failure(hour, execution, arn, event.get("error") or {}, state, settings.runtime)
    logger.info("failure notice", execution=execution, state=state, error=notice["error"])
    return notice
