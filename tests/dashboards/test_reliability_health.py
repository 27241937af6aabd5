"""The Reliability page's Lambda error rates and ingest DLQ depth, on moto's CloudWatch and SQS.

The counts are put by hand (what Lambda publishes per invocation) and read back through the
page's own calls: errors / invocations per function over the last day, the queue's depth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

import pipeline
from clickstream.core.storage import Lake
from clickstream.ops import health
from config import DashboardSettings
from pages import reliability
from tests.support.aws import use_moto


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_moto(monkeypatch)
    with mock_aws():
        yield


def publish(cloudwatch: object, function: str, ok: int, failed: int, when: datetime) -> None:
    for _ in range(ok):
        health.publish_invocation(cloudwatch, function, False, when)
    for _ in range(failed):
        health.publish_invocation(cloudwatch, function, True, when)


def test_error_rates_per_function_and_the_queue_depth(aws: None) -> None:
    now = datetime.now(UTC)
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    # Given, in the last day, load invoked 4 times with 1 error, transform 3 times without,
    # notify never; and a load error two days ago, outside the window
    publish(cloudwatch, "fn-load", ok=3, failed=1, when=now - timedelta(hours=2))
    publish(cloudwatch, "fn-transform", ok=3, failed=0, when=now - timedelta(minutes=5))
    publish(cloudwatch, "fn-load", ok=0, failed=1, when=now - timedelta(days=2))
    # and two batches waiting in the dead-letter queue
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    settings = DashboardSettings(
        lambda_functions="load=fn-load, transform=fn-transform,notify=fn-notify", ingest_dlq_url=url
    )

    # When the page reads them as it does on AWS (function names and queue from its settings)
    h = pipeline.connect_health(settings, None, "us-east-1", local=False)
    errors, depth, problem = pipeline.health_view(h, now)

    # Then
    assert problem is None
    assert errors == [
        health.FunctionErrors("load", 4, 1),
        health.FunctionErrors("transform", 3, 0),
        health.FunctionErrors("notify", 0, 0),
    ]
    assert [e.error_rate for e in errors] == [0.25, 0.0, None]
    assert depth == health.QueueDepth(2, 0)
    html = str(reliability.health_view(errors, depth, problem))
    assert 'data-function="load" data-invocations="4" data-errors="1"' in html
    assert "25.0%" in html and "clickstream dlq replay" in html and 'data-waiting="2"' in html


def test_what_is_not_configured_is_said(aws: None) -> None:
    h = pipeline.connect_health(DashboardSettings(), None, "us-east-1", local=False)
    errors, depth, problem = pipeline.health_view(h, datetime.now(UTC))
    assert errors is None and depth is None
    assert problem is not None and "LAMBDA_FUNCTIONS" in problem and "INGEST_DLQ_URL" in problem
    assert pipeline.health_view(None, datetime.now(UTC))[2] == "the pipeline is not configured here"
    with pytest.raises(ValueError, match="is not role=FunctionName"):
        health.parse_functions("load=fn-load,transform")
    empty = str(reliability.health_view([], health.QueueDepth(0, 0), None))
    assert "Empty." in empty and 'data-waiting="0"' in empty


# --------------------------------------------------------------------- on AWS: notify's snapshot


def test_the_warehouse_host_shows_notifys_snapshot_with_its_time(aws: None) -> None:
    now = datetime.now(UTC)
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    # Given load invoked 4 times with 1 error in the last day, one batch in the DLQ,
    publish(cloudwatch, "fn-load", ok=3, failed=1, when=now - timedelta(hours=1))
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    # and notify's snapshot of them taken 20 minutes ago (what it writes at the end of an execution)
    taken = now - timedelta(minutes=20)
    snapshot = health.take_snapshot(cloudwatch, sqs, {"load": "fn-load", "notify": "fn-notify"}, url, taken)
    health.write_snapshot(Lake("lake", s3), snapshot)

    # When the page reads it as on the warehouse host: no state machine, only the snapshot's bucket
    host = DashboardSettings(
        health_snapshot_bucket="lake", clickstream_state_machine_arn="", clickstream_data_dir=None
    )
    p = pipeline.connect_pipeline(host)
    errors, depth, problem, as_of = pipeline.health_reading(p.health, now)

    # Then the numbers are the snapshot's, with the time it was taken, not stale
    assert p.operator is None and p.health is not None and p.health.snapshot is not None
    assert errors == [health.FunctionErrors("load", 4, 1), health.FunctionErrors("notify", 0, 0)]
    assert depth == health.QueueDepth(1, 0) and problem is None
    assert as_of is not None and not as_of.stale and as_of.age == timedelta(minutes=20)
    assert as_of.taken_at == taken
    html = str(reliability.health_view(errors, depth, problem, as_of))
    assert 'data-function="load" data-invocations="4" data-errors="1"' in html and 'data-waiting="1"' in html
    assert f"As of {taken:%Y-%m-%d %H:%M} UTC (20m 00s ago)" in html and 'data-stale="false"' in html
    # and the page's three-part reading is the same
    assert pipeline.health_view(p.health, now) == (errors, depth, problem)

    # When no execution has ended for three hours, the same snapshot is shown as stale
    later = now + timedelta(hours=3)
    *_, old = pipeline.health_reading(p.health, later)
    assert old is not None and old.stale
    stale = str(reliability.health_view(errors, depth, problem, old))
    assert 'data-stale="true"' in stale and "alert-warning" in stale and "Stale" in stale


def test_a_snapshot_that_could_not_read_cloudwatch_says_so_and_keeps_the_queue(aws: None) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    now = datetime.now(UTC)
    snapshot = health.Snapshot(now, None, health.QueueDepth(0, 2), ("CloudWatch: AccessDenied",))
    health.write_snapshot(Lake("lake", s3), snapshot)
    h = pipeline.connect_health(DashboardSettings(health_snapshot_bucket="lake"), None, "us-east-1", False)
    errors, depth, problem, as_of = pipeline.health_reading(h, now)
    assert errors is None and depth == health.QueueDepth(0, 2)
    assert problem == "CloudWatch: AccessDenied" and as_of is not None
    html = str(reliability.health_view(errors, depth, problem, as_of))
    assert "2 being replayed" in html and "CloudWatch: AccessDenied" in html


def test_no_snapshot_yet_or_an_unreadable_one_is_said(aws: None) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="lake")
    h = pipeline.connect_health(DashboardSettings(health_snapshot_bucket="lake"), None, "us-east-1", False)
    errors, depth, problem, as_of = pipeline.health_reading(h, datetime.now(UTC))
    assert (errors, depth, as_of) == (None, None, None)
    assert problem is not None and "no health snapshot yet" in problem and "ops/health.json" in problem
    s3.put_object(Bucket="lake", Key="ops/health.json", Body=b'{"version": 99}')
    problem = pipeline.health_reading(h, datetime.now(UTC))[2]
    assert problem is not None and "cannot be read" in problem and "version 99" in problem
    # and locally the snapshot setting is ignored: the stack's CloudWatch and SQS are read directly
    local = pipeline.connect_health(DashboardSettings(health_snapshot_bucket="lake"), None, "us-east-1", True)
    assert local.snapshot is None and "notify" in local.functions
