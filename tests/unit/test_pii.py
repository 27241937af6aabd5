"""The PII rule set (clickstream.core.pii): the shared cases, through the module, ingest and transform.

tests/fixtures/pii_cases.json is run here and by the tracker's tests (sdk/test/pii.test.ts), so the
browser, ingest and transform are held to the same cases.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from clickstream.core import pii
from clickstream.core.pii import is_pii_key, looks_like_email, looks_like_phone
from clickstream.pipeline import ingest
from clickstream.pipeline.staged import STAGED_COLUMNS
from clickstream.pipeline.transform import BatchTransformer, SourceObject

CASES = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "pii_cases.json").read_text())
PROPS, URLS = CASES["props"], CASES["urls"]
KEY = b"pii-test-key"
RECEIVED = datetime(2025, 10, 18, 13, 5, 2, tzinfo=UTC)


def _event(**fields: Any) -> dict[str, Any]:
    ids = {"event_id": str(uuid.uuid4()), "session_id": str(uuid.uuid4()), "anonymous_id": "anon-1"}
    return {**ids, "ts": "2025-10-18T13:05:01.000Z", "event_type": "click", **fields}


def through_ingest(**fields: Any) -> dict[str, Any]:
    """The raw line ingest writes for one event."""
    result = ingest.process(orjson.dumps([_event(**fields)]), {}, RECEIVED, KEY)
    assert result.body["accepted"] == 1, result.body
    return orjson.loads(result.lines[0])


_COPY_ESCAPE = re.compile(r"\\(.)")
_COPY_ESCAPED = {"t": "\t", "n": "\n", "r": "\r"}


def through_transform(**fields: Any) -> dict[str, Any]:
    """The staged row transform makes of one raw line that did not come through ingest."""
    line = orjson.dumps({**_event(**fields), "received_at": "2025-10-18T13:05:02.000Z"})
    batch = BatchTransformer(KEY)
    result = batch.add_object(0, SourceObject("raw/events-0001.ndjson.gz", "etag", 0), gzip.compress(line))
    assert result.staged == 1, result.rejects
    (row,) = gzip.decompress(batch.finish()).decode().splitlines()
    values = [
        None if v == "\\N" else _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPED.get(m[1], m[1]), v)
        for v in row.split("\t")
    ]
    staged = dict(zip(STAGED_COLUMNS, values, strict=True))
    props = orjson.loads(staged["props"] or "{}")
    if staged["search_query"] is not None:  # transform's column for props.search_query
        props["search_query"] = staged["search_query"]
    return {**staged, "props": props}


# ------------------------------------------------------------------ the shared cases


@pytest.mark.parametrize("case", PROPS, ids=[c["name"] for c in PROPS])
def test_props_case(case: dict[str, Any]) -> None:
    assert pii.strip_props(case["in"]) == case["out"]
    assert through_ingest(props=case["in"])["props"] == case["out"]
    assert through_transform(props=case["in"])["props"] == case["out"]


@pytest.mark.parametrize("case", URLS, ids=[c["name"] for c in URLS])
def test_url_case(case: dict[str, Any]) -> None:
    assert pii.clean_url(case["in"]) == case["out"]
    line = through_ingest(page_url=case["in"], referrer=case["in"])
    assert (line["page_url"], line["referrer"]) == (case["out"], case["out"])
    row = through_transform(page_url=case["in"], referrer=case["in"])
    assert (row["page_url"], row["referrer"]) == (case["out"], case["out"])


@pytest.mark.parametrize("case", CASES["values"], ids=[c["value"] for c in CASES["values"]])
def test_value_case(case: dict[str, Any]) -> None:
    assert pii.looks_like_pii(case["value"]) is case["pii"]


@pytest.mark.parametrize("case", CASES["keys"], ids=[c["key"] for c in CASES["keys"]])
def test_key_case(case: dict[str, Any]) -> None:
    assert is_pii_key(case["key"]) is case["pii"]


def test_utm_values_are_parsed_after_the_personal_parameters_are_gone() -> None:
    row = through_transform(page_url="https://shop.example/?utm_source=news&utm_term=bob%40example.com")
    assert row["page_url"] == "https://shop.example/?utm_source=news"
    assert (row["utm_source"], row["utm_term"]) == ("news", None)


def test_an_anonymous_id_that_looks_personal_is_hashed_by_ingest() -> None:
    for anonymous_id in ("bob@example.com", "+49 30 1234567", "4111 1111 1111 1111"):
        assert through_ingest(anonymous_id=anonymous_id)["anonymous_id"].startswith("h1:")
    assert through_ingest(anonymous_id="7b1e4c3a-anon")["anonymous_id"] == "7b1e4c3a-anon"


# ------------------------------------------------------------------ the rules' own checks


@pytest.mark.parametrize(
    "key",
    [
        *("email", "E-Mail", "user_email", "phone", "mobile", "tel", "name", "first_name", "lastName"),
        *("full_name", "customer_name", "address", "billing_address", "zip", "ip", "date_of_birth"),
    ],
)
def test_pii_keys(key: str) -> None:
    assert is_pii_key(key)


@pytest.mark.parametrize("key", ["product_name", "button", "is_mobile", "hotel", "category", "search_query"])
def test_not_pii_keys(key: str) -> None:
    assert not is_pii_key(key)


@pytest.mark.parametrize("value", ["ann@example.com", "mail me: Ann.Lee+x@mail.example.co.uk please"])
def test_looks_like_email(value: str) -> None:
    assert looks_like_email(value)


@pytest.mark.parametrize("value", ["@handle", "a@b", "price@2x", "user at example dot com"])
def test_not_email(value: str) -> None:
    assert not looks_like_email(value)


@pytest.mark.parametrize(
    "value",
    ["+49 30 1234567", "(555) 123-4567", "555-123-4567", "07911 123456", "07911123456", "+14155552671"],
)
def test_looks_like_phone(value: str) -> None:
    assert looks_like_phone(value)


@pytest.mark.parametrize("value", ["2025-10-18", "10.0.19045", "12345678", "sku-123", "123", "1-2", "+1 23"])
def test_not_phone(value: str) -> None:
    assert not looks_like_phone(value)
