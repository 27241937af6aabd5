"""What the lake holds beside what the warehouse committed: waiting, rejected and quarantined objects.

Shared by ``clickstream status``, ``run``, ``execution``, ``rejects`` and the
Reliability page, so they all count the same things:

- **waiting**: raw objects no execution has committed (not in
  ``etl_processed_objects``), by receive partition, each partition with who
  will take it: ``open`` (the hour has not ended; its own run takes it),
  ``next run`` (the next scheduled run lists it: after the watermark, or within
  ListNew's lookback before it) or ``late`` (before the lookback: no scheduled
  run lists it again; ``clickstream run --hour H --rerun`` takes it);
- **rejects**: per raw object, its rejected lines by reason and where they
  are (``rejects/<partition>/<name>.rejects.ndjson.gz``), and for a corrupt
  object its quarantined copy (``....quarantined.gz``).

Warehouse reads go through a ``Fetch`` (a statement and its parameters in,
rows as dicts out): a psycopg connection for the command line
(``connection_fetch``), the dashboards' read-only ``Database.records`` for
the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clickstream.core import lake as layout
from clickstream.core import sqlfiles
from clickstream.core.storage import Lake

Fetch = Callable[[str, dict[str, Any]], list[dict[str, Any]]]

OPEN, NEXT_RUN, LATE = "open", "next run", "late"
LISTING_CAP = 500_000  # raw objects listed at most by one look (LIST requests: one per 1,000)
KEYS_KEPT = 5  # keys named per waiting partition


def connection_fetch(conn: Any) -> Fetch:
    """A Fetch over one psycopg connection."""

    def fetch(query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cursor = conn.execute(query, params)
        columns = [c.name for c in cursor.description or []]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    return fetch


# ----------------------------------------------------------------- waiting objects


@dataclass(frozen=True)
class WaitingPartition:
    hour: datetime
    objects: int
    size: int
    keys: tuple[str, ...]  # the first KEYS_KEPT
    taken_by: str  # OPEN, NEXT_RUN or LATE

    @property
    def label(self) -> str:
        return layout.hour_label(self.hour)


@dataclass
class Waiting:
    partitions: list[WaitingPartition] = field(default_factory=list)
    capped: bool = False  # the listing stopped at LISTING_CAP objects

    @property
    def objects(self) -> int:
        return sum(p.objects for p in self.partitions)

    @property
    def late(self) -> list[WaitingPartition]:
        return [p for p in self.partitions if p.taken_by == LATE]

    def take_command(self) -> str | None:
        """The one command that takes every late object (None when nothing is late)."""
        late = self.late
        return f"clickstream run --hour {late[-1].label} --rerun" if late else None


def taken_by(
    partition: datetime, watermark: datetime | None, lookback_hours: int, now: datetime | None = None
) -> str:
    """Who takes a waiting object of this partition (ListNew's window, see clickstream.pipeline.listing)."""
    if partition > layout.last_closed_hour(now):
        return OPEN
    if watermark is None or partition >= layout.floor_hour(watermark) - timedelta(hours=lookback_hours):
        return NEXT_RUN
    return LATE


def processed_keys(fetch: Fetch, first: datetime | None, last: datetime | None) -> set[str]:
    rows = fetch(
        "select object_key from etl_processed_objects"
        " where (%(first)s::timestamptz is null or partition_hour >= %(first)s)"
        " and (%(last)s::timestamptz is null or partition_hour <= %(last)s)",
        {"first": first, "last": last},
    )
    return {r["object_key"] for r in rows}


def waiting(
    lake: Lake,
    fetch: Fetch,
    *,
    watermark: datetime | None,
    lookback_hours: int,
    first: datetime | None = None,
    last: datetime | None = None,
    now: datetime | None = None,
    cap: int = LISTING_CAP,
) -> Waiting:
    """Raw objects of the partitions from first to last (None: no bound) that no execution committed."""
    start_after = layout.partition_prefix(first) if first is not None else ""
    done = processed_keys(fetch, first, last)
    found: dict[datetime, list[tuple[str, int]]] = {}
    listed, capped = 0, False
    for obj in lake.list(layout.RAW, start_after=start_after):
        try:
            hour = layout.partition_hour(obj.key)
        except ValueError:
            continue  # not in the layout: no execution would ever list it
        if last is not None and hour > last:
            break
        listed += 1
        if listed > cap:
            capped = True
            break
        if obj.key not in done:
            found.setdefault(hour, []).append((obj.key, obj.size))
    partitions = [
        WaitingPartition(
            hour=hour,
            objects=len(objects),
            size=sum(size for _, size in objects),
            keys=tuple(key for key, _ in objects[:KEYS_KEPT]),
            taken_by=taken_by(hour, watermark, lookback_hours, now),
        )
        for hour, objects in sorted(found.items())
    ]
    return Waiting(partitions, capped)


def read_watermark(fetch: Fetch) -> dict[str, Any] | None:
    """The etl_watermark row ({watermark_hour, execution_name, updated_at}), None before any run."""
    rows = fetch("select watermark_hour, execution_name, updated_at from etl_watermark", {})
    return rows[0] if rows else None


def freshness(watermark_hour: datetime | None, now: datetime | None = None) -> timedelta | None:
    """now - the end of the watermark hour (None before any run)."""
    if watermark_hour is None:
        return None
    return max((now or datetime.now(UTC)) - (watermark_hour + timedelta(hours=1)), timedelta(0))


# ----------------------------------------------------------------- rejects and quarantined copies


@dataclass(frozen=True)
class RejectObject:
    raw_key: str
    partition_hour: datetime
    execution: str
    lines_read: int
    rejected: int
    reasons: dict[str, int]
    quarantined: bool

    @property
    def rejects_key(self) -> str:
        return layout.rejects_key(self.raw_key)

    @property
    def quarantine_key(self) -> str | None:
        return layout.quarantine_key(self.raw_key) if self.quarantined else None


def reject_objects(
    fetch: Fetch,
    *,
    first: datetime | None = None,
    last: datetime | None = None,
    execution: str | None = None,
) -> list[RejectObject]:
    """Committed raw objects with rejected lines or a quarantined copy, by partition."""
    rows = fetch(
        sqlfiles.text("ops/reject_objects.sql"), {"first": first, "last": last, "execution": execution}
    )
    return [
        RejectObject(
            raw_key=r["object_key"],
            partition_hour=r["partition_hour"],
            execution=r["execution_name"],
            lines_read=int(r["lines_read"]),
            rejected=int(r["rejected"]),
            reasons={str(k): int(v) for k, v in (r["reasons"] or {}).items()},
            quarantined=bool(r["is_quarantined"]),
        )
        for r in rows
    ]


def reasons_of(objects: list[RejectObject]) -> dict[str, int]:
    """Rejected lines by reason, most first."""
    totals: dict[str, int] = {}
    for obj in objects:
        for reason, n in obj.reasons.items():
            totals[reason] = totals.get(reason, 0) + n
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def rejects_by_reason(fetch: Fetch) -> dict[str, tuple[int, int]]:
    """reason -> (lines, objects) over everything committed."""
    rows = fetch(sqlfiles.text("ops/rejects_by_reason.sql"), {})
    return {r["reason"]: (int(r["lines"]), int(r["objects"])) for r in rows}


def counted(reasons: dict[str, int]) -> str:
    """'invalid_json 100, missing_field 4'."""
    return ", ".join(f"{reason} {n:,}" for reason, n in reasons.items())
