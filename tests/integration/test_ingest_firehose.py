"""Ingest through Amazon Data Firehose (moto, as the local stack runs it), and what reads raw/ after it.

- the Lambda handler with INGEST_STREAM_NAME puts each request's lines into the stream, which
  writes a gzipped NDJSON object in the receive hour's partition, named as Firehose names it;
- a stream that fails (outright, or for some records after a retry) sends exactly the lines it
  did not take to the dead-letter queue and answers 503: nothing accepted is lost;
- ListNew lists Firehose's objects and ingest's per-request ones alike, and TransformPartition
  stages both (the transform does not care which path wrote an object).
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clickstream.core.contract import RawEvent
from clickstream.core.lake import floor_hour, new_raw_key, partition_hour, partition_prefix
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.local.firehose import RAW_STREAM_NAME, create_raw_stream, evaluate_prefix
from clickstream.pipeline import listing
from clickstream.pipeline.ingest import (
    FIREHOSE_RECORD_BYTES,
    RAW_STREAM_PREFIX,
    RawStream,
    handle_api_event,
    ndjson_gz,
)
from functions.ingest.handler import _clients, handler
from functions.transform import handler as transform_handler
from tests.support.aws import LambdaContext, use_moto
from tests.support.ingest import posted_event

BUCKET = "test-lake"
KEY = b"integration-key"
# <prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>.ndjson.gz (Firehose's object name format)
FIREHOSE_NAME = re.compile(
    r"^raw/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/"
    + RAW_STREAM_NAME
    + r"-1-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f-]{36}\.ndjson\.gz$"
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_moto(monkeypatch)
    monkeypatch.setenv("LAKE_BUCKET", BUCKET)
    monkeypatch.setenv("USER_ID_HMAC_KEY", KEY.decode())
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ClickstreamTest")
    _clients.cache_clear()
    with mock_aws():
        get_settings.cache_clear()
        transform_handler.lake.cache_clear()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield
        get_settings.cache_clear()
        transform_handler.lake.cache_clear()
    _clients.cache_clear()


@pytest.fixture
def stream(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    name = create_raw_stream(boto3.client("firehose"), BUCKET)
    monkeypatch.setenv("INGEST_STREAM_NAME", name)
    return name


def make_event(**overrides: Any) -> dict[str, Any]:
    return posted_event(**{"device": {"type": "desktop"}, "props": {}, **overrides})


def api_event(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /v1/events",
        "rawPath": "/v1/events",
        "headers": {"content-type": "application/json", "cloudfront-viewer-country": "DE"},
        "requestContext": {"http": {"method": "POST", "path": "/v1/events", "sourceIp": "203.0.113.9"}},
        "body": json.dumps(events),
        "isBase64Encoded": False,
    }


def raw(lake: Lake) -> dict[str, list[RawEvent]]:
    return {
        o.key: [RawEvent.model_validate_json(x) for x in gzip.decompress(lake.get_bytes(o.key)).splitlines()]
        for o in lake.list("raw/")
    }


def test_the_prefix_evaluates_to_the_lake_layout() -> None:
    at = datetime(2025, 10, 18, 13, 59, 59, tzinfo=UTC)
    assert evaluate_prefix(RAW_STREAM_PREFIX, at) == partition_prefix(at)
    assert evaluate_prefix("x/!{timestamp:yyyy/MM/dd/HH}/", at) == "x/2025/10/18/13/"


def test_handler_puts_the_lines_into_the_stream_which_writes_the_receive_hours_partition(stream: str) -> None:
    events = [make_event(), make_event(event_type="add_to_cart"), make_event(event_type="teleport")]
    before = floor_hour(datetime.now(UTC))

    response = handler(api_event(events), LambdaContext("ingest", 512))

    assert response["statusCode"] == 202
    body = json.loads(response["body"])
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert "event_type" in body["errors"][0]["reason"]
    [(key, lines)] = raw(Lake(BUCKET)).items()
    assert FIREHOSE_NAME.match(key), key
    assert partition_hour(key) in {before, floor_hour(datetime.now(UTC))}
    assert [str(e.event_id) for e in lines] == [e["event_id"] for e in events[:2]]
    assert all(e.geo.country == "DE" for e in lines)


def test_a_big_request_is_split_into_records_of_whole_lines() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[list[bytes]] = []

        def put_record_batch(
            self, DeliveryStreamName: str, Records: list[dict[str, bytes]]
        ) -> dict[str, Any]:
            self.calls.append([r["Data"] for r in Records])
            return {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "r"} for _ in Records]}

    lines = [b"x" * 300_000 for _ in range(7)]
    client = Recorder()
    assert RawStream("s", client).put_lines(lines) == []
    records = [r for call in client.calls for r in call]
    assert all(len(r) <= FIREHOSE_RECORD_BYTES and r.endswith(b"\n") for r in records)
    assert b"".join(records) == b"".join(line + b"\n" for line in lines)


class HalfFailing:
    """Firehose taking the first record of each call and refusing the others."""

    def __init__(self) -> None:
        self.calls = 0

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.calls += 1
        answers = [{"RecordId": "r"}] + [{"ErrorCode": "ServiceUnavailableException"}] * (len(Records) - 1)
        return {"FailedPutCount": len(Records) - 1, "RequestResponses": answers}


class Refusing:
    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        answers = [{"ErrorCode": "ServiceUnavailableException"}] * len(Records)
        return {"FailedPutCount": len(Records), "RequestResponses": answers}


class Queue:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, lines: list[bytes], hour: datetime, reason: str) -> int:
        self.sent.extend(lines)
        return 1


def test_records_refused_are_retried_once_and_those_refused_again_returned() -> None:
    lines = [b"%d" % i + b"x" * 400_000 for i in range(5)]  # 3 records: 2 + 2 + 1 lines
    client = HalfFailing()
    lost = RawStream("s", client).put_lines(lines)
    # first call: record 1 taken, 2 and 3 refused; the retry takes record 2, refuses record 3
    assert client.calls == 2
    assert lost == lines[4:]


def test_lines_firehose_does_not_take_are_dead_lettered_and_the_answer_is_503() -> None:
    events = [make_event(), make_event(), make_event()]
    queue = Queue()
    response = handle_api_event(
        api_event(events),
        stream=RawStream("s", Refusing()),
        dead_letters=queue,  # type: ignore[arg-type]
        hmac_key=KEY,
    )
    assert response["statusCode"] == 503 and response["headers"]["retry-after"]
    assert [json.loads(line)["event_id"] for line in queue.sent] == [e["event_id"] for e in events]


def test_a_stream_that_fails_outright_dead_letters_every_line(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGEST_STREAM_NAME", "no-such-stream")
    url = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
    monkeypatch.setenv("INGEST_DLQ_URL", url)
    events = [make_event(), make_event()]

    response = handler(api_event(events), LambdaContext("ingest", 512))

    assert response["statusCode"] == 503
    [message] = boto3.client("sqs").receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert [json.loads(x)["event_id"] for x in message["Body"].split("\n")] == [e["event_id"] for e in events]
    assert list(Lake(BUCKET).list("raw/")) == []


def test_list_new_and_the_transform_take_firehose_and_per_request_objects_alike(
    stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an hour with an object from the stream and one written per request (a replayed batch)
    lake = Lake(BUCKET)
    assert handler(api_event([make_event(), make_event()]), LambdaContext("ingest", 512))["statusCode"] == 202
    [firehose_key] = [o.key for o in lake.list("raw/")]
    hour = partition_hour(firehose_key)
    # a per-request object in the same hour, as a dead-letter replay writes it: an accepted line
    # (received_at set by ingest) under events-<uuid>.ndjson.gz, whatever the clock says now
    accepted = json.loads(gzip.decompress(lake.get_bytes(firehose_key)).split(b"\n")[0])
    replayed = json.dumps({**accepted, "event_id": str(uuid.uuid4())}).encode()
    lake.put_bytes(new_raw_key(hour), ndjson_gz([replayed]), "application/gzip")
    keys = sorted(o.key for o in lake.list(partition_prefix(hour)))
    assert len(keys) == 2
    assert any(FIREHOSE_NAME.match(k) for k in keys) and any("/events-" in k for k in keys)

    # When ListNew lists the hour and TransformPartition stages its work item
    monkeypatch.setattr(listing, "read_watermark", lambda conn: None)
    monkeypatch.setattr(listing, "read_processed", lambda conn, first, last: set())
    execution = f"hour-{hour:%Y-%m-%dT%H}"
    listed = listing.list_new(
        lake, None, hour, execution, 2, 200, 10**9, now=hour + timedelta(hours=1, minutes=1)
    )
    [item] = listed["items"]
    assert item["objects"] == 2
    result = transform_handler.handler(
        {"item": item, "index": 0, "hour": listed["hour"], "execution": execution}, LambdaContext("transform")
    )

    # Then both objects' events are staged, none rejected
    assert (result["objects"], result["staged"], result["rejected"]) == (2, 3, 0)


def test_new_raw_key_and_firehose_names_share_the_partition_layout() -> None:
    at = datetime(2025, 10, 18, 13, 5, tzinfo=UTC)
    assert new_raw_key(at).startswith(evaluate_prefix(RAW_STREAM_PREFIX, at))
