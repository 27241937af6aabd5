"""Lambda's and Step Functions' limits: the largest execution ListNew may plan stays well under them."""

from __future__ import annotations

import json
import math

from clickstream.core import limits
from clickstream.core.lake import partition_prefix
from clickstream.core.settings import Settings
from clickstream.ops.definition import ASL_PATH
from clickstream.pipeline import notify
from clickstream.pipeline.listing import MAX_ITEMS

ASL = json.loads(ASL_PATH.read_text())
# History events a Lambda Task adds per attempt (TaskScheduled, TaskStarted, TaskSucceeded/Failed)
# and per state (Entered, Exited); a Map iteration adds Started and Succeeded around its Task.
TASK_ATTEMPT_EVENTS = 3
STATE_EVENTS = 2
ITERATION_EVENTS = 2


def _max_attempts(state: dict) -> int:
    return 1 + sum(r.get("MaxAttempts", 3) for r in state.get("Retry", []))


def worst_case_history_events(items: int) -> int:
    """Every state of the longest path entered, every Retry used to the end, the Map at ``items``."""
    events = 3  # ExecutionStarted, ExecutionSucceeded/Failed, one spare
    for name, state in ASL["States"].items():
        events += STATE_EVENTS
        if state["Type"] == "Task":
            events += TASK_ATTEMPT_EVENTS * _max_attempts(state)
        if name == "TransformPartitions":
            inner = state["ItemProcessor"]["States"]["TransformPartition"]
            per_item = ITERATION_EVENTS + STATE_EVENTS + TASK_ATTEMPT_EVENTS * _max_attempts(inner)
            events += items * per_item
    return events


def test_the_largest_execution_stays_well_under_the_history_quota() -> None:
    # every state once (success and failure branches both), every retry exhausted, 400 items
    worst = worst_case_history_events(MAX_ITEMS)
    assert worst < limits.SFN_MAX_HISTORY_EVENTS / 3, worst
    # and a redriven execution replays the branch at most once more per redrive: 10 redrives fit
    assert worst + 10 * worst_case_history_events(0) < limits.SFN_MAX_HISTORY_EVENTS


def test_the_largest_payload_stays_well_under_the_quota() -> None:
    # $.list holds one reference per item; keys at their longest (execution names with -rNN-cNN)
    execution = "hour-2025-10-18T13-r99-c99"
    item = {
        "work_key": f"staged/{execution}/work/00399.json",
        "batch_key": f"staged/{execution}/batches/00399",
        "partition_hour": "2025-10-18T13:00:00Z",
        "objects": 200,
    }
    listing = {
        "hour": "2025-10-18T13:00:00Z",
        "items": [item] * MAX_ITEMS,
        "worklist": f"staged/{execution}/worklist.json",
        "objects": 80_000,
        "partitions": 400,
        "listed_from": "2025-10-18T11:00:00Z",
        "watermark": "2025-10-18T12:00:00Z",
        "watermark_to": "2025-10-18T13:00:00Z",
        "truncated": True,
        "bytes": 10**12,
        "left_objects": 10**9,
        "left_bytes": 10**15,
    }
    cause = "x" * 32_768  # an error's cause is at most 32 KB in the history
    document = {
        "hour": "2025-10-18T13:00:00Z",
        "run": {"name": execution},
        "list": listing,
        "transform": {"partitions": 400},
        "staged": {"status": "STAGED", "batches": 400, "objects": 80_000, "rows": 10**9, "checked": True},
        "upsert": {k: 10**9 for k in ("objects", "lines_read", "loaded", "duplicates", "rejected")},
        "error": {"Error": "ConfigurationError", "Cause": cause},
        "notice": {"publish": True, "subject": "s" * 100, "message": "m" * 4_000, "state": "ListNew"},
        "failed_state": "SessionizeAndUpsert",
    }
    size = len(json.dumps(document).encode())
    assert size < limits.SFN_MAX_PAYLOAD_BYTES / 2, size
    # a partition prefix is short: the work files, not the payload, carry the object keys
    assert len(partition_prefix(__import__("datetime").datetime(2025, 10, 18, 13))) < 60


def test_one_executions_budget_fits_the_load_functions_timeout_with_its_margin() -> None:
    budget = limits.MAX_BYTES_PER_EXECUTION
    events = budget / (limits.RAW_BYTES_PER_EVENT * limits.BYTES_PER_EVENT_SAFETY)
    seconds = events / limits.UPSERT_EVENTS_PER_S
    load = limits.FUNCTION_LIMITS["load"]
    assert seconds <= load.timeout_s * limits.RATE_SAFETY + 1
    assert load.timeout_s <= limits.LAMBDA_MAX_TIMEOUT_S
    assert Settings().max_bytes_per_execution == budget
    # at the measured compression, 3.9 M events (300 s of upsert at 13k events/s) an execution
    assert math.isclose(limits.events_per_execution(), 3_900_000)


def test_the_local_timeouts_can_be_scaled_down(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert limits.timeout_s("load") == 600
    monkeypatch.setenv("CLICKSTREAM_TIMEOUT_S_LOAD", "3")
    assert limits.timeout_s("load") == 3


def test_continuation_names() -> None:
    assert notify.continuation_name("hour-2025-10-18T13") == "hour-2025-10-18T13-c2"
    assert notify.continuation_name("hour-2025-10-18T13-r2") == "hour-2025-10-18T13-c2"
    assert notify.continuation_name("hour-2025-10-18T13-c2") == "hour-2025-10-18T13-c3"
    assert notify.continuation_name("hour-2025-10-18T13-c2", taken=2) == "hour-2025-10-18T13-c5"
