"""Reading an execution's history into per-state timings, attempts and failures."""

from datetime import UTC, datetime, timedelta

from clickstream.ops.operations import states_from_history

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
