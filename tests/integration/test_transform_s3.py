"""The transform handler against S3 (moto): raw objects and a work file in, staged batch out."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from clickstream.core.errors import StagedDataMissing
from clickstream.core.lake import rejects_key
from clickstream.core.settings import get_settings
from clickstream.pipeline.staged import STAGED_COLUMNS
from clickstream.pipeline.transform import quarantine_key
from functions.transform import handler as transform_handler
from tests.support.aws import LambdaContext, use_moto
from tests.support.transform import make_event

BUCKET = "clickstream-lake-test"
EXECUTION = "hour-2025-10-18T14"
WORK_KEY = f"staged/{EXECUTION}/work/00000.json"
BATCH_KEY = f"staged/{EXECUTION}/batches/00000"
GOOD = "raw/year=2025/month=10/day=18/hour=13/events-good.ndjson.gz"
MIXED = "raw/year=2025/month=10/day=18/hour=13/events-mixed.ndjson.gz"
PLAIN = "raw/year=2025/month=10/day=18/hour=12/events-plain.ndjson"
BROKEN = "raw/year=2025/month=10/day=18/hour=13/events-broken.ndjson.gz"


def event_line(n: int, **overrides: Any) -> bytes:
    """A valid line with PII in user_id and props, tagged as e-mail traffic."""
    event = make_event(
        n,
        user_id="ann@example.com",
        page_url="https://shop.example.com/p/1?utm_source=newsletter&utm_medium=email",
        props={"phone": "+49 30 1234567", "button": "hero"},
    )
    event.update(overrides)
    return json.dumps(event, ensure_ascii=False).encode()  # json: integers beyond 64 bits too


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    use_moto(monkeypatch)
    monkeypatch.setenv("LAKE_BUCKET", BUCKET)
    monkeypatch.setenv("USER_ID_HMAC_KEY", "integration-key")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ClickstreamTest")
    with mock_aws():
        get_settings.cache_clear()
        transform_handler.lake.cache_clear()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
        get_settings.cache_clear()
        transform_handler.lake.cache_clear()


def put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def get(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def write_work(s3: Any, keys: list[str]) -> dict[str, Any]:
    objects = []
    for key in keys:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        objects.append({"key": key, "etag": head["ETag"].strip('"'), "size": head["ContentLength"]})
    work = {"execution": EXECUTION, "partition_hour": "2025-10-18T13:00:00Z", "objects": objects}
    put(s3, WORK_KEY, orjson.dumps(work))
    return {
        "item": {
            "work_key": WORK_KEY,
            "batch_key": BATCH_KEY,
            "partition_hour": "2025-10-18T13:00:00Z",
            "objects": len(objects),
        },
        "index": 0,
        "hour": "2025-10-18T14:00:00Z",
        "execution": EXECUTION,
    }


def test_handler_stages_a_work_item(s3: Any) -> None:
    # Given a good object, one with bad lines and a duplicate, a plain NDJSON one and a corrupt one
    put(s3, GOOD, gzip.compress(b"\n".join(event_line(i) for i in range(50)) + b"\n"))
    mixed = [event_line(100), b"{not json", event_line(0), b"", event_line(101, event_type="teleport")]
    put(s3, MIXED, gzip.compress(b"\n".join(mixed) + b"\n"))
    put(s3, PLAIN, event_line(200) + b"\n" + event_line(201) + b"\n")
    broken = gzip.compress(b"\n".join(event_line(300 + i) for i in range(200)))
    put(s3, BROKEN, broken[: len(broken) // 2])
    event = write_work(s3, [GOOD, MIXED, PLAIN, BROKEN])

    # When the Map task runs
    result = transform_handler.handler(event, LambdaContext("transform"))

    # Then it returns the batch's counts (and nothing big)
    assert result["batch_key"] == BATCH_KEY
    assert (result["objects"], result["quarantined"]) == (4, 1)
    assert result["staged"] == 50 + 1 + 2
    assert result["duplicates"] == 1
    assert result["lines_read"] == result["staged"] + result["duplicates"] + result["rejected"]
    assert len(orjson.dumps(result)) < 1024

    # ... the manifest describes every object
    manifest = orjson.loads(get(s3, f"{BATCH_KEY}.json"))
    assert manifest["staged_key"] == f"{BATCH_KEY}.tsv.gz" and manifest["rows"] == 53
    by_key = {o["key"]: o for o in manifest["objects"]}
    assert [o["key"] for o in manifest["objects"]] == [GOOD, MIXED, PLAIN, BROKEN]
    assert by_key[GOOD]["etag"] == s3.head_object(Bucket=BUCKET, Key=GOOD)["ETag"].strip('"')
    assert by_key[MIXED] | {"etag": "", "size": 0} == {
        "key": MIXED,
        "etag": "",
        "size": 0,
        "partition_hour": "2025-10-18T13:00:00Z",
        "lines_read": 4,
        "staged": 1,
        "duplicates": 1,
        "rejected": 2,
        "rejects": {"invalid_json": 1, "unknown_event_type": 1},
        "filtered": 0,
        "filters": {},
        "quarantined": False,
    }
    assert by_key[PLAIN]["partition_hour"] == "2025-10-18T12:00:00Z"
    assert by_key[BROKEN]["quarantined"] is True
    assert by_key[BROKEN]["rejects"] == {"corrupt_gzip": by_key[BROKEN]["lines_read"]}

    # ... the staged rows are COPY text with hashed users and no PII
    text = gzip.decompress(get(s3, f"{BATCH_KEY}.tsv.gz")).decode()
    rows = [dict(zip(STAGED_COLUMNS, r.split("\t"), strict=True)) for r in text.splitlines()]
    assert len(rows) == 53
    assert {r["src"] for r in rows} == {"0", "1", "2"}
    assert all(r["user_hash"].startswith("h1:") and r["channel"] == "Email" for r in rows)
    assert "example.com\t" not in text.replace("shop.example.com", "") and "1234567" not in text

    # ... the rejects and the quarantined copy sit in the rejects area
    records = [orjson.loads(x) for x in gzip.decompress(get(s3, rejects_key(MIXED))).splitlines()]
    assert [(r["reason"], r["line_no"]) for r in records] == [("invalid_json", 2), ("unknown_event_type", 5)]
    assert get(s3, quarantine_key(BROKEN)) == broken[: len(broken) // 2]
    (quarantine_record,) = [
        orjson.loads(x) for x in gzip.decompress(get(s3, rejects_key(BROKEN))).splitlines()
    ]
    assert quarantine_record["reason"] == "corrupt_gzip"
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=rejects_key(GOOD))


def test_a_retry_overwrites_the_same_keys(s3: Any) -> None:
    put(s3, GOOD, gzip.compress(event_line(1) + b"\n" + b"oops\n"))
    event = write_work(s3, [GOOD])
    first = transform_handler.handler(event, LambdaContext("transform"))
    keys = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}

    again = transform_handler.handler(event, LambdaContext("transform"))

    assert again == first
    assert {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]} == keys


def test_a_missing_raw_object_fails_with_a_typed_error(s3: Any) -> None:
    put(s3, GOOD, b"")
    event = write_work(s3, [GOOD])
    s3.delete_object(Bucket=BUCKET, Key=GOOD)
    with pytest.raises(StagedDataMissing):
        transform_handler.handler(event, LambdaContext("transform"))


# Valid events whose text is awkward for COPY, jsonb, numeric and timestamptz.
AWKWARD = [
    event_line(
        900, props={"q": 'tab\there "quoted" back\\slash\nnewline', "emoji": "🛒", "nested": {"a": [1, None]}}
    ),
    event_line(901, props={"big": 2**70, "neg": -(2**63) - 5}),
    event_line(
        902, page_url="https://shop.example.com/p?utm_source=a%09b%5Cc&utm_medium=%0A&utm_term=%E2%82%AC"
    ),
    event_line(903, ts="2025-10-18T15:05:01.123456+02:00", geo={"country": "DE", "city": "Tab\tCity\\"}),
    event_line(904, ts="2025-10-19T13:05:01.123Z"),  # clamped to received_at
    event_line(
        905, event_type="purchase", ecom={"product_id": "p", "currency": "EUR", "price": "1e2", "qty": 3}
    ),
    event_line(
        906, event_type="purchase", ecom={"product_id": "p", "currency": "EUR", "price": 9999999999.99}
    ),
    event_line(907, ts="0001-01-01T00:00:00Z", received_at="0001-01-01T00:00:01Z"),
    event_line(908, anonymous_id="\u2028\u0085\x1f", user_id="h1:" + "a" * 64),
]


def test_staged_rows_copy_into_fact_events_columns(database_url: str) -> None:
    import psycopg

    from clickstream.pipeline.transform import BatchTransformer, SourceObject
    from clickstream.tools.generate import GeneratorConfig, generate_objects

    # Given generated traffic with every fault, and awkward valid events, transformed as one batch
    batch = BatchTransformer(b"k")
    raw = list(generate_objects(GeneratorConfig.with_faults(seed=3, hours=2, events_per_day=24 * 2000)))
    raw.append((GOOD, gzip.compress(b"\n".join(AWKWARD))))
    staged = sum(batch.add_object(i, SourceObject(k, "", len(b)), b).staged for i, (k, b) in enumerate(raw))
    body = gzip.decompress(batch.finish())

    # When the rows are copied into a table with fact_events' columns and types
    columns = ", ".join(STAGED_COLUMNS)
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("create temp table staged (src integer not null, like fact_events)")
        with cur.copy(f"copy staged ({columns}) from stdin") as copy:
            copy.write(body)

        # Then every row arrives, with its values intact
        cur.execute("select count(*), count(distinct event_id) from staged")
        assert cur.fetchone() == (staged, staged)
        cur.execute(
            "select props->>'q', props->>'big' from staged where event_id = %s", (str(uuid.UUID(int=901)),)
        )
        assert cur.fetchone() == ('tab\there "quoted" back\\slash\nnewline', None)
        cur.execute("select props->>'big' from staged where event_id = %s", (str(uuid.UUID(int=902)),))
        assert cur.fetchone() == (str(2**70),)
        cur.execute(
            "select utm_source, utm_medium, utm_term from staged where event_id = %s",
            (str(uuid.UUID(int=903)),),
        )
        assert cur.fetchone() == ("a\tb\\c", None, "€")
        cur.execute(
            "select ts = '2025-10-18T13:05:01.123456Z'::timestamptz, event_hour, city"
            " from staged where event_id = %s",
            (str(uuid.UUID(int=904)),),
        )
        assert cur.fetchone() == (True, 13, "Tab\tCity\\")
        cur.execute(
            "select is_ts_clamped, ts = received_at from staged where event_id = %s",
            (str(uuid.UUID(int=905)),),
        )
        assert cur.fetchone() == (True, True)
        cur.execute(
            "select price::text, revenue::text from staged where event_id = %s", (str(uuid.UUID(int=906)),)
        )
        assert cur.fetchone() == ("100.00", "300.00")
        cur.execute("select event_date::text from staged where event_id = %s", (str(uuid.UUID(int=908)),))
        assert cur.fetchone() == ("0001-01-01",)
        cur.execute(
            "select anonymous_id, user_hash from staged where event_id = %s", (str(uuid.UUID(int=909)),)
        )
        assert cur.fetchone() == ("\u2028\u0085\x1f", "h1:" + "a" * 64)
