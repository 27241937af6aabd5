"""YooChoose RecSys Challenge 2015 clicks (TSV: SessionId, ItemId, Time) -> contract events.

Source: the YooChoose click log, 100k preprocessed sample (see data/real/README.md).
There is no user id, price or event type: every row is a product page view.

Mapping:

- event_type: view; ts and received_at: Time (unix seconds, fractional -> ms);
- anonymous_id: ``yoochoose-<SessionId>`` (a session is all we know of a visitor);
- session_id: uuid5 of the SessionId; page_url: ``/p/<ItemId>``; ecom: null.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import orjson

from clickstream.tools.adapters.common import SITE, ImportSummary, Occurrences, stable_id
from clickstream.tools.generate.writer import IsoMs

SOURCE = "yoochoose"
HEADER = ["SessionId", "ItemId", "Time"]


def convert(path: Path, summary: ImportSummary) -> Iterator[tuple[int, bytes]]:
    """(received ms, JSON line) for every usable row of one YooChoose TSV file."""
    summary.files.append(str(path))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n").split("\t") != HEADER:
        summary.skip(str(path), 1, "not a YooChoose header")
        return
    seen = Occurrences()
    iso_ms = IsoMs()
    session_ids: dict[str, str] = {}
    for number, raw in enumerate(lines[1:], start=2):
        text = raw.rstrip("\r\n")
        if not text:
            continue
        summary.rows_read += 1
        fields = text.split("\t")
        reason = None
        if len(fields) != 3 or not fields[0] or not fields[1]:
            reason = "expected 3 fields"
        else:
            try:
                seconds = Decimal(fields[2])
            except InvalidOperation:
                seconds = Decimal("NaN")
            if not seconds.is_finite() or seconds < 0:
                reason = "invalid Time"
        if reason is not None:
            cut_off = number == len(lines) and not raw.endswith("\n")
            summary.skip(str(path), number, "cut-off last line" if cut_off else reason)
            continue
        session, item = fields[0], fields[1]
        ms = int(seconds * 1000)
        ts = iso_ms(ms)
        session_id = session_ids.get(session)
        if session_id is None:
            session_id = session_ids[session] = stable_id(f"{SOURCE}-session", session)
        event: dict[str, object] = {
            "event_id": stable_id(SOURCE, seen.identity(text)),
            "ts": ts,
            "received_at": ts,
            "event_type": "view",
            "session_id": session_id,
            "anonymous_id": f"yoochoose-{session}",
            "user_id": None,
            "page_url": f"{SITE}/p/{item}",
            "referrer": None,
            "device": {},
            "geo": {},
            "ecom": None,
            "props": {},
        }
        yield ms, orjson.dumps(event)
