"""What both adapters share: stable ids, timestamps, the summary, writing the lake."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from clickstream.tools.generate.writer import HOUR_MS, IsoMs, Limits, pack_hour, write_objects

# uuid5 namespace of every id an adapter derives.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://shop.example.com/clickstream/adapters")
SITE = "https://shop.example.com"
MAX_EXAMPLES = 20


_NAMESPACE_BYTES = NAMESPACE.bytes
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def stable_id(source: str, identity: str) -> str:
    """uuid5 of the source name and a row's identity: the same input, the same id.

    Equal to ``str(uuid.uuid5(NAMESPACE, source + "\\x1f" + identity))``, computed
    with hashlib directly because it runs once per row.
    """
    name = f"{source}\x1f{identity}".encode()
    h = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


class Occurrences:
    """How many times a row text has been seen before in one file (identical rows stay distinct)."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def identity(self, row_text: str) -> str:
        n = self._seen[row_text]
        self._seen[row_text] += 1
        return f"{row_text}\x1f{n}"


class SkippedRow(BaseModel):
    file: str
    line: int  # 1-based line number in the file
    reason: str


class ImportSummary(BaseModel):
    """What one import read, wrote and skipped (and why)."""

    source: str
    files: list[str] = Field(default_factory=list)
    rows_read: int = 0  # data rows, header excluded, skipped rows included
    events_written: int = 0
    rows_skipped: dict[str, int] = Field(default_factory=dict)  # reason -> rows
    skipped_examples: list[SkippedRow] = Field(default_factory=list)  # the first few
    objects_written: int = 0
    ts_min: str | None = None
    ts_max: str | None = None

    def skip(self, file: str, line: int, reason: str) -> None:
        self.rows_skipped[reason] = self.rows_skipped.get(reason, 0) + 1
        if len(self.skipped_examples) < MAX_EXAMPLES:
            self.skipped_examples.append(SkippedRow(file=file, line=line, reason=reason))


def write_lake(
    entries: Iterable[tuple[int, bytes]], out_dir: Path, summary: ImportSummary, rng: random.Random
) -> None:
    """Write (received ms, line) pairs as raw lake objects under ``out_dir``, like ingest would."""
    ordered = sorted(entries, key=lambda e: e[0])  # stable: rows with the same time keep file order
    summary.events_written = len(ordered)
    if ordered:
        iso_ms = IsoMs()
        summary.ts_min, summary.ts_max = iso_ms(ordered[0][0]), iso_ms(ordered[-1][0])
    objects: list[tuple[str, bytes]] = []
    start = 0
    while start < len(ordered):
        hour = ordered[start][0] // HOUR_MS
        end = start
        while end < len(ordered) and ordered[end][0] // HOUR_MS == hour:
            end += 1
        objects.extend(pack_hour(hour * HOUR_MS, ordered[start:end], rng, Limits()))
        start = end
    summary.objects_written, _ = write_objects(objects, out_dir)
