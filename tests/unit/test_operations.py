"""Reading an execution's history into per-state timings, attempts and failures."""

import json
from datetime import UTC, datetime, timedelta

from clickstream.ops.operations import Operator, states_from_history

T0 = datetime(2025, 10, 18, 14, tzinfo=UTC)


def ev(i: int, kind: str, prev: int, seconds: float, **details: dict) -> dict:
    return {
        "id": i,
        "type": kind,
        "previousEventId": prev,
        "timestamp": T0 + timedelta(seconds=seconds),
        **details,
    }


def test_retries_and_timings_per_state() -> None:
    events = [
        ev(1, "ExecutionStarted", 0, 0),
        ev(2, "TaskStateEntered", 1, 0, stateEnteredEventDetails={"name": "ListNew"}),
        ev(3, "LambdaFunctionScheduled", 2, 0.1),
        ev(
            4,
            "LambdaFunctionFailed",
            3,
            0.5,
            lambdaFunctionFailedEventDetails={"error": "TransientStorageError"},
        ),
        ev(5, "LambdaFunctionScheduled", 4, 1.5),
        ev(6, "LambdaFunctionSucceeded", 5, 2.0),
        ev(7, "TaskStateExited", 6, 2.0, stateExitedEventDetails={"name": "ListNew"}),
        ev(8, "TaskStateEntered", 7, 2.0, stateEnteredEventDetails={"name": "CheckStagedBatches"}),
        ev(9, "LambdaFunctionScheduled", 8, 2.1),
        ev(10, "LambdaFunctionSucceeded", 9, 5.0),
        ev(11, "TaskStateExited", 10, 5.0, stateExitedEventDetails={"name": "CheckStagedBatches"}),
    ]
    runs = {r.name: r for r in states_from_history(events)}
    assert list(runs) == ["ListNew", "CheckStagedBatches"]
    assert runs["ListNew"].attempts == 2
    assert runs["ListNew"].failures == ["TransientStorageError"]
    assert runs["ListNew"].seconds == 2.0
    assert runs["CheckStagedBatches"].attempts == 1 and runs["CheckStagedBatches"].failures == []
    assert runs["CheckStagedBatches"].seconds == 3.0


# -- redrive on AWS: RedriveExecution only where it resumes ------------------------------------


_ARN = "arn:aws:states:us-east-1:1:stateMachine:m"
_EXEC = "arn:aws:states:us-east-1:1:execution:m:hour-2025-10-18T13"


class _FakeSfn:
    """describe_execution, get_execution_history (as a paginator), redrive/start_execution."""

    def __init__(self, entered: list[tuple[str, dict]]) -> None:
        self.events = [
            {
                "id": i + 1,
                "type": "TaskStateEntered",
                "timestamp": datetime(2025, 10, 18, 14, tzinfo=UTC),
                "previousEventId": i,
                "stateEnteredEventDetails": {"name": name, "input": json.dumps(doc)},
            }
            for i, (name, doc) in enumerate(entered)
        ]
        self.redriven: list[str] = []
        self.started: list[dict] = []

    def describe_execution(self, executionArn: str) -> dict:
        return {
            "name": "hour-2025-10-18T13",
            "status": "FAILED",
            "input": json.dumps({"hour": "2025-10-18T13:00:00Z"}),
            "startDate": datetime(2025, 10, 18, 14, tzinfo=UTC),
        }

    def get_paginator(self, name: str):  # type: ignore[no-untyped-def]
        fake = self

        class Paginator:
            def paginate(self, **_: object):  # type: ignore[no-untyped-def]
                if name == "get_execution_history":
                    return [{"events": fake.events}]
                return [{"executions": []}]

        return Paginator()

    def redrive_execution(self, executionArn: str) -> dict:
        self.redriven.append(executionArn)
        return {}

    def start_execution(self, **kwargs: str) -> dict:
        self.started.append(kwargs)
        return {"executionArn": kwargs["name"]}


def test_on_aws_an_execution_waiting_at_await_redrive_is_redriven_in_place() -> None:
    doc = {"hour": "2025-10-18T13:00:00Z", "run": {"name": "hour-2025-10-18T13"}}
    sfn = _FakeSfn(
        [
            ("SessionizeAndUpsert", doc),
            ("CaughtSessionizeAndUpsert", doc),
            ("AwaitRedrive", {**doc, "failed_state": "SessionizeAndUpsert"}),
        ]
    )
    assert Operator(sfn, _ARN, local=False).redrive(_EXEC) == _EXEC
    assert sfn.redriven == [_EXEC] and sfn.started == []


def test_an_execution_that_ended_in_the_fail_state_is_resumed_under_a_new_name() -> None:
    doc = {"hour": "2025-10-18T13:00:00Z", "run": {"name": "hour-2025-10-18T13"}, "list": {"worklist": "w"}}
    sfn = _FakeSfn(
        [
            ("SessionizeAndUpsert", doc),
            ("AwaitRedrive", {**doc, "failed_state": "SessionizeAndUpsert", "error": {}}),
            ("Failed", doc),  # e.g. an older definition, or the raw alert path
        ]
    )
    Operator(sfn, _ARN, local=False).redrive(_EXEC)
    assert sfn.redriven == []
    (started,) = sfn.started
    assert started["name"] == "hour-2025-10-18T13-r2"
    assert json.loads(started["input"]) == {
        "hour": "2025-10-18T13:00:00Z",
        "run": {"name": "hour-2025-10-18T13"},
        "list": {"worklist": "w"},
        "resume_at": "SessionizeAndUpsert",
    }
