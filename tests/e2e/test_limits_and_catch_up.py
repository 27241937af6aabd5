"""Lambda's limits enforced locally, and a backlog that drains through chained executions (issue 13).

The stack runs with its limits scaled down through the environment: the load function times out
after a few seconds (CLICKSTREAM_TIMEOUT_S_LOAD) and one execution takes at most ~100 KB of raw
objects (MAX_BYTES_PER_EXECUTION), a small fraction of the backlog put here.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from clickstream.core.lake import execution_name, hour_label, parse_hour
from clickstream.core.limits import LAMBDA_TIMEOUT_ERROR
from clickstream.local.alerts import alerts_file, read_alerts
from clickstream.ops.operations import TERMINAL
from clickstream.tools import reference
from tests.e2e.test_pipeline import put_generated
from tests.support.stack import RunningStack, start_stack_process, stop_stack_process

LOAD_TIMEOUT_S = "6"
BUDGET_BYTES = "100000"


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    scaled = {"CLICKSTREAM_TIMEOUT_S_LOAD": LOAD_TIMEOUT_S, "MAX_BYTES_PER_EXECUTION": BUDGET_BYTES}
    saved = {k: os.environ.get(k) for k in scaled}
    os.environ.update(scaled)
    path = Path(tempfile.mkdtemp(prefix="clickstream-e2e-"))
    try:
        running = start_stack_process(path)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield running
    stop_stack_process(running)
    shutil.rmtree(path, ignore_errors=True)


def wait_caught_up(stack: RunningStack, hour: datetime, timeout_s: float = 600) -> list[dict]:
    """The hour's executions once none runs and the latest left no backlog."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = stack.op.hour_executions(hour)
        if rows and all(r["status"] in TERMINAL for r in rows):
            latest = stack.op.report(rows[-1]["executionArn"])
            if latest.status != "SUCCEEDED" or not (latest.output.get("list") or {}).get("truncated"):
                return stack.op.hour_executions(hour)
        time.sleep(0.5)
    raise TimeoutError(f"hour {hour_label(hour)} still catching up after {timeout_s} s")


def test_a_backlog_drains_through_chained_executions_and_matches_the_reference(
    stack: RunningStack, tmp_path: Path
) -> None:
    # Given six hours of traffic, several times one execution's budget, and no watermark yet
    start = datetime(2025, 10, 20, 6, tzinfo=UTC)
    truth = put_generated(stack, tmp_path, seed=21, start=start, hours=6, events_per_day=20000)
    total = sum(o.size for o in stack.lake.list("raw/"))
    assert total > 4 * int(BUDGET_BYTES)
    last = parse_hour(max(truth.partitions))  # late arrivals land in partitions after the six hours

    # When the last hour runs once (the continuations' staged checks held a little, to watch them)
    stack.faults({"load": [{"sleep": 2, "action": "check_staged_batches", "times": 6}]})
    first = stack.cli("run", "--hour", hour_label(last), check=False)
    assert first.returncode == 0, first.stdout + first.stderr

    # `clickstream executions` shows the catch-up in progress and what is left
    listed = stack.cli("executions").stdout
    assert f"catching up hour {hour_label(last)}: {execution_name(last)}-c" in listed, listed
    assert "left after it" in listed or "; listing." in listed
    status = json.loads(stack.cli("status", "--json").stdout)
    assert [c["hour"] for c in status["catching_up"]] in ([hour_label(last)], [])  # [] if it just ended

    # Then it chains continuations (hour-H-c2, -c3, ...) until the backlog is gone, none fails
    rows = wait_caught_up(stack, last)
    names = [r["name"] for r in rows]
    assert names[0] == execution_name(last)
    assert names[1:] == [f"{execution_name(last)}-c{n}" for n in range(2, len(names) + 1)]
    assert len(names) >= 4, names
    assert all(r["status"] == "SUCCEEDED" for r in rows), rows
    # each execution stayed within its budget (whole partitions; at least one item)
    for row in rows:
        listed = stack.op.report(row["executionArn"]).output["list"]
        assert listed["bytes"] <= int(BUDGET_BYTES) or listed["partitions"] == 1
    # one execution of the hour works at a time: each continuation started after the one before
    # it had committed and advanced the watermark (its last state, StartContinuation, starts it)
    for before, after in itertools.pairwise(rows):
        states = {st.name: st for st in stack.op.report(before["executionArn"]).states}
        advanced = states["AdvanceWatermark"].exited
        assert advanced is not None and after["startDate"] >= advanced
        assert "StartContinuation" in states

    # and the warehouse is the from-scratch reference, row for row, every event once
    assert stack.scalar("select count(*) from fact_events") == truth.unique_valid_events
    with psycopg.connect(stack.info.database_url) as conn:
        assert reference.compare(conn) == []
    assert stack.scalar("select watermark_hour from etl_watermark") == last
    assert stack.cli("executions", "--status", "FAILED").returncode in (0, 2)
    assert stack.op.failed_hours() == []
    assert "catching up" not in stack.cli("executions").stdout


def test_a_task_past_its_functions_timeout_is_killed_fails_as_on_lambda_and_redrives(
    stack: RunningStack, tmp_path: Path
) -> None:
    start = datetime(2025, 10, 21, 9, tzinfo=UTC)
    label = hour_label(start)
    put_generated(stack, tmp_path, seed=22, start=start, hours=1, events_per_day=2000)
    alerts_before = len(read_alerts(alerts_file(stack.data_dir)))

    # SessionizeAndUpsert holds its worker past the load function's (scaled) timeout
    stack.faults({"load": [{"sleep": 30, "action": "sessionize_and_upsert", "times": 1}]})
    began = time.monotonic()
    failed = stack.cli("run", "--hour", label, check=False)
    assert failed.returncode == 1
    assert time.monotonic() - began < 30  # killed at the timeout, not after the sleep
    report = stack.op.report(execution_name(start))
    assert report.error == LAMBDA_TIMEOUT_ERROR
    assert f"Task timed out after {float(LOAD_TIMEOUT_S):.2f} seconds" in (report.cause or "")
    upsert = next(s for s in report.states if s.name == "SessionizeAndUpsert")
    assert upsert.failures == [LAMBDA_TIMEOUT_ERROR]  # no Retry matches a timeout: caught at once
    for _ in range(50):
        alerts = read_alerts(alerts_file(stack.data_dir))
        if len(alerts) > alerts_before:
            break
        time.sleep(0.1)
    assert f"FAILED: {LAMBDA_TIMEOUT_ERROR}" in alerts[-1].subject
    assert "failed state SessionizeAndUpsert" in alerts[-1].message

    # the worker was rebuilt; the redrive resumes at SessionizeAndUpsert and succeeds
    stack.faults({})
    stack.cli("redrive", "--hour", label)
    resumed = stack.op.report(f"{execution_name(start)}-r2")
    assert resumed.status == "SUCCEEDED"
    assert [s.name for s in resumed.states][:3] == ["Start", "Resume", "SessionizeAndUpsert"]
    with psycopg.connect(stack.info.database_url) as conn:
        assert reference.compare(conn) == []
