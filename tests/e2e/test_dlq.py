"""clickstream dlq depth | replay on the local stack: moto's SQS and S3, the real ingest server.

Firehose goes away, so ingest dead-letters the batches it is sent and answers
503; the replay then puts every line into the raw lake exactly once, in the
partition of the hour it was received, even after a replay that died between
writing an object and deleting its message.
"""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import orjson

from clickstream.core.lake import floor_hour, parse_hour, partition_prefix
from clickstream.pipeline.ingest import replay_key
from tests.support.stack import RunningStack


def event(visitor: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event_type": "view",
        "session_id": str(uuid.uuid4()),
        "anonymous_id": visitor,
        "page_url": "https://shop.example.com/",
    }


def post(stack: RunningStack, events: list[dict[str, Any]]) -> int:
    body = json.dumps(events).encode()
    request = urllib.request.Request(
        f"{stack.info.ingest_url}/v1/events",
        data=body,
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_dead_lettered_batches_are_replayed_into_the_lake_once(stack: RunningStack) -> None:
    info = stack.info
    sqs = boto3.client("sqs", endpoint_url=info.aws_endpoint_url, region_name=info.region)
    queue_url = sqs.get_queue_url(QueueName="clickstream-ingest-dlq")["QueueUrl"]
    assert json.loads(stack.cli("dlq", "depth", "--json").stdout)["waiting"] == 0
    assert "nothing to replay" in stack.cli("dlq", "replay").stdout

    # Given Firehose gone, two batches are refused (503) and wait in the dead-letter queue
    firehose = boto3.client("firehose", endpoint_url=info.aws_endpoint_url, region_name=info.region)
    for name in firehose.list_delivery_streams()["DeliveryStreamNames"]:
        firehose.delete_delivery_stream(DeliveryStreamName=name)
    batches = [[event("dlq-a") for _ in range(3)], [event("dlq-b") for _ in range(2)]]
    hour = floor_hour(datetime.now(UTC))
    assert [post(stack, batch) for batch in batches] == [503, 503]
    assert floor_hour(datetime.now(UTC)) == hour, "the hour turned during the test: run it again"
    assert json.loads(stack.cli("dlq", "depth", "--json").stdout)["waiting"] == 2
    assert "2 batch(es) waiting" in stack.cli("dlq", "depth").stdout

    # and a replay died after writing one batch's object, before deleting its message
    [message] = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert parse_hour(message["MessageAttributes"]["hour"]["StringValue"]) == hour
    died_key = replay_key(hour, message["MessageId"])
    lines = [line.encode() for line in message["Body"].split("\n") if line]
    stack.lake.put_bytes(died_key, gzip.compress(b"".join(x + b"\n" for x in lines), mtime=0))
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    # and a message without its hour (sent by hand) waits too
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event("no-hour")))

    # When the queue is replayed
    result = stack.cli("dlq", "replay", check=False)

    # Then both batches are in the lake, in their receive hour's partition, every line once
    assert result.returncode == 2, result.stdout + result.stderr  # the message without an hour is left
    assert "replayed 2 batch(es), 5 lines, into 1 partition(s)" in result.stdout, result.stdout
    assert "left in the queue" in result.stdout and "no valid 'hour' attribute" in result.stdout
    assert "the next scheduled run lists partition" in result.stdout or "has not ended" in result.stdout
    replayed = {
        o.key: [orjson.loads(x) for x in gzip.decompress(stack.lake.get_bytes(o.key)).splitlines()]
        for o in stack.lake.list(partition_prefix(hour))
        if any(e["anonymous_id"].startswith("dlq-") for e in _lines(stack, o.key))
    }
    assert died_key in replayed and len(replayed) == 2  # the died replay's object is written again, not twice
    ids = [e["event_id"] for events in replayed.values() for e in events]
    assert sorted(ids) == sorted(e["event_id"] for batch in batches for e in batch)
    assert all(
        e["received_at"] and e["anonymous_id"] in {"dlq-a", "dlq-b"} for v in replayed.values() for e in v
    )
    # and only the message without an hour is left
    depth = json.loads(stack.cli("dlq", "depth", "--json").stdout)
    assert depth["waiting"] + depth["in_flight"] == 1


def _lines(stack: RunningStack, key: str) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in gzip.decompress(stack.lake.get_bytes(key)).splitlines()]
