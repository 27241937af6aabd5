"""Transform: every kind of bad input, counts, quarantine, dedupe, the staged output."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import importlib
import zlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from clickstream.core.contract import MAX_LINE_BYTES
from clickstream.core.errors import ContractViolation, TransientStorageError
from clickstream.core.lake import rejects_key
from clickstream.core.settings import Settings
from clickstream.pipeline import transform
from clickstream.pipeline.bots import RULES_VERSION
from clickstream.pipeline.transform import (
    REASONS,
    BatchTransformer,
    ObjectResult,
    iter_line_blocks,
    quarantine_key,
    transform_work_item,
)
from tests.support.transform import (
    KEY,
    RAW_KEY,
    line,
    make_event,
    ndjson,
    rejects_of,
    run,
    staged_rows,
)


def assert_reconciles(result: ObjectResult) -> None:
    assert result.lines_read == result.staged + result.duplicates + result.rejected
    assert result.rejected == sum(result.rejects.values())


def rejected_as(raw: bytes) -> str:
    """The single reason a one-line object is rejected with."""
    (result,), rows = run(gzip.compress(raw + b"\n"))
    assert_reconciles(result)
    assert rows == []
    assert result.lines_read == 1 and result.rejected == 1
    (reason,) = result.rejects
    (record,) = rejects_of(result)
    assert record["reason"] == reason and record["line_no"] == 1
    return reason


# ------------------------------------------------------------------ a valid line


def test_a_valid_event_is_staged_with_every_column() -> None:
    event = make_event(
        event_type="purchase",
        user_id="user-42",
        props={"button": "buy", "email": "a@b.example", "search_query": "usb c"},
    )
    (result,), (row,) = run(gzip.compress(ndjson(line(event))))
    assert (result.lines_read, result.staged, result.duplicates, result.rejected) == (1, 1, 0, 0)
    assert result.rejects_body is None
    assert row == {
        "src": "0",
        "event_id": event["event_id"],
        "client_session_id": event["session_id"],
        "anonymous_id": "anon-0",
        "user_hash": "h1:" + hmac.new(KEY, b"user-42", hashlib.sha256).hexdigest(),
        "event_type": "purchase",
        "ts": "2025-10-18T13:05:01.123+00:00",
        "received_at": "2025-10-18T13:05:02.000+00:00",
        "event_date": "2025-10-18",
        "event_hour": "13",
        "page_url": event["page_url"],
        "page_path": "/products/p1",
        "referrer": "https://www.google.com/",
        "referrer_host": "google.com",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
        "channel": "Paid Search",
        "device_type": "desktop",
        "country": "DE",
        "city": "Berlin",
        "product_id": "p1",
        "category": "laptops",
        "currency": "EUR",
        "price": "79.99",
        "qty": "2",
        "revenue": "159.98",
        "search_query": "usb c",
        "props": '{"button":"buy"}',
        "is_ts_clamped": "f",
        "browser": None,  # "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" names no browser
        "os": "Windows",
        "product_name": None,
    }


def test_minimal_event_gets_defaults() -> None:
    event = {k: make_event()[k] for k in ("event_id", "ts", "received_at", "event_type", "session_id")}
    event["anonymous_id"] = "a"
    _, (row,) = run(ndjson(line(event)))
    assert row["device_type"] == "unknown"
    assert row["channel"] == "Direct"
    assert row["props"] == "{}"
    assert row["price"] is None and row["revenue"] is None and row["user_hash"] is None


def test_revenue_only_for_purchases() -> None:
    _, (row,) = run(ndjson(line(make_event(event_type="add_to_cart"))))
    assert row["price"] == "79.99" and row["revenue"] is None


def test_device_type_from_user_agent_when_absent() -> None:
    ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
    _, (row,) = run(ndjson(line(make_event(device={"user_agent": ua}))))
    assert row["device_type"] == "mobile"


def test_a_hashed_user_id_is_kept() -> None:
    hashed = "h1:" + "0" * 64
    _, (row,) = run(ndjson(line(make_event(user_id=hashed))))
    assert row["user_hash"] == hashed


def test_text_with_tabs_newlines_and_backslashes_is_escaped_for_copy() -> None:
    event = make_event(geo={"city": "Tab\there\nnew\\line"}, props={"q": 'say "hi"'})
    _, (row,) = run(ndjson(line(event)))
    assert row["city"] == "Tab\\there\\nnew\\\\line"
    assert row["props"] == '{"q":"say \\\\"hi\\\\""}'


def test_utm_value_with_an_encoded_tab_is_escaped() -> None:
    _, (row,) = run(ndjson(line(make_event(page_url="https://s.example/?utm_source=a%09b"))))
    assert row["utm_source"] == "a\\tb"


def test_ts_with_an_offset_is_stored_in_utc() -> None:
    _, (row,) = run(ndjson(line(make_event(ts="2025-10-18T15:05:01+02:00"))))
    assert row["ts"] == "2025-10-18T13:05:01.000+00:00"
    assert row["event_hour"] == "13"


# ------------------------------------------------------------------ the clock


def test_ts_far_ahead_of_received_at_is_clamped_not_rejected() -> None:
    event = make_event(ts="2025-10-19T01:00:00.000Z", received_at="2025-10-18T23:59:00.000Z")
    (result,), (row,) = run(ndjson(line(event)))
    assert result.rejected == 0
    assert row["is_ts_clamped"] == "t"
    assert row["ts"] == "2025-10-18T23:59:00.000+00:00"
    assert (row["event_date"], row["event_hour"]) == ("2025-10-18", "23")


def test_ts_within_five_minutes_ahead_is_kept() -> None:
    event = make_event(ts="2025-10-18T13:10:02.000Z", received_at="2025-10-18T13:05:02.000Z")
    _, (row,) = run(ndjson(line(event)))
    assert row["is_ts_clamped"] == "f" and row["ts"] == "2025-10-18T13:10:02.000+00:00"


def test_ts_more_than_72_hours_before_received_at_is_too_late() -> None:
    event = make_event(ts="2025-10-15T13:05:01.999Z", received_at="2025-10-18T13:05:02.000Z")
    assert rejected_as(line(event)) == "too_late"


def test_ts_exactly_72_hours_before_is_accepted() -> None:
    event = make_event(ts="2025-10-15T13:05:02.000Z", received_at="2025-10-18T13:05:02.000Z")
    (result,), _ = run(ndjson(line(event)))
    assert result.staged == 1


# ------------------------------------------------------------------ bad lines


def test_invalid_json() -> None:
    assert rejected_as(b'{"event_id": "x",') == "invalid_json"


def test_non_utf8_bytes() -> None:
    raw = line(make_event()).replace(b"Berlin", b"Berl\xff\xfen")
    assert rejected_as(raw) == "not_utf8"
    (result,), _ = run(ndjson(raw))
    (record,) = rejects_of(result)
    assert "Berl\\xff\\xfen" in record["line"]
    assert record["truncated"] is False


def test_line_over_32kb_is_rejected_without_parsing() -> None:
    event = make_event(props={"blob": "x" * MAX_LINE_BYTES})
    assert rejected_as(line(event)) == "line_too_long"
    (result,), _ = run(ndjson(line(event)))
    (record,) = rejects_of(result)
    assert record["truncated"] is True
    assert len(record["line"].encode()) == MAX_LINE_BYTES


def test_a_line_of_exactly_32kb_is_parsed() -> None:
    event = make_event(props={"blob": ""})
    pad = MAX_LINE_BYTES - len(line(event))
    event = make_event(props={"blob": "x" * pad})
    assert len(line(event)) == MAX_LINE_BYTES
    (result,), _ = run(ndjson(line(event)))
    assert result.staged == 1


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object(raw: bytes) -> None:
    assert rejected_as(raw) == "not_an_object"


@pytest.mark.parametrize(
    "field", ["event_id", "ts", "received_at", "event_type", "session_id", "anonymous_id"]
)
def test_missing_required_field(field: str) -> None:
    event = make_event()
    del event[field]
    assert rejected_as(line(event)) == "missing_field"


@pytest.mark.parametrize("overrides", [{"event_id": None}, {"device": None}, {"props": None}])
def test_null_where_a_value_is_needed_is_missing(overrides: dict[str, Any]) -> None:
    assert rejected_as(line(make_event(**overrides))) == "missing_field"


def test_missing_nested_required_field() -> None:
    event = make_event(ecom={"product_id": "p1", "currency": "EUR"})
    assert rejected_as(line(event)) == "missing_field"


@pytest.mark.parametrize(
    "overrides",
    [
        {"event_id": "not-a-uuid"},
        {"event_id": 12345},
        {"ts": 1760792701},
        {"ts": "2025-10-18T13:05:01"},  # no offset
        {"ts": "yesterday"},
        {"anonymous_id": ""},
        {"anonymous_id": "x" * 129},
        {"page_url": 5},
        {"device": {"type": "phone"}},
        {"geo": {"country": "de"}},
        {"ecom": {"product_id": "p", "currency": "EUR", "price": "free"}},
        {"ecom": {"product_id": "p", "currency": "EUR", "price": 1.234}},
        {"ecom": {"product_id": "p", "currency": "EUR", "price": 1, "qty": 0}},
        {"ecom": {"product_id": "p", "currency": "EUR", "price": True}},
        {"props": ["a"]},
    ],
)
def test_mistyped_or_out_of_range_field(overrides: dict[str, Any]) -> None:
    assert rejected_as(line(make_event(**overrides))) == "invalid_field"


@pytest.mark.parametrize("event_type", ["pageview", "VIEW", ""])
def test_unknown_event_type(event_type: str) -> None:
    assert rejected_as(line(make_event(event_type=event_type))) == "unknown_event_type"


def test_event_type_of_the_wrong_type_is_invalid_field() -> None:
    assert rejected_as(line(make_event(event_type=3))) == "invalid_field"


@pytest.mark.parametrize("price", [-1, -0.01, "-5.00"])
def test_negative_price(price: object) -> None:
    event = make_event(ecom={"product_id": "p", "currency": "EUR", "price": price})
    assert rejected_as(line(event)) == "negative_price"


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", 978, ""])
def test_bad_currency(currency: object) -> None:
    event = make_event(ecom={"product_id": "p", "currency": currency, "price": 1})
    assert rejected_as(line(event)) == "bad_currency"


def test_several_problems_take_the_first_reason_in_order() -> None:
    event = make_event(event_type="bogus", ecom={"product_id": "p", "currency": "eur", "price": -1})
    del event["anonymous_id"]
    assert rejected_as(line(event)) == "missing_field"
    (result,), _ = run(ndjson(line(event)))
    (record,) = rejects_of(result)
    assert "anonymous_id" in record["detail"] and "event_type" in record["detail"]


def test_nul_character_is_rejected() -> None:
    assert rejected_as(line(make_event(props={"note": "a\x00b"}))) == "invalid_field"


def test_escaped_backslash_u0000_text_is_not_a_nul() -> None:
    (result,), (row,) = run(ndjson(line(make_event(props={"note": "\\u0000"}))))
    assert result.staged == 1
    assert row["props"] == r'{"note":"\\\\u0000"}'  # JSON escapes the backslash, COPY doubles both


def test_revenue_beyond_the_column_is_rejected() -> None:
    ecom = {"product_id": "p", "currency": "EUR", "price": "9999999999.99", "qty": 10_000}
    assert rejected_as(line(make_event(event_type="purchase", ecom=ecom))) == "invalid_field"


def test_reason_codes_are_a_fixed_vocabulary() -> None:
    assert REASONS == (
        "corrupt_gzip",
        "line_too_long",
        "not_utf8",
        "invalid_json",
        "not_an_object",
        "missing_field",
        "unknown_event_type",
        "negative_price",
        "bad_currency",
        "invalid_field",
        "too_late",
    )


def test_reject_record_keeps_the_original_line() -> None:
    bad = b'{"event_type": "view", "tab": "\\t"}'
    (result,), _ = run(ndjson(line(make_event(0)), bad))
    (record,) = rejects_of(result)
    assert record == {
        "reason": "missing_field",
        "detail": record["detail"],
        "line_no": 2,
        "line": bad.decode(),
        "truncated": False,
    }


# ------------------------------------------------------------------ objects


def test_empty_object_has_no_lines_and_no_error() -> None:
    for data in (b"", gzip.compress(b"")):
        (result,), rows = run(data)
        assert (result.lines_read, result.staged, result.rejected, result.quarantined) == (0, 0, 0, False)
        assert rows == [] and result.rejects_body is None


def test_blank_lines_are_skipped_and_not_counted() -> None:
    data = b"\n" + line(make_event(0)) + b"\r\n  \n\n" + line(make_event(1)) + b"\n\n"
    (result,), rows = run(gzip.compress(data))
    assert (result.lines_read, result.staged, result.rejected) == (2, 2, 0)
    assert len(rows) == 2


def test_line_numbers_count_blank_lines() -> None:
    data = b"\n\n" + b"oops" + b"\n"
    (result,), _ = run(data)
    assert rejects_of(result)[0]["line_no"] == 3


def test_last_line_without_newline_is_read() -> None:
    data = line(make_event(0)) + b"\n" + line(make_event(1))
    (result,), _ = run(gzip.compress(data))
    assert result.staged == 2


def test_plain_ndjson_object_is_read_like_gzip() -> None:
    data = ndjson(*(line(make_event(i)) for i in range(5)))
    (plain,), plain_rows = run(data)
    (gz,), gz_rows = run(gzip.compress(data))
    assert plain.staged == gz.staged == 5
    assert plain_rows == gz_rows


def test_multi_member_gzip_is_read_whole() -> None:
    data = gzip.compress(ndjson(line(make_event(0)))) + gzip.compress(ndjson(line(make_event(1))))
    (result,), _ = run(data)
    assert result.staged == 2 and not result.quarantined


def test_gzip_with_zero_padding_is_fine() -> None:
    data = gzip.compress(ndjson(line(make_event(0)))) + b"\x00" * 512
    (result,), _ = run(data)
    assert result.staged == 1 and not result.quarantined


def big_object(n: int) -> bytes:
    return gzip.compress(ndjson(*(line(make_event(i)) for i in range(n))), compresslevel=1)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[: len(d) // 2], id="truncated"),
        pytest.param(lambda d: d[:-4], id="no-trailer"),
        pytest.param(lambda d: d[:40] + b"\x00garbage" * 50 + d[440:], id="corrupt-middle"),
        pytest.param(lambda d: d[:-8] + b"\xde\xad\xbe\xef" + d[-4:], id="bad-crc"),
        pytest.param(lambda d: d + b"trailing garbage", id="trailing-garbage"),
        pytest.param(lambda d: b"\x1f\x8b", id="magic-only"),
        pytest.param(lambda d: b"\x1f\x8bnot gzip at all", id="bad-header"),
    ],
)
def test_corrupt_gzip_is_quarantined_whole(damage: Any) -> None:
    good = big_object(3000)
    bad = damage(good)
    # Given a good object, a corrupt one, and a good one that repeats ids of the corrupt one
    results, rows = run(big_object(2), bad, gzip.compress(ndjson(line(make_event(2500)))))
    _, corrupt, last = results
    # Then nothing of the corrupt object is staged, and its ids did not make later copies duplicates
    assert corrupt.quarantined and corrupt.staged == 0 and corrupt.duplicates == 0
    assert corrupt.rejects == {"corrupt_gzip": corrupt.lines_read}
    assert_reconciles(corrupt)
    assert [r["src"] for r in rows] == ["0", "0", "2"]
    assert last.staged == 1 and last.duplicates == 0
    (record,) = rejects_of(corrupt)
    assert record["reason"] == "corrupt_gzip"
    assert record["line_no"] is None and record["line"] is None
    assert record["lines_before_corruption"] == corrupt.lines_read
    assert record["quarantine_key"] == quarantine_key(corrupt.source.key)


def test_quarantine_counts_the_complete_lines_before_the_corruption() -> None:
    data = big_object(20000)
    (result,), _ = run(data[: len(data) - 100])
    assert result.quarantined
    assert 0 < result.lines_read < 20000 and result.rejected == result.lines_read


def test_quarantine_key_sits_beside_the_rejects() -> None:
    assert quarantine_key(RAW_KEY) == "rejects/year=2025/month=10/day=18/hour=13/events-0001.quarantined.gz"


def test_decompression_is_incremental() -> None:
    # A highly compressible object comes out in bounded blocks, not as one piece.
    data = gzip.compress(ndjson(*([line(make_event(0))] * 40000)))
    blocks = list(iter_line_blocks(data))
    assert len(blocks) > 5
    assert max(sum(len(x) + 1 for x in block) for block in blocks) <= 2 * 1024 * 1024


def test_a_huge_line_across_blocks_is_cut_and_rejected() -> None:
    huge = b'{"x": "' + b"y" * (3 * 1024 * 1024) + b'"}'
    data = gzip.compress(ndjson(line(make_event(0)), huge, line(make_event(1))))
    (result,), _ = run(data)
    assert (result.staged, result.rejects) == (2, {"line_too_long": 1})


# ------------------------------------------------------------------ duplicates


def test_duplicates_within_an_object_first_wins() -> None:
    first = make_event(0, anonymous_id="first")
    again = make_event(0, anonymous_id="again")
    (result,), rows = run(ndjson(line(first), line(again), line(make_event(1))))
    assert (result.lines_read, result.staged, result.duplicates) == (3, 2, 1)
    assert rows[0]["anonymous_id"] == "first"


def test_duplicates_across_objects_count_against_the_later_object() -> None:
    (a, b), rows = run(ndjson(line(make_event(0)), line(make_event(1))), ndjson(line(make_event(1))))
    assert (a.staged, a.duplicates, b.staged, b.duplicates) == (2, 0, 0, 1)
    assert [r["src"] for r in rows] == ["0", "0"]


def test_uuid_case_does_not_hide_a_duplicate() -> None:
    upper = make_event(0, event_id=make_event(0)["event_id"].upper())
    (result,), rows = run(ndjson(line(make_event(0)), line(upper)))
    assert (result.staged, result.duplicates) == (1, 1)
    assert rows[0]["event_id"] == make_event(0)["event_id"]


def test_an_invalid_copy_is_rejected_not_a_duplicate() -> None:
    (result,), _ = run(ndjson(line(make_event(0)), line(make_event(0, event_type="nope"))))
    assert (result.staged, result.duplicates, result.rejected) == (1, 0, 1)


# ------------------------------------------------------------------ the work item


class MemoryLake:
    """An in-memory stand-in for storage.Lake."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def get_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def get_json(self, key: str) -> Any:
        return orjson.loads(self.objects[key])

    def put_bytes(self, key: str, body: bytes, content_type: str = "") -> str:
        self.objects[key] = body
        return hashlib.md5(body).hexdigest()

    def put_json(self, key: str, value: Any) -> str:
        return self.put_bytes(key, orjson.dumps(value))

    def keys(self, prefix: str) -> Iterator[str]:
        return (k for k in sorted(self.objects) if k.startswith(prefix))


