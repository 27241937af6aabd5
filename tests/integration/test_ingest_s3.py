"""Ingest against moto S3 and SQS: the Lambda handler, the dead-letter path, the local server."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from clickstream.core.contract import RawEvent
from clickstream.core.lake import floor_hour, partition_hour, partition_prefix
from clickstream.core.storage import Lake
from clickstream.local.ingest_server import STOREFRONT_DIR, IngestServer, serve
from clickstream.pipeline.ingest import DeadLetterQueue, IngestSettings
from functions.ingest.handler import _clients, handler
from tests.support.aws import LambdaContext, use_moto
from tests.support.ingest import posted_event, preflight, send

BUCKET = "test-lake"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    use_moto(monkeypatch)
    monkeypatch.setenv("LAKE_BUCKET", BUCKET)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ClickstreamTest")
    _clients.cache_clear()  # each test is a fresh Lambda container with its own settings
    with mock_aws():
        yield


@pytest.fixture
def bucket(aws: None) -> Lake:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return Lake(BUCKET)


@pytest.fixture
def dlq_url(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    url = boto3.client("sqs").create_queue(QueueName="ingest-dlq")["QueueUrl"]
    monkeypatch.setenv("INGEST_DLQ_URL", url)
    return url


def make_event(**overrides: Any) -> dict[str, Any]:
    return posted_event(
        **{
            "user_id": "cognito-sub-1",
            "referrer": None,
            "device": {"user_agent": IPHONE},
            "geo": {},
            "ecom": None,
            "props": {},
            **overrides,
        }
    )


def api_event(events: list[dict[str, Any]], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /v1/events",
        "rawPath": "/v1/events",
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {"http": {"method": "POST", "path": "/v1/events", "sourceIp": "203.0.113.9"}},
        "body": json.dumps(events),
        "isBase64Encoded": False,
    }


def raw_objects(lake: Lake) -> dict[str, list[RawEvent]]:
    return {
        o.key: [
            RawEvent.model_validate_json(line) for line in gzip.decompress(lake.get_bytes(o.key)).splitlines()
        ]
        for o in lake.list("raw/")
    }


def test_handler_writes_one_gz_ndjson_object_under_raw_for_the_current_hour(bucket: Lake) -> None:
    events = [
        make_event(),
        make_event(event_type="purchase", ecom={"product_id": "sku-1", "currency": "USD", "price": 9.5}),
        make_event(event_type="teleport"),
    ]
    before = floor_hour(datetime.now(UTC))

    response = handler(api_event(events, {"CloudFront-Viewer-Country": "VN"}), LambdaContext("ingest", 256))

    assert response["statusCode"] == 202
    body = json.loads(response["body"])
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"][0]["index"] == 2
    objects = raw_objects(bucket)
    [(key, lines)] = objects.items()
    assert partition_hour(key) in {before, floor_hour(datetime.now(UTC))}
    assert key.startswith(partition_prefix(partition_hour(key)))
    assert [str(e.event_id) for e in lines] == [events[0]["event_id"], events[1]["event_id"]]
    for line in lines:
        assert line.geo.country == "VN"
        assert line.device.type is not None and line.device.type.value == "mobile"
        assert line.user_id is not None and line.user_id.startswith("h1:")
        assert floor_hour(line.received_at) == partition_hour(key)


def test_s3_failure_sends_the_batch_to_the_dlq_and_answers_503(aws: None, dlq_url: str) -> None:
    # Given no bucket (every PutObject fails) and a dead-letter queue
    events = [make_event(), make_event(event_type="search", props={"search_query": "4k monitor"})]

    # When a batch arrives
    response = handler(api_event(events), LambdaContext("ingest", 256))

    # Then the client is told to retry, and the batch waits in the queue
    assert response["statusCode"] == 503
    assert response["headers"]["retry-after"] == "5"
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert len(messages) == 1
    lines = [RawEvent.model_validate_json(line) for line in messages[0]["Body"].splitlines()]
    assert [str(e.event_id) for e in lines] == [e["event_id"] for e in events]
    assert "NoSuchBucket" in messages[0]["MessageAttributes"]["reason"]["StringValue"]
    sqs.change_message_visibility(
        QueueUrl=dlq_url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
    )

    # When S3 is back, Then a replay moves the batch into raw/ of its receive hour and empties the queue
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    lake = Lake(BUCKET)
    assert DeadLetterQueue(dlq_url).replay(lake) == 2
    [(key, replayed)] = raw_objects(lake).items()
    assert partition_hour(key) == floor_hour(lines[0].received_at)
    assert [e.event_id for e in replayed] == [e.event_id for e in lines]
    assert sqs.receive_message(QueueUrl=dlq_url).get("Messages", []) == []


@pytest.fixture
def server(bucket: Lake, tmp_path: Path) -> Iterator[IngestServer]:
    extra = tmp_path / "static"
    extra.mkdir()
    (extra / "extra.txt").write_text("from the second static dir")
    srv = serve("127.0.0.1", 0, bucket, [STOREFRONT_DIR, extra], settings=IngestSettings())
    yield srv
    srv.shutdown()


def http(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_local_server_answers_a_real_post_and_writes_the_lake(server: IngestServer, bucket: Lake) -> None:
    events = [make_event(device={}), make_event(user_id=None)]
    body = json.dumps(events).encode()

    status, headers, payload = http(
        server.url + "/v1/events",
        body,
        {"content-type": "application/json", "user-agent": IPHONE, "cloudfront-viewer-country": "DE"},
    )

    assert status == 202, payload
    assert headers["content-type"] == "application/json"
    assert json.loads(payload) == {"accepted": 2, "rejected": 0, "errors": []}
    [lines] = raw_objects(bucket).values()
    assert [line.geo.country for line in lines] == ["DE", "DE"]
    assert lines[0].device.user_agent == IPHONE


def test_local_server_statuses(server: IngestServer, bucket: Lake) -> None:
    assert http(server.url + "/v1/events", b"nope", {"content-type": "text/plain"})[0] == 400
    assert http(server.url + "/v1/events", json.dumps([make_event()] * 501).encode())[0] == 413
    assert http(server.url + "/v1/events", b"[" + b" " * 1_000_001 + b"]")[0] == 413
    assert http(server.url + "/v1/other", b"[]")[0] == 404
    assert list(bucket.list("raw/")) == []


def test_local_server_serves_the_storefront_and_the_tracker(server: IngestServer) -> None:
    status, headers, page = http(server.url + "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"/sdk/tracker.min.js" in page

    status, headers, script = http(server.url + "/sdk/tracker.min.js")
    assert status == 200
    assert "javascript" in headers["content-type"]
    assert b"clickstream" in script

    status, _, products = http(server.url + "/products.json")
    assert status == 200
    assert len(json.loads(products)) >= 25

    assert http(server.url + "/product.html?id=sku-1")[0] == 200
    assert http(server.url + "/extra.txt")[2] == b"from the second static dir"
    assert http(server.url + "/healthz")[0] == 200
    assert http(server.url + "/missing.html")[0] == 404
    assert http(server.url + "/../pyproject.toml")[0] == 404
    assert http(server.url + "/%2e%2e/%2e%2e/pyproject.toml")[0] == 404
    assert http(server.url + "/sdk/../../pyproject.toml")[0] == 404


# -- CORS: pages of another origin (a shop on its own domain) ---------------------------------------
SHOP = "https://shop.example.com"


@pytest.fixture
def shop_server(bucket: Lake) -> Iterator[IngestServer]:
    srv = serve("127.0.0.1", 0, bucket, settings=IngestSettings(), allowed_origins=[SHOP])
    yield srv
    srv.shutdown()


def preflight_from(server: IngestServer, origin: str) -> tuple[int, dict[str, str]]:
    return preflight(server.url + "/v1/events", origin)


def cors(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("access-control-")}


def test_local_server_answers_the_preflight_of_an_allowed_origin_only(shop_server: IngestServer) -> None:
    status, headers = preflight_from(shop_server, SHOP)
    assert status == 204
    assert cors(headers) == {
        "access-control-allow-origin": SHOP,
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "3600",
    }
    assert headers["vary"] == "origin"

    status, headers = preflight_from(shop_server, "https://elsewhere.example")
    assert status == 204
    assert cors(headers) == {}


def test_local_server_post_from_an_allowed_origin_is_readable_by_it_without_credentials(
    shop_server: IngestServer, bucket: Lake
) -> None:
    body = json.dumps([make_event()]).encode()
    status, headers = send(
        shop_server.url + "/v1/events", "POST", {"origin": SHOP, "content-type": "application/json"}, body
    )
    assert status == 202
    assert cors(headers) == {"access-control-allow-origin": SHOP}
    status, headers = send(
        shop_server.url + "/v1/events",
        "POST",
        {"origin": "https://elsewhere.example", "content-type": "application/json"},
        body,
    )
    assert status == 202  # CORS is the browser's to enforce; the answer just lets no other page read it
    assert cors(headers) == {}
    assert len(list(bucket.list("raw/"))) == 2


def test_local_server_allows_no_other_origin_by_default_and_never_sends_credentials(
    server: IngestServer,
) -> None:
    status, headers = preflight_from(server, SHOP)
    assert status == 204 and cors(headers) == {}
    status, headers = send(
        server.url + "/v1/events", "POST", {"origin": SHOP, "content-type": "application/json"}, b"[]"
    )
    assert cors(headers) == {}


def test_local_server_refuses_an_allow_list_with_a_wildcard(bucket: Lake) -> None:
    with pytest.raises(ValueError, match="wildcards"):
        serve("127.0.0.1", 0, bucket, settings=IngestSettings(), allowed_origins=["*"])
