"""StartHour: the schedule's fire time becomes the execution of the hour that just closed."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra import constants as c
from tests.support.aws import LambdaContext

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Clickstream-pipeline"


def load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("start_hour_handler", c.START_HOUR_DIR / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return load_handler()


@pytest.mark.parametrize(
    ("scheduled_time", "closed"),
    [
        ("2025-10-18T14:00:00Z", "2025-10-18T13:00:00Z"),
        ("2025-10-19T00:00:00Z", "2025-10-18T23:00:00Z"),  # across midnight
        ("2025-10-18T14:00:07Z", "2025-10-18T13:00:00Z"),  # a late fire still closes the same hour
    ],
)
def test_closed_hour(handler: Any, scheduled_time: str, closed: str) -> None:
    from clickstream.core.lake import hour_iso

    assert hour_iso(handler.closed_hour(scheduled_time)) == closed


def stubbed_sfn(handler: Any, monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client("stepfunctions", region_name="us-east-1")
    stubber = Stubber(client)
    monkeypatch.setattr(handler.boto3, "client", lambda *args, **kwargs: client)
    return stubber


def test_starts_the_named_execution_of_the_closed_hour(handler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the schedule fires at 14:00
    stubber = stubbed_sfn(handler, monkeypatch)
    stubber.add_response(
        "start_execution",
        {"executionArn": f"{STATE_MACHINE_ARN}:hour-2025-10-18T13", "startDate": "2025-10-18T14:00:01Z"},
        {
            "stateMachineArn": STATE_MACHINE_ARN,
            "name": "hour-2025-10-18T13",
            "input": json.dumps({"hour": "2025-10-18T13:00:00Z"}),
        },
    )
    # When StartHour runs with the schedule's input
    with stubber:
        result = handler.handler({"scheduled_time": "2025-10-18T14:00:00Z"}, LambdaContext("StartHour", 128))
    # Then the 13:00 hour runs as hour-2025-10-18T13, exactly as the local scheduler starts it
    assert result["hour"] == "2025-10-18T13:00:00Z"
    stubber.assert_no_pending_responses()


def test_a_repeated_fire_is_harmless(handler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stubber = stubbed_sfn(handler, monkeypatch)
    stubber.add_client_error("start_execution", "ExecutionAlreadyExists", "exists")
    with stubber:
        result = handler.handler({"scheduled_time": "2025-10-18T14:00:00Z"}, LambdaContext("StartHour", 128))
    assert result["execution_arn"].endswith(":execution:Clickstream-pipeline:hour-2025-10-18T13")
