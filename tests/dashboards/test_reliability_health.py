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
from clickstream.ops import health
from config import DashboardSettings
from pages import reliability


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
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