def work_item(lake: MemoryLake, objects: dict[str, bytes]) -> dict[str, Any]:
    for key, data in objects.items():
        lake.objects[key] = data
    work = {
        "execution": "hour-2025-10-18T14",
        "partition_hour": "2025-10-18T13:00:00Z",
        "objects": [
            {"key": k, "etag": f"etag-{i}", "size": len(d)} for i, (k, d) in enumerate(objects.items())
        ],
    }
    lake.put_json("staged/hour-2025-10-18T14/work/00003.json", work)
    return {
        "item": {
            "work_key": "staged/hour-2025-10-18T14/work/00003.json",
            "batch_key": "staged/hour-2025-10-18T14/batches/00003",
            "partition_hour": "2025-10-18T13:00:00Z",
            "objects": len(objects),
        },
        "index": 3,
        "hour": "2025-10-18T14:00:00Z",
        "execution": "hour-2025-10-18T14",
    }


def test_transform_work_item_writes_batch_manifest_and_rejects() -> None:
    lake = MemoryLake()
    k1 = "raw/year=2025/month=10/day=18/hour=13/events-a.ndjson.gz"
    k2 = "raw/year=2025/month=10/day=18/hour=12/events-b.ndjson"
    k3 = "raw/year=2025/month=10/day=18/hour=13/events-c.ndjson.gz"
    event = work_item(
        lake,
        {
            k1: gzip.compress(ndjson(line(make_event(0)), b"junk", line(make_event(1)))),
            k2: ndjson(line(make_event(1)), line(make_event(2))),
            k3: b"\x1f\x8b\x08\x00corrupt",
        },
    )
    settings = Settings(user_id_hmac_key="k")  # type: ignore[arg-type]

    summary = transform_work_item(lake, event, settings)  # type: ignore[arg-type]

    assert summary == {
        "batch_key": "staged/hour-2025-10-18T14/batches/00003",
        "lines_read": 5,
        "staged": 3,
        "duplicates": 1,
        "rejected": 1,
        "filtered": 0,
        "objects": 3,
        "quarantined": 1,
    }
    manifest = lake.get_json("staged/hour-2025-10-18T14/batches/00003.json")
    assert manifest["execution"] == "hour-2025-10-18T14"
    assert manifest["staged_key"] == "staged/hour-2025-10-18T14/batches/00003.tsv.gz"
    assert manifest["rows"] == 3
    assert manifest["rules_version"] == RULES_VERSION
    assert manifest["objects"][0] == {
        "key": k1,
        "etag": "etag-0",
        "size": len(lake.objects[k1]),
        "partition_hour": "2025-10-18T13:00:00Z",
        "lines_read": 3,
        "staged": 2,
        "duplicates": 0,
        "rejected": 1,
        "rejects": {"invalid_json": 1},
        "filtered": 0,
        "filters": {},
        "quarantined": False,
    }
    assert manifest["objects"][1]["partition_hour"] == "2025-10-18T12:00:00Z"
    assert (manifest["objects"][1]["staged"], manifest["objects"][1]["duplicates"]) == (1, 1)
    assert manifest["objects"][2]["quarantined"] is True
    rows = staged_rows(lake.objects[manifest["staged_key"]])
    assert [r["src"] for r in rows] == ["0", "0", "1"]
    # Rejects only for objects that have some; the quarantined copy is byte for byte
    assert rejects_key(k1) in lake.objects and rejects_key(k2) not in lake.objects
    assert lake.objects[quarantine_key(k3)] == b"\x1f\x8b\x08\x00corrupt"
    assert orjson.loads(gzip.decompress(lake.objects[rejects_key(k3)]))["reason"] == "corrupt_gzip"


