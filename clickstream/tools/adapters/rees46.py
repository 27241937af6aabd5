"""REES46 "eCommerce behavior data from multi category store" CSV -> contract events.

Columns: event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session.
Source: REES46 Marketing Platform (see data/real/README.md).

Mapping:

- event_type: view -> view, cart -> add_to_cart, purchase -> purchase (others are skipped);
- ts and received_at: event_time (the export is clean, so nothing arrives late);
- session_id: user_session; anonymous_id and user_id: user_id as text;
- ecom: product_id, category_code (null when empty), price in USD, qty 1;
- props: category_id and brand (when present); page_url: the product page
  (the order confirmation page for purchases).

A row that cannot be mapped is skipped and counted by reason; a last line
without a line end that does not parse is the file being cut off.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson

from clickstream.tools.adapters.common import SITE, ImportSummary, Occurrences, stable_id
from clickstream.tools.generate.writer import IsoMs

SOURCE = "rees46"
COLUMNS = (
    "event_time",
    "event_type",
    "product_id",
    "category_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
)
EVENT_TYPES = {"view": "view", "cart": "add_to_cart", "purchase": "purchase"}


class RowError(ValueError):
    """A row that cannot become a contract event; the message is the skip reason."""


def _event(row: list[str], event_id: str, iso_ms: IsoMs) -> tuple[int, dict[str, Any]]:
    """One CSV row -> (ts ms, contract event). Raises RowError with the reason."""
    if len(row) != len(COLUMNS):
        raise RowError(f"expected {len(COLUMNS)} fields")
    event_time, event_type, product_id, category_id, category_code, brand, price, user_id, session = row
    try:
        ts = datetime.strptime(event_time, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    except ValueError as exc:
        raise RowError("invalid event_time") from exc
    if event_type not in EVENT_TYPES:
        raise RowError(f"unsupported event_type {event_type!r}")
    if not product_id:
        raise RowError("missing product_id")
    try:
        amount = Decimal(price)
    except InvalidOperation as exc:
        raise RowError("invalid price") from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise RowError("invalid price")
    if not user_id:
        raise RowError("missing user_id")
    try:
        session_id = str(uuid.UUID(session))
    except ValueError as exc:
        raise RowError("invalid user_session") from exc

    ms = int(ts.timestamp()) * 1000
    props: dict[str, Any] = {"category_id": category_id} if category_id else {}
    if brand:
        props["brand"] = brand
    kind = EVENT_TYPES[event_type]
    page = f"{SITE}/checkout/confirmation" if kind == "purchase" else f"{SITE}/p/{product_id}"
    text = iso_ms(ms)
    return ms, {
        "event_id": event_id,
        "ts": text,
        "received_at": text,
        "event_type": kind,
        "session_id": session_id,
        "anonymous_id": user_id,
        "user_id": user_id,
        "page_url": page,
        "referrer": None,
        "device": {},
        "geo": {},
        "ecom": {
            "product_id": product_id,
            "category": category_code or None,
            "currency": "USD",
            "price": float(amount),
            "qty": 1,
        },
        "props": props,
    }


def convert(path: Path, summary: ImportSummary) -> Iterator[tuple[int, bytes]]:
    """(received ms, JSON line) for every usable row of one REES46 CSV file."""
    summary.files.append(str(path))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if not lines or next(csv.reader([lines[0]])) != list(COLUMNS):
        summary.skip(str(path), 1, "not a REES46 header")
        return
    seen = Occurrences()
    iso_ms = IsoMs()
    for number, raw in enumerate(lines[1:], start=2):
        text = raw.rstrip("\r\n")
        if not text:
            continue
        summary.rows_read += 1
        try:
            ms, event = _event(next(csv.reader([text])), stable_id(SOURCE, seen.identity(text)), iso_ms)
        except RowError as exc:
            cut_off = number == len(lines) and not raw.endswith("\n")
            summary.skip(str(path), number, "cut-off last line" if cut_off else str(exc))
            continue
        yield ms, orjson.dumps(event)
