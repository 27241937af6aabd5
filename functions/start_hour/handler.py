"""StartHour: the EventBridge schedule's target. Starts the execution for the hour that just closed.

EventBridge Scheduler cannot do date arithmetic, and a Step Functions
execution started by it directly gets a random name. This function turns the
schedule's fire time into exactly what the local scheduler starts
(clickstream.local.scheduler): the execution ``hour-YYYY-MM-DDTHH`` with the
input ``{"hour": "YYYY-MM-DDTHH:00:00Z"}`` for the closed hour, through the
same ``Operator.start`` (idempotent: a retried or duplicate fire finds the
execution already there and changes nothing).

Event: ``StartHourInput``, the schedule's input ``{"scheduled_time": "2025-10-18T14:00:00Z"}``
-> execution ``hour-2025-10-18T13``, input ``{"hour": "2025-10-18T13:00:00Z"}``;
returns ``StartHourResult`` (clickstream/pipeline/states.py).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

import boto3

from clickstream.core.lake import execution_name, floor_hour, hour_iso
from clickstream.core.observability import logger, tracer
from clickstream.ops.operations import Operator
from clickstream.pipeline.states import StartHourInput, StartHourResult, parse_event


def closed_hour(scheduled_time: str | datetime) -> datetime:
    """The hour that closed at ``scheduled_time`` (the schedule fires at minute 0 of the next)."""
    fired = (
        scheduled_time
        if isinstance(scheduled_time, datetime)
        else datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    )
    return floor_hour(fired) - timedelta(hours=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    hour = closed_hour(parse_event(event, StartHourInput).scheduled_time)
    operator = Operator(boto3.client("stepfunctions"), os.environ["STATE_MACHINE_ARN"], local=False)
    arn = operator.start(hour)
    logger.info("hour started", hour=hour_iso(hour), execution=execution_name(hour))
    return StartHourResult(hour=hour, execution_arn=arn).model_dump(mode="json")
