"""NotifySuccess / NotifyFailure write the pipeline's health snapshot, on moto; it never fails a notice.

The counts are what Lambda publishes per invocation (put by hand into moto's CloudWatch) and
batches really sent to moto's SQS; the snapshot is read back from the lake as the dashboards
read it (clickstream/ops/health.py, shiny/pipeline.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from clickstream.core.lake import HEALTH_SNAPSHOT
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.ops import health
from functions.notify import handler as notify_handler
from tests.support.aws import LambdaContext

HOUR = "2025-10-18T13:00:00Z"
EXECUTION = "hour-2025-10-18T13"
COUNTS = {
    "objects": 2,
    "lines_read": 100,
    "loaded": 98,
    "duplicates": 1,
    "rejected": 1,
    "filtered": 0,
    "quarantined": 0,
    "skipped_objects": 0,
    "sessions_replaced": 0,
    "sessions_written": 7,
    "events_resessioned": 0,
    "dates": ["2025-10-18"],
    "dates_truncated": False,
    "replayed": False,
}
SUCCESS = {
    "outcome": "success",
    "hour": HOUR,
    "execution": EXECUTION,
    "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:clickstream-pipeline:{EXECUTION}",
    "counts": COUNTS,
}
FAILURE = {
    "outcome": "failure",
    "hour": HOUR,
    "execution": EXECUTION,
    "error": {"Error": "Boom", "Cause": "x"},
}
FUNCTIONS = "list_new=fn-list-new,transform=fn-transform,load=fn-load,ingest=fn-ingest"


@pytest.fixture
def dlq(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The ingest DLQ (moto) and notify's environment as the stack sets it; lake: moto S3."""
    url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="ingest-dlq")["QueueUrl"]
    monkeypatch.setenv("HEALTH_SNAPSHOT", "true")
    monkeypatch.setenv("LAMBDA_FUNCTIONS", FUNCTIONS)
    monkeypatch.setenv("INGEST_DLQ_URL", url)
    monkeypatch.setenv("RUNTIME", "aws")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def publish(function: str, ok: int, failed: int, when: datetime) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    for _ in range(ok):
        health.publish_invocation(cloudwatch, function, False, when)
    for _ in range(failed):
        health.publish_invocation(cloudwatch, function, True, when)


def snapshot_json(lake: Lake) -> dict[str, Any]:
    return json.loads(lake.get_bytes(HEALTH_SNAPSHOT))


def emf_metrics(out: str) -> list[str]:
    emf = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    return [m["Name"] for e in emf for m in e["_aws"]["CloudWatchMetrics"][0]["Metrics"]]


def test_a_success_writes_the_error_rates_and_the_dlq_depth(
    lake: Lake, dlq: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    # Given in the last day: load 5 invocations with 2 errors, transform 3 without, the ingest
    # 10 with 1 error, notify itself 2 (not read); an old list_new error (two days ago) outside the window
    publish("fn-load", ok=3, failed=2, when=now - timedelta(hours=3))
    publish("fn-transform", ok=3, failed=0, when=now - timedelta(minutes=10))
    publish("fn-ingest", ok=9, failed=1, when=now - timedelta(hours=20))
    publish("fn-notify", ok=2, failed=0, when=now - timedelta(hours=1))
    publish("fn-list-new", ok=0, failed=1, when=now - timedelta(days=2))
    # and three batches in the dead-letter queue, one of them being replayed (received, not deleted)
    sqs = boto3.client("sqs", region_name="us-east-1")
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=1, VisibilityTimeout=600)

    # When NotifySuccess runs (deployed as fn-notify)
    notice = notify_handler.handler(SUCCESS, LambdaContext("fn-notify"))

    # Then the notice is the one it always was
    assert notice["publish"] is False and notice["reject_ratio"] == 0.01
    # and the snapshot in the lake has every function, in the page's order, with its numbers
    written = snapshot_json(lake)
    assert written["lambda_errors"] == [
        {"function": "list_new", "invocations": 0, "errors": 0},
        {"function": "transform", "invocations": 3, "errors": 0},
        {"function": "load", "invocations": 5, "errors": 2},
        {"function": "ingest", "invocations": 10, "errors": 1},
    ]
    assert written["dlq"] == {"waiting": 2, "in_flight": 1}
    assert written["problems"] == [] and written["window_hours"] == 24
    taken = datetime.fromisoformat(written["taken_at"].replace("Z", "+00:00"))
    assert now <= taken <= datetime.now(UTC)
    # as the dashboards read it
    snapshot = health.read_snapshot(lake)
    assert snapshot is not None and snapshot.depth == health.QueueDepth(2, 1)
    assert snapshot.errors is not None and snapshot.errors[2] == health.FunctionErrors("load", 5, 2)
    assert "notify" not in {e.function for e in snapshot.errors}
    assert "HealthSnapshotFailed" not in emf_metrics(capsys.readouterr().out)