def test_a_retry_writes_the_same_objects() -> None:
    lake = MemoryLake()
    event = work_item(lake, {RAW_KEY: gzip.compress(ndjson(line(make_event(0)), b"junk"))})
    settings = Settings()
    transform_work_item(lake, event, settings)  # type: ignore[arg-type]
    first = dict(lake.objects)
    transform_work_item(lake, event, settings)  # type: ignore[arg-type]
    assert lake.objects == first


def test_a_failed_rejects_write_fails_the_item_before_the_manifest() -> None:
    # Rejects are written in the background: a failure still fails the item, and no manifest says
    # the batch is complete (the retry writes everything again).
    class FailingLake(MemoryLake):
        def put_bytes(self, key: str, body: bytes, content_type: str = "") -> str:
            if key.startswith("rejects/"):
                raise TransientStorageError(f"put {key}: SlowDown")
            return super().put_bytes(key, body, content_type)

    lake = FailingLake()
    other = "raw/year=2025/month=10/day=18/hour=13/events-0002.ndjson.gz"
    event = work_item(
        lake,
        {RAW_KEY: gzip.compress(ndjson(b"junk")), other: gzip.compress(ndjson(line(make_event(0))))},
    )
    with pytest.raises(TransientStorageError):
        transform_work_item(lake, event, Settings())  # type: ignore[arg-type]
    assert "staged/hour-2025-10-18T14/batches/00003.json" not in lake.objects


