"""Ingest logic (clickstream.pipeline.ingest.process and the API Gateway wiring), no I/O."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from clickstream.core.contract import RawEvent
from clickstream.core.errors import TransientStorageError
from clickstream.pipeline import ingest
from clickstream.pipeline.ingest import MAX_BODY_BYTES, MAX_EVENTS, handle_api_event, hash_user_id, process

KEY = b"test-hmac-key"
NOW = datetime(2025, 10, 18, 13, 5, 7, 123456, tzinfo=UTC)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def make_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "ts": "2025-10-18T13:04:59.001Z",
        "event_type": "add_to_cart",
        "session_id": str(uuid.uuid4()),
        "anonymous_id": "7b1e4c3a-anon",
        "user_id": None,
        "page_url": "https://shop.example/product.html?id=sku-lap-001",
        "referrer": None,
        "device": {"type": "desktop", "user_agent": CHROME},
        "geo": {},
        "ecom": {
            "product_id": "sku-lap-001",
            "category": "laptops",
            "currency": "USD",
            "price": 1299.99,
            "qty": 1,
        },
        "props": {},
    }
    event.update(overrides)
    return event


def run(events: Any, headers: dict[str, str] | None = None) -> ingest.IngestResult:
    return process(orjson.dumps(events), headers or {}, NOW, KEY)


def lines_of(result: ingest.IngestResult) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in result.lines]


# --- statuses ----------------------------------------------------------------------------------


def test_valid_batch_is_accepted_with_202_and_raw_lines() -> None:
    events = [make_event(), make_event(event_type="view", ecom=None)]

    status, body, lines = run(events)

    assert status == 202
    assert body == {"accepted": 2, "rejected": 0, "errors": []}
    assert len(lines) == 2
    for line in lines:
        RawEvent.model_validate_json(line)
        assert b"\n" not in line


def test_events_wrapper_object_is_accepted() -> None:
    result = run({"events": [make_event()]})
    assert (result.status, result.body["accepted"]) == (202, 1)


def test_empty_batch_is_accepted_with_nothing_to_write() -> None:
    assert run([]) == (202, {"accepted": 0, "rejected": 0, "errors": []}, [])


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b'{"events": 3}', b'{"event_id": "x"}', b"42", b'"text"', b"[1, 2"],
)
def test_malformed_body_is_400(body: bytes) -> None:
    status, response, lines = process(body, {}, NOW, KEY)
    assert status == 400
    assert response["error"]
    assert lines == []


def test_more_than_500_events_is_413() -> None:
    event = make_event()
    assert run([event] * MAX_EVENTS).status == 202
    status, response, lines = run([event] * (MAX_EVENTS + 1))
    assert status == 413
    assert "500" in response["error"]
    assert lines == []


def test_body_over_1_mb_is_413_before_parsing() -> None:
    body = b"[" + b" " * MAX_BODY_BYTES + b"]"
    status, response, _ = process(body, {}, NOW, KEY)
    assert status == 413
    assert "bytes" in response["error"]


# --- per-event rejects -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("not an object", "event is not a JSON object"),
        (make_event(event_id="not-a-uuid"), "event_id:"),
        ({k: v for k, v in make_event().items() if k != "event_id"}, "event_id: Field required"),
        (make_event(ts=1729256699), "ts: Input should be a valid datetime"),
        (make_event(ts="2025-10-18T13:04:59"), "ts: Input should have timezone info"),
        (make_event(event_type="hover"), "event_type: Input should be"),
        (make_event(session_id=None), "session_id:"),
        (make_event(anonymous_id=""), "anonymous_id:"),
        (make_event(user_id=""), "user_id:"),
        (make_event(device={"type": "watch"}), "device.type:"),
        (make_event(geo={"country": "Vietnam"}), "geo.country:"),
        (make_event(ecom={"product_id": "sku-1", "currency": "usd", "price": 1}), "ecom.currency:"),
        (make_event(ecom={"product_id": "sku-1", "currency": "USD", "price": -1}), "ecom.price:"),
        (make_event(ecom={"product_id": "sku-1", "currency": "USD", "price": "9.999"}), "ecom.price:"),
        (make_event(ecom={"product_id": "sku-1", "currency": "USD", "price": 1, "qty": 0}), "ecom.qty:"),
        (make_event(ecom={"product_id": "sku-1", "currency": "USD", "price": 1, "qty": "2"}), "ecom.qty:"),
        (make_event(props=[]), "props:"),
        (make_event(page_url="https://x/" + "a" * 5000), "page_url:"),
        (make_event(props={"blob": "x" * 40_000}), "event larger than 32768 bytes"),
    ],
)
def test_each_contract_violation_is_rejected_with_its_reason(event: Any, reason: str) -> None:
    good = make_event()

    status, body, lines = run([good, event])

    assert status == 202
    assert body["accepted"] == 1
    assert body["rejected"] == 1
    assert body["errors"][0]["index"] == 1
    assert body["errors"][0]["reason"].startswith(reason), body["errors"][0]["reason"]
    assert [orjson.loads(line)["event_id"] for line in lines] == [good["event_id"]]


def test_many_errors_in_one_event_are_summarised() -> None:
    bad = {"event_type": "nope"}
    reason = run([bad]).body["errors"][0]["reason"]
    assert reason.count(";") == 3
    assert reason.endswith("more")


# --- enrichment --------------------------------------------------------------------------------


def test_received_at_is_stamped_in_utc_with_ms_and_a_client_value_is_overwritten() -> None:
    events = [make_event(), make_event(received_at="1999-01-01T00:00:00Z"), make_event(received_at="junk")]

    result = run(events)

    assert result.body["accepted"] == 3
    assert {line["received_at"] for line in lines_of(result)} == {"2025-10-18T13:05:07.123Z"}


def test_country_header_overrides_the_client_value() -> None:
    events = [make_event(geo={"country": "US", "city": "Hanoi"}), make_event(geo={})]

    result = run(events, {"CloudFront-Viewer-Country": "VN"})

    assert [line["geo"] for line in lines_of(result)] == [
        {"country": "VN", "city": "Hanoi"},
        {"country": "VN"},
    ]


def test_without_a_country_header_the_client_value_is_kept() -> None:
    result = run([make_event(geo={"country": "DE"})], {"cloudfront-viewer-country": "not a code"})
    assert lines_of(result)[0]["geo"] == {"country": "DE"}


@pytest.mark.parametrize(
    ("device", "header_ua", "expected"),
    [
        ({"user_agent": IPHONE}, None, {"type": "mobile", "user_agent": IPHONE}),
        ({"user_agent": IPAD}, None, {"type": "tablet", "user_agent": IPAD}),
        ({"type": None, "user_agent": CHROME}, None, {"type": "desktop", "user_agent": CHROME}),
        ({}, IPHONE, {"type": "mobile", "user_agent": IPHONE}),
        ({"type": "tablet", "user_agent": IPHONE}, None, {"type": "tablet", "user_agent": IPHONE}),
        ({}, None, {}),
    ],
)
def test_device_type_is_parsed_from_the_user_agent_when_absent(
    device: dict[str, Any], header_ua: str | None, expected: dict[str, Any]
) -> None:
    headers = {"User-Agent": header_ua} if header_ua else {}
    result = run([make_event(device=device)], headers)
    assert lines_of(result)[0]["device"] == expected


def test_user_id_is_hashed_with_hmac_sha256_and_hashing_is_idempotent() -> None:
    expected = "h1:" + hmac.new(KEY, b"cognito-sub-42", hashlib.sha256).hexdigest()

    first = lines_of(run([make_event(user_id="cognito-sub-42")]))[0]
    again = lines_of(run([make_event(user_id=first["user_id"])]))[0]

    assert first["user_id"] == expected
    assert again["user_id"] == expected
    assert hash_user_id(expected, b"another key") == expected
    assert hash_user_id("cognito-sub-42", b"another key") != expected
    assert lines_of(run([make_event(user_id=None)]))[0]["user_id"] is None


def test_pii_is_dropped_from_props_and_urls_and_an_email_anonymous_id_is_hashed() -> None:
    event = make_event(
        anonymous_id="bob@example.com",
        user_id="bob@example.com",
        page_url="https://shop.example/search.html?q=ssd&email=bob%40example.com&utm_source=news",
        referrer="https://mail.example/?to=alice@example.com",
        props={
            "search_query": "ssd",
            "email": "bob@example.com",
            "first_name": "Bob",
            "Phone": "12",
            "note": "call +84 912 345 678",
            "digits": "0912 345 678",
            "nested": {"e_mail": "x", "ok": True},
            "product_name": "ThinkPad X1",
            "order_id": "ord-20251018-123456",
        },
        shipping_email="top-level fields outside the contract are dropped",
    )

    line = lines_of(run([event]))[0]

    assert line["props"] == {
        "search_query": "ssd",
        "nested": {"ok": True},
        "product_name": "ThinkPad X1",
        "order_id": "ord-20251018-123456",
    }
    assert line["page_url"] == "https://shop.example/search.html?q=ssd&utm_source=news"
    assert line["referrer"] == "https://mail.example/"
    assert line["anonymous_id"].startswith("h1:")
    assert line["user_id"] == line["anonymous_id"]
    assert "shipping_email" not in line
    assert b"example.com" not in orjson.dumps({k: v for k, v in line.items() if k != "page_url"})


def test_an_accepted_line_keeps_the_client_values_of_contract_fields() -> None:
    event = make_event(ts="2025-10-18T20:04:59.001+07:00", ecom={**make_event()["ecom"], "price": "1299.99"})
    line = lines_of(run([event]))[0]
    assert line["ts"] == "2025-10-18T20:04:59.001+07:00"
    assert line["ecom"]["price"] == "1299.99"
    assert line["event_id"] == event["event_id"]


def test_the_product_name_is_kept_and_fields_outside_the_contract_are_not() -> None:
    ecom = {**make_event()["ecom"], "name": "USB-C dock, 11 ports", "colour": "grey"}
    line = lines_of(run([make_event(ecom=ecom)]))[0]
    assert line["ecom"]["name"] == "USB-C dock, 11 ports"
    assert "colour" not in line["ecom"]


# --- the API Gateway wiring, with in-memory fakes -----------------------------------------------


class FakeLake:
    def __init__(self, error: Exception | None = None) -> None:
        self.objects: dict[str, bytes] = {}
        self.error = error

    def put_bytes(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        if self.error:
            raise self.error
        self.objects[key] = body
        return "etag"


class FakeDeadLetters:
    def __init__(self, error: Exception | None = None) -> None:
        self.batches: list[tuple[list[bytes], datetime, str]] = []
        self.error = error

    def send(self, lines: list[bytes], hour: datetime, reason: str) -> int:
        if self.error:
            raise self.error
        self.batches.append((lines, hour, reason))
        return 1


def api_event(body: bytes, *, b64: bool = False, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /v1/events",
        "rawPath": "/v1/events",
        "headers": headers or {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/v1/events"}},
        "body": base64.b64encode(body).decode() if b64 else body.decode(),
        "isBase64Encoded": b64,
    }


def call(event: dict[str, Any], lake: FakeLake, dlq: FakeDeadLetters | None = None) -> tuple[int, Any, Any]:
    response = handle_api_event(event, lake=lake, dead_letters=dlq, hmac_key=KEY, now=NOW)  # type: ignore[arg-type]
    return response["statusCode"], response["headers"], orjson.loads(response["body"])


@pytest.mark.parametrize("b64", [False, True])
def test_api_event_writes_one_gzipped_ndjson_object_in_the_receive_hour(b64: bool) -> None:
    lake = FakeLake()
    events = [make_event(), make_event(event_type="view", ecom=None), {"bad": 1}]

    status, headers, body = call(api_event(orjson.dumps(events), b64=b64), lake)

    assert status == 202
    assert headers["content-type"] == "application/json"
    assert (body["accepted"], body["rejected"]) == (2, 1)
    [(key, blob)] = lake.objects.items()
    assert key.startswith("raw/year=2025/month=10/day=18/hour=13/events-")
    assert key.endswith(".ndjson.gz")
    lines = gzip.decompress(blob).splitlines()
    assert [RawEvent.model_validate_json(line).event_id for line in lines] == [
        uuid.UUID(e["event_id"]) for e in events[:2]
    ]


def test_api_event_without_accepted_events_writes_nothing() -> None:
    lake = FakeLake()
    assert call(api_event(b"[]"), lake)[0] == 202
    assert call(api_event(b"[{}]"), lake)[0] == 202
    assert call(api_event(b"nope"), lake)[0] == 400
    assert lake.objects == {}


def test_api_event_with_bad_base64_is_400() -> None:
    event = api_event(b"[]", b64=True)
    event["body"] = "***"
    assert call(event, FakeLake())[0] == 400


@pytest.mark.parametrize(
    "error",
    [
        TransientStorageError("put_object: SlowDown"),
        ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject"),
    ],
)
def test_a_failed_raw_write_dead_letters_the_batch_and_answers_503(error: Exception) -> None:
    dlq = FakeDeadLetters()
    events = [make_event(), make_event()]

    status, headers, body = call(api_event(orjson.dumps(events)), FakeLake(error), dlq)

    assert status == 503
    assert headers["retry-after"] == "5"
    assert body["retry_after_s"] == 5
    [(lines, hour, reason)] = dlq.batches
    assert [orjson.loads(line)["event_id"] for line in lines] == [e["event_id"] for e in events]
    assert hour == datetime(2025, 10, 18, 13, tzinfo=UTC)
    assert type(error).__name__ in reason


def test_a_failed_raw_write_without_or_with_a_failing_queue_still_answers_503() -> None:
    body = orjson.dumps([make_event()])
    failing = FakeLake(TransientStorageError("down"))
    assert call(api_event(body), failing, None)[0] == 503
    broken_queue = FakeDeadLetters(ClientError({"Error": {"Code": "500"}}, "SendMessage"))
    assert call(api_event(body), failing, broken_queue)[0] == 503


def test_dead_letter_messages_stay_under_the_sqs_size_limit() -> None:
    lines = [b"x" * 30_000] * 20
    chunks = list(ingest._chunks(lines, ingest._DLQ_CHUNK_BYTES))
    assert sum(len(c) for c in chunks) == 20
    assert all(sum(len(line) + 1 for line in c) <= ingest._DLQ_CHUNK_BYTES for c in chunks)


def test_long_hostile_strings_are_accepted_and_kept() -> None:
    # None of these is PII, and each would make a backtracking pattern take seconds; the time
    # the checks take is measured by `python -m bench pii`.
    hostile = ["a" * 30_000 + "@", "a@" * 15_000, "+1" * 15_000, ("x" * 60 + "@") * 500]
    events = [make_event(props={"note": text}) for text in hostile]

    result = run(events)

    assert result.body == {"accepted": len(hostile), "rejected": 0, "errors": []}
    assert [line["props"] for line in lines_of(result)] == [{"note": text} for text in hostile]


def test_an_email_at_the_end_of_a_long_string_is_still_dropped() -> None:
    result = run([make_event(props={"note": "a" * 30_000 + " mail me: ann@example.com", "k": "v"})])
    assert result.body["accepted"] == 1
    assert lines_of(result)[0]["props"] == {"k": "v"}


def test_a_list_impression_and_a_list_click_are_accepted_and_a_list_without_products_is_not() -> None:
    shown = {"name": "category:laptops", "product_ids": ["sku-lap-001", "sku-lap-002"], "rank": 1}
    events = [
        make_event(event_type="impression", ecom=None, item_list=shown),
        make_event(event_type="click", item_list={"name": "category:laptops"}),
        make_event(event_type="impression", ecom=None, item_list={"name": "category:laptops"}),
    ]

    status, body, _ = run(events)

    assert status == 202 and body["accepted"] == 2 and body["rejected"] == 1
    assert body["errors"][0]["index"] == 2 and "product_ids" in body["errors"][0]["reason"]
    impression, click = lines_of(run(events[:2]))
    # the list as sent, without keys the contract does not know
    assert impression["item_list"] == {
        "name": "category:laptops",
        "product_ids": ["sku-lap-001", "sku-lap-002"],
    }
    assert click["item_list"] == {"name": "category:laptops"}