def test_a_failure_notice_writes_it_too(lake: Lake, dlq: str) -> None:
    boto3.client("sqs", region_name="us-east-1").send_message(QueueUrl=dlq, MessageBody="a")
    notice = notify_handler.handler(FAILURE, LambdaContext("fn-notify"))
    assert notice["publish"] is True and notice["error"] == "Boom"
    assert snapshot_json(lake)["dlq"] == {"waiting": 1, "in_flight": 0}


def test_cloudwatch_unreachable_still_notifies_and_says_so_in_the_snapshot(
    lake: Lake, dlq: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given CloudWatch cannot be reached (nothing listens there)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:9")
    boto3.client("sqs", region_name="us-east-1").send_message(QueueUrl=dlq, MessageBody="a")

    # When NotifySuccess runs, Then it returns its notice
    notice = notify_handler.handler(SUCCESS, LambdaContext("fn-notify"))
    assert notice["publish"] is False
    # and the snapshot keeps the queue's depth and says why the error rates are missing
    written = snapshot_json(lake)
    assert written["lambda_errors"] is None and written["dlq"] == {"waiting": 1, "in_flight": 0}
    assert len(written["problems"]) == 1 and written["problems"][0].startswith("CloudWatch: ")
    # and the failure is counted
    assert emf_metrics(capsys.readouterr().out) == ["HealthSnapshotFailed"]


def test_nothing_of_the_snapshot_can_fail_a_notice(
    lake: Lake, dlq: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A lake that cannot be written (no such bucket): no snapshot, the notices still go out
    monkeypatch.setenv("LAKE_BUCKET", "no-such-bucket")
    get_settings.cache_clear()
    assert notify_handler.handler(SUCCESS, LambdaContext("fn-notify"))["publish"] is False
    assert notify_handler.handler(FAILURE, LambdaContext("fn-notify"))["publish"] is True
    assert emf_metrics(capsys.readouterr().out) == ["HealthSnapshotFailed", "HealthSnapshotFailed"]
    # A malformed setting: the same
    monkeypatch.setenv("LAKE_BUCKET", lake.bucket)
    monkeypatch.setenv("LAMBDA_FUNCTIONS", "load")
    assert notify_handler.handler(SUCCESS, LambdaContext("fn-notify"))["publish"] is False
    assert emf_metrics(capsys.readouterr().out) == ["HealthSnapshotFailed"]
    assert not lake.exists(HEALTH_SNAPSHOT)


def test_too_little_time_left_skips_the_snapshot(lake: Lake, dlq: str) -> None:
    class Late(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            return 5_000

    assert notify_handler.handler(SUCCESS, Late("fn-notify"))["publish"] is False
    assert not lake.exists(HEALTH_SNAPSHOT)


def test_without_health_snapshot_nothing_is_written(
    lake: Lake, dlq: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local stack: the dashboards read moto's CloudWatch and SQS themselves
    monkeypatch.delenv("HEALTH_SNAPSHOT")
    notify_handler.handler(SUCCESS, LambdaContext("notify"))
    assert not lake.exists(HEALTH_SNAPSHOT)