def test_an_empty_work_file_gives_an_empty_batch() -> None:
    lake = MemoryLake()
    event = work_item(lake, {})
    summary = transform_work_item(lake, event, Settings())  # type: ignore[arg-type]
    assert summary["objects"] == 0 and summary["staged"] == 0
    assert gzip.decompress(lake.objects["staged/hour-2025-10-18T14/batches/00003.tsv.gz"]) == b""


@pytest.mark.parametrize(
    "event",
    [{}, {"item": {}}, {"item": {"work_key": "w"}}, {"item": {"batch_key": "b"}}],
)
def test_a_malformed_map_item_is_a_contract_violation(event: dict[str, Any]) -> None:
    with pytest.raises(ContractViolation):
        transform_work_item(MemoryLake(), event, Settings())  # type: ignore[arg-type]


def test_a_work_file_with_a_foreign_key_is_a_contract_violation() -> None:
    lake = MemoryLake()
    event = work_item(lake, {"somewhere/else.ndjson": b""})
    with pytest.raises(ContractViolation):
        transform_work_item(lake, event, Settings())  # type: ignore[arg-type]


@pytest.mark.parametrize("deflate", ["zlib", "isal.isal_zlib"])
def test_staged_rows_are_the_same_whichever_deflate(deflate: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # ISA-L (a dependency) or zlib: the same rows, one gzip stream of one member per object.
    module = importlib.import_module(deflate)
    monkeypatch.setattr(transform, "_deflate", module)
    results, rows = run(big_object(50), b"\x1f\x8b" + zlib.compress(b"x"), ndjson(b"junk"), big_object(60))
    assert [r.staged for r in results] == [50, 0, 0, 10]
    assert len(rows) == 60 and [r["src"] for r in rows] == ["0"] * 50 + ["3"] * 10
    empty = BatchTransformer(KEY)
    assert gzip.decompress(empty.finish()) == b""


def test_compressor_rollback_keeps_the_stream_valid() -> None:
    # Rows staged before and after a quarantined object decompress as one stream.
    results, rows = run(big_object(100), b"\x1f\x8b" + zlib.compress(b"x"), big_object(1))
    assert [r.staged for r in results] == [100, 0, 0]
    assert results[2].duplicates == 1
    assert len(rows) == 100


# ------------------------------------------------------------------ product lists (item_list)


def test_an_impression_is_staged_with_its_list_in_props() -> None:
    listed = {"name": "category:laptops", "product_ids": ["p1", "214536502", "p1"]}
    event = make_event(event_type="impression", ecom=None, item_list=listed, props={"page": 2})
    (result,), rows = run(gzip.compress(line(event) + b"\n"))
    assert result.staged == 1 and result.rejected == 0
    # kept as sent (a product id that looks like a phone number too: item_list is no free-form props)
    assert orjson.loads(rows[0]["props"]) == {"page": 2, "item_list": listed}


def test_a_click_names_its_list_and_a_clients_own_props_item_list_is_not_kept() -> None:
    clicked = make_event(event_type="click", item_list={"name": "search_results", "extra": 1})
    plain = make_event(1, event_type="click", props={"item_list": {"name": "forged"}, "element": "nav"})
    (result,), rows = run(gzip.compress(ndjson(line(clicked), line(plain))))
    assert result.staged == 2
    props = {row["event_id"]: orjson.loads(row["props"]) for row in rows}
    assert props[clicked["event_id"]] == {"button": "hero", "item_list": {"name": "search_results"}}
    assert props[plain["event_id"]] == {"element": "nav"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"event_type": "impression"},
        {"event_type": "impression", "item_list": {"name": "l"}},
        {"event_type": "impression", "item_list": {"name": "l", "product_ids": []}},
        {"event_type": "click", "ecom": None, "item_list": {"name": "l"}},
    ],
)
def test_an_impression_without_its_products_or_a_list_click_without_its_product_is_missing_a_field(
    overrides: dict[str, Any],
) -> None:
    assert rejected_as(line(make_event(**overrides))) == "missing_field"


