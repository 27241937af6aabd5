"""A redrive resumes the hour at the state that failed (issue 13, item 1), on the real local stack.

The execution fails at AwaitRedrive with the original error after the alert; `clickstream redrive`
starts the hour's next execution at the failed state with the input it had (moto has no
RedriveExecution; on AWS a Redrive reruns AwaitRedrive, which sends the execution back there).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clickstream.core.lake import execution_name, hour_label
from clickstream.local.alerts import Alert, alerts_file, read_alerts
from tests.e2e.test_pipeline import put_generated, snapshot
from tests.support.stack import LOAD_FAILS_FOR_GOOD, RunningStack

EARLIER = ("ListNew", "TransformPartitions", "TransformPartition", "CheckStagedBatches")


def _window_facts(stack: RunningStack, start: datetime) -> int:
    return int(
        stack.scalar(
            "select count(*) from fact_events where received_at >= %s and received_at < %s",
            (start, start + timedelta(hours=2)),
        )
    )


def _wait_for_alerts(stack: RunningStack, count: int) -> list[Alert]:
    for _ in range(100):
        alerts = read_alerts(alerts_file(stack.data_dir))
        if len(alerts) >= count:
            return list(alerts)
        time.sleep(0.1)
    return list(read_alerts(alerts_file(stack.data_dir)))


def test_a_redrive_resumes_at_the_failed_state_and_loads_nothing_twice(
    stack: RunningStack, tmp_path: Path
) -> None:
    start = datetime(2025, 11, 6, 9, tzinfo=UTC)
    label = hour_label(start)
    put_generated(stack, tmp_path, seed=13, start=start, hours=1, events_per_day=20000)
    alerts_before = len(read_alerts(alerts_file(stack.data_dir)))

    # A permanent failure in SessionizeAndUpsert: caught, alerted, then the execution fails at
    # AwaitRedrive with the original error (a Task, which a Redrive on AWS reruns).
    stack.faults(LOAD_FAILS_FOR_GOOD)
    failed = stack.cli("run", "--hour", label, check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    report = stack.op.report(execution_name(start))
    assert (report.status, report.error) == ("FAILED", "ConfigurationError")
    assert "role lacks INSERT" in (report.cause or "")
    names = [s.name for s in report.states]
    assert names[-2:] == ["PublishFailure", "AwaitRedrive"], names
    assert "CaughtSessionizeAndUpsert" in names
    assert _window_facts(stack, start) == 0
    alerts = _wait_for_alerts(stack, alerts_before + 1)
    assert len(alerts) == alerts_before + 1
    alert = alerts[-1]
    assert "FAILED: ConfigurationError" in alert.subject
    assert "failed state SessionizeAndUpsert" in alert.message
    assert f"clickstream redrive --hour {label}" in alert.message

    # The cause removed, the redrive resumes at SessionizeAndUpsert: nothing before it runs again.
    stack.faults({})
    redriven = stack.cli("redrive", "--hour", label)
    assert f"{execution_name(start)}-r2" in redriven.stdout + redriven.stderr
    resumed = stack.op.report(f"{execution_name(start)}-r2")
    assert resumed.status == "SUCCEEDED"
    resumed_names = [s.name for s in resumed.states]
    assert resumed_names[:3] == ["Start", "Resume", "SessionizeAndUpsert"], resumed_names
    assert not set(EARLIER) & set(resumed_names), resumed_names
    assert "AdvanceWatermark" in resumed_names
    history = stack.op.history(resumed.arn)
    first_input = json.loads(history[0]["executionStartedEventDetails"]["input"])
    assert first_input["resume_at"] == "SessionizeAndUpsert"
    assert first_input["run"]["name"] == execution_name(start)  # the run keeps its name
    loaded = _window_facts(stack, start)
    assert loaded > 0
    assert (
        stack.scalar("select status from etl_runs where execution_name = %s", (execution_name(start),))
        == "SUCCEEDED"
    )

    # Nothing loaded twice: running the hour again changes nothing.
    before = snapshot(stack)
    stack.cli("redrive", "--hour", label, "--rerun")
    assert snapshot(stack) == before
    assert stack.op.failed_hours() == []

    # One alert, for the failure; none for the redrive's success (rejects are under the threshold).
    time.sleep(3)  # the sink polls the alert queue every second
    alerts = read_alerts(alerts_file(stack.data_dir))
    assert len(alerts) == alerts_before + 1, [a.subject for a in alerts]


def test_a_failed_transform_resumes_at_the_map_with_its_listing(stack: RunningStack, tmp_path: Path) -> None:
    start = datetime(2025, 11, 6, 12, tzinfo=UTC)
    label = hour_label(start)
    put_generated(stack, tmp_path, seed=14, start=start, hours=1, events_per_day=20000)
    stack.faults({"transform": [{"error": "ContractViolation", "message": "bad item", "times": -1}]})
    assert stack.cli("run", "--hour", label, check=False).returncode == 1
    stack.faults({})
    stack.cli("redrive", "--hour", label)
    resumed = stack.op.report(f"{execution_name(start)}-r2")
    assert resumed.status == "SUCCEEDED"
    names = [s.name for s in resumed.states]
    assert names[:3] == ["Start", "Resume", "TransformPartitions"], names
    assert "ListNew" not in names
    assert _window_facts(stack, start) > 0
