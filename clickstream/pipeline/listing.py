"""ListNew: which raw objects this execution processes, as bounded work items.

An execution for hour H processes the receive partition H and everything
received before it that is not processed yet. It lists the partitions from
``min(watermark, H) - lookback`` up to H (every partition when there is no
watermark yet), drops the objects the manifest already holds, and cuts the
rest into work items of at most ``max_objects_per_item`` objects and
``max_bytes_per_item`` bytes, one partition per item. The object lists go to
S3 work files; the state machine only carries small references, so a
payload stays far below Step Functions' 256 KB whatever the hour holds.

An hour that has not ended yet is refused (``HourNotClosed``, not retried:
the execution fails and says so), whoever started it: its partition may
still receive objects, and the watermark must never pass the last closed hour.

If a backlog needs more than ``max_items`` items, or more raw bytes than
``max_total_bytes`` (the work one execution's SessionizeAndUpsert does within
the load function's timeout, clickstream/core/limits.py), whole partitions are
taken in order up to the cap and ``watermark_to`` stops before the first
partition left out, so the watermark never passes unprocessed data; the
result says what is left (``left_objects``, ``left_bytes``) and the
execution starts its continuation at its end, which takes the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clickstream.core import lake as layout
from clickstream.core.storage import Lake, ObjectInfo

MAX_ITEMS = 400


@dataclass(frozen=True, slots=True)
class WorkItem:
    partition_hour: datetime
    objects: tuple[ObjectInfo, ...]


def plan_items(
    objects: Iterable[ObjectInfo],
    max_objects: int,
    max_bytes: int,
    max_items: int = MAX_ITEMS,
    max_total_bytes: int | None = None,
) -> tuple[list[WorkItem], datetime | None]:
    """Cut objects (in key order) into items; return them and the last complete partition.

    The second value is the latest partition hour whose objects are all in
    the items, or None when the cap cut into the very first partition.
    ``max_total_bytes`` caps the bytes of all items (whole partitions; a first
    partition bigger than the cap is cut: at least one item is always taken).
    """
    by_partition: dict[datetime, list[ObjectInfo]] = {}
    for obj in objects:
        by_partition.setdefault(layout.partition_hour(obj.key), []).append(obj)

    items: list[WorkItem] = []
    complete: datetime | None = None
    for hour in sorted(by_partition):
        slices: list[WorkItem] = []
        current: list[ObjectInfo] = []
        size = 0
        for obj in by_partition[hour]:
            if current and (len(current) >= max_objects or size + obj.size > max_bytes):
                slices.append(WorkItem(hour, tuple(current)))
                current, size = [], 0
            current.append(obj)
            size += obj.size
        if current:
            slices.append(WorkItem(hour, tuple(current)))
        size_before = sum(o.size for i in items for o in i.objects)
        size_here = sum(o.size for o in by_partition[hour])
        over_budget = max_total_bytes is not None and size_before + size_here > max_total_bytes
        if len(items) + len(slices) > max_items or (over_budget and items):
            if not items:  # one huge partition: take what fits, the rest comes next time
                items.extend(slices[:max_items])
            return items, complete
        if over_budget:  # the first partition alone is over the budget: the slices that fit it
            taken = 0
            for piece in slices:
                piece_size = sum(o.size for o in piece.objects)
                if items and taken + piece_size > (max_total_bytes or 0):
                    break
                items.append(piece)
                taken += piece_size
            return items, complete if len(items) < len(slices) else hour
        items.extend(slices)
        complete = hour
    return items, complete


def read_watermark(conn: Any) -> datetime | None:
    with conn.cursor() as cur:
        cur.execute("select watermark_hour from etl_watermark")
        row = cur.fetchone()
    return row[0] if row else None


def read_processed(conn: Any, first: datetime | None, hour: datetime) -> set[str]:
    """Keys of processed objects in the partitions from first (or the beginning) to hour."""
    with conn.cursor() as cur:
        cur.execute(
            """
            select object_key
            from etl_processed_objects
            where partition_hour <= %(hour)s
              and (%(first)s::timestamptz is null or partition_hour >= %(first)s)
            """,
            {"first": first, "hour": hour},
        )
        return {r[0] for r in cur.fetchall()}


def write_worklist(
    lake: Lake, execution: str, hour: datetime, items: list[WorkItem], **extra: Any
) -> tuple[list[dict[str, Any]], str]:
    """One work file per item and the worklist naming them all (``extra`` beside its items).

    Returns the items' references (work and batch keys, partition hour, object count) and the
    worklist's key, both under the execution's staged prefix.
    """
    prefix = layout.staged_prefix(execution)
    refs = []
    for index, item in enumerate(items):
        work_key = f"{prefix}work/{index:05d}.json"
        lake.put_json(
            work_key,
            {
                "execution": execution,
                "partition_hour": layout.hour_iso(item.partition_hour),
                "objects": [o.as_dict() for o in item.objects],
            },
        )
        refs.append(
            {
                "work_key": work_key,
                "batch_key": f"{prefix}batches/{index:05d}",
                "partition_hour": layout.hour_iso(item.partition_hour),
                "objects": len(item.objects),
            }
        )
    worklist_key = f"{prefix}worklist.json"
    lake.put_json(
        worklist_key, {"execution": execution, "hour": layout.hour_iso(hour), "items": refs, **extra}
    )
    return refs, worklist_key


def list_new(
    lake: Lake,
    conn: Any,
    hour: datetime,
    execution: str,
    lookback_hours: int,
    max_objects: int,
    max_bytes: int,
    since: datetime | None = None,
    max_items: int = MAX_ITEMS,
    now: datetime | None = None,
    max_total_bytes: int | None = None,
) -> dict[str, Any]:
    """List, plan, write the work files and the worklist; return the state's small result.

    HourNotClosed, before anything is listed, if ``hour`` has not ended at ``now``.
    """
    hour = layout.require_closed(hour, now)
    watermark = read_watermark(conn)
    if since is not None:
        first: datetime | None = layout.floor_hour(since)
    elif watermark is not None:
        first = min(layout.floor_hour(watermark), hour) - timedelta(hours=lookback_hours)
    else:
        first = None  # first run: every partition up to the hour

    if first is None:
        candidates = [o for o in lake.list(layout.RAW) if layout.partition_hour(o.key) <= hour]
    else:
        candidates = []
        for h in layout.hours_between(first, hour):
            candidates.extend(lake.list(layout.partition_prefix(h)))
    processed_keys = read_processed(conn, first, hour)
    new = [o for o in candidates if o.key not in processed_keys]

    items, complete = plan_items(new, max_objects, max_bytes, max_items, max_total_bytes)
    taken = {o.key for i in items for o in i.objects}
    left = [o for o in new if o.key not in taken]
    truncated = bool(left)
    # None: the watermark must not move (nothing before the cut was complete).
    watermark_to = hour if not truncated else complete

    refs, worklist_key = write_worklist(lake, execution, hour, items)
    return {
        "hour": layout.hour_iso(hour),
        "items": refs,
        "worklist": worklist_key,
        "objects": sum(r["objects"] for r in refs),
        "partitions": len({r["partition_hour"] for r in refs}),
        "listed_from": layout.hour_iso(first) if first else None,
        "watermark": layout.hour_iso(watermark) if watermark else None,
        "watermark_to": layout.hour_iso(watermark_to) if watermark_to else None,
        "truncated": truncated,
        "bytes": sum(o.size for i in items for o in i.objects),
        "left_objects": len(left),
        "left_bytes": sum(o.size for o in left),
        "reprocess": None,  # an hourly run (clickstream/pipeline/reprocess.py lists a reprocess)
    }