def test_old_events_without_item_list_stay_valid() -> None:
    for event_type in ("view", "click", "search", "add_to_cart", "checkout", "purchase"):
        (result,), _ = run(gzip.compress(line(make_event(event_type=event_type)) + b"\n"))
        assert result.staged == 1, event_type


# ------------------------------------------------------------ user agent, product name

# Real user agents of people's browsers, their browser and OS families checked by hand against
# what each product calls itself (ua-parser's names, docs/BOTS.md).
PEOPLE = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
        "mobile",
        "Mobile Safari",
        "iOS",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        "mobile",
        "Samsung Internet",
        "Android",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
        "desktop",
        "Edge",
        "Windows",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7; rv:131.0) Gecko/20100101 Firefox/131.0",
        "desktop",
        "Firefox",
        "Mac OS X",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
        "tablet",
        "Mobile Safari",
        "iOS",
    ),
]


@pytest.mark.parametrize("fast_path", [True, False])
def test_browser_os_and_device_come_from_the_user_agent(fast_path: bool) -> None:
    # the tracker sent no device.type: the device is parsed too
    lines = [line(make_event(i, device={"user_agent": ua})) for i, (ua, *_) in enumerate(PEOPLE)]
    # a declared device wins, browser and OS are still parsed; no user agent: unknown
    lines.append(line(make_event(10, device={"type": "tablet", "user_agent": PEOPLE[0][0]})))
    lines.append(line(make_event(11, device={"type": "desktop"})))
    lines.append(line(make_event(12, device={"user_agent": "   "})))
    _, rows = run(gzip.compress(ndjson(*lines)), fast_path=fast_path)
    got = [(r["device_type"], r["browser"], r["os"]) for r in rows]
    assert got == [
        *[(device, browser, os) for _, device, browser, os in PEOPLE],
        ("tablet", "Mobile Safari", "iOS"),
        ("desktop", None, None),
        ("unknown", None, None),
    ]


@pytest.mark.parametrize("fast_path", [True, False])
def test_the_product_name_is_staged_as_sent(fast_path: bool) -> None:
    named = make_event(1)
    named["ecom"] = {**named["ecom"], "name": "Dell XPS 13 9340, 16GB RAM\t512GB SSD"}
    unnamed = make_event(2)
    too_long = make_event(3)
    too_long["ecom"] = {**too_long["ecom"], "name": "x" * 257}
    (result,), rows = run(
        gzip.compress(ndjson(line(named), line(unnamed), line(too_long))), fast_path=fast_path
    )
    assert [r["product_name"] for r in rows] == [
        "Dell XPS 13 9340, 16GB RAM\\t512GB SSD",
        None,
    ]  # COPY-escaped
    assert result.rejects == {"invalid_field": 1}  # a name over 256 characters breaks the contract
