"""Valid contract lines, and objects run through the transformer as one batch."""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import orjson

from clickstream.pipeline.staged import STAGED_COLUMNS
from clickstream.pipeline.transform import BatchTransformer, ObjectResult, SourceObject

KEY = b"unit-test-key"
RAW_KEY = "raw/year=2025/month=10/day=18/hour=13/events-0001.ndjson.gz"


def make_event(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid contract line as a dict; n makes the ids unique."""
    event: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=n + 1)),
        "ts": "2025-10-18T13:05:01.123Z",
        "received_at": "2025-10-18T13:05:02.000Z",
        "event_type": "view",
        "session_id": str(uuid.UUID(int=10**6 + n)),
        "anonymous_id": f"anon-{n}",
        "user_id": None,
        "page_url": "https://shop.example.com/products/p1?utm_source=google&utm_medium=cpc",
        "referrer": "https://www.google.com/",
        "device": {"type": "desktop", "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"},
        "geo": {"country": "DE", "city": "Berlin"},
        "ecom": {"product_id": "p1", "category": "laptops", "currency": "EUR", "price": 79.99, "qty": 2},
        "props": {"button": "hero"},
    }
    event.update(overrides)
    return event


def line(event: Any) -> bytes:
    return orjson.dumps(event)


def ndjson(*lines: bytes) -> bytes:
    return b"".join(item + b"\n" for item in lines)


def source(key: str = RAW_KEY) -> SourceObject:
    return SourceObject(key, "etag", 0)


def run(*objects: bytes, fast_path: bool = True) -> tuple[list[ObjectResult], list[dict[str, str | None]]]:
    """Transform objects as one batch; (per-object results, staged rows as dicts)."""
    batch = BatchTransformer(KEY, fast_path=fast_path)
    results = [
        batch.add_object(i, source(RAW_KEY.replace("0001", f"{i:04d}")), data)
        for i, data in enumerate(objects)
    ]
    return results, staged_rows(batch.finish())


def staged_rows(body: bytes | bytearray) -> list[dict[str, str | None]]:
    text = gzip.decompress(body).decode("utf-8")
    rows = []
    for row in text.split("\n")[:-1]:
        fields = row.split("\t")
        assert len(fields) == len(STAGED_COLUMNS)
        rows.append({c: (None if v == "\\N" else v) for c, v in zip(STAGED_COLUMNS, fields, strict=True)})
    return rows


def rejects_of(result: ObjectResult) -> list[dict[str, Any]]:
    assert result.rejects_body is not None
    return [orjson.loads(x) for x in gzip.decompress(result.rejects_body).splitlines()]
