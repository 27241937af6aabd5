"""Reprocess: re-derive the warehouse from the raw lake under the current rules.

``clickstream reprocess`` starts executions of the one state machine with a
``reprocess`` option in their input (``{"first": H1 | null, "last": H2}``, receive
partitions, ``first`` null meaning from the beginning). The states are the usual
ones; two of them act differently:

- **ListNew** (``list_range``) lists every raw object of the partitions from
  ``first`` to ``last``, processed or not, instead of what is new since the
  watermark; it takes whole partitions in order up to one execution's budget
  (clickstream/core/limits.py) and names the first partition it left
  (``reprocess.next``), which the command's next execution starts from. The
  worklist it writes carries the partitions it took (``reprocess``), so the
  load reads them from there and the state machine's parameters stay as they are.
  It never moves the watermark (``watermark_to`` null) and never starts a
  continuation (``truncated`` false).
- **SessionizeAndUpsert**, in its one transaction and under its lock, before it
  plans the run's objects (``clear``): removes the manifest rows (processed
  objects, rejects, filtered counts) of those partitions and the facts they
  contributed (``fact_events.source_partition``, sql/010), then every table
  derived from the facts; the facts that stay lose their session and
  dim_product is rebuilt from them. The usual load then runs: the run's objects
  are new again, their rows are deduplicated against the facts that stay, and
  every visitor is sessionized from scratch (the facts that stay are seeds, as
  in sql/004), so sessions and every aggregate are recomputed from the facts.
  All of it commits together, or nothing does: a crash or a failed state
  leaves the warehouse as it was, and running the reprocess again gives the
  same warehouse.

The cost is that of loading the whole warehouse once (every session and aggregate is
recomputed), whatever the range: a reprocess fits one load task while the warehouse
holds what an upsert does within half the load function's timeout (docs/BOTS.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg import Cursor

from clickstream.core import lake as layout
from clickstream.core import sqlfiles
from clickstream.core.errors import ContractViolation
from clickstream.core.storage import Lake, ObjectInfo
from clickstream.pipeline.listing import MAX_ITEMS, WorkItem, plan_items, write_worklist


def _day_prefix(hour: datetime) -> str:
    """``raw/year=YYYY/month=MM/day=DD/``: one listing per day of the range."""
    prefix = layout.partition_prefix(hour)
    return prefix[: prefix.index("hour=")]


def list_objects(lake: Lake, first: datetime | None, last: datetime) -> list[ObjectInfo]:
    """Every raw object of the partitions from ``first`` (None: the first there is) to ``last``."""
    if first is None:
        found = [o for o in lake.list(layout.RAW) if layout.partition_hour(o.key) <= last]
    else:
        found = []
        day = first.replace(hour=0)
        while day <= last:
            found.extend(
                o for o in lake.list(_day_prefix(day)) if first <= layout.partition_hour(o.key) <= last
            )
            day += timedelta(days=1)
    return sorted(found, key=lambda o: o.key)


def take_partitions(
    objects: list[ObjectInfo],
    max_objects: int,
    max_bytes: int,
    max_total_bytes: int | None,
    max_items: int = MAX_ITEMS,
) -> tuple[list[WorkItem], datetime | None]:
    """Whole partitions in order while they fit the budget (at least one); the work items and
    the first partition left out (None: all of them were taken).

    ContractViolation when one partition alone needs more work items than an execution may have.
    """
    by_partition: dict[datetime, list[ObjectInfo]] = {}
    for obj in objects:
        by_partition.setdefault(layout.partition_hour(obj.key), []).append(obj)
    items: list[WorkItem] = []
    size = 0
    for hour in sorted(by_partition):
        part = by_partition[hour]
        part_items, complete = plan_items(part, max_objects, max_bytes, max_items=max_items)
        if complete != hour:
            raise ContractViolation(
                f"partition {layout.hour_label(hour)} needs more than {max_items} work items: "
                "it cannot be reprocessed in one execution (raise MAX_BYTES_PER_ITEM)"
            )
        part_size = sum(o.size for o in part)
        over = max_total_bytes is not None and size + part_size > max_total_bytes
        if items and (over or len(items) + len(part_items) > max_items):
            return items, hour
        items.extend(part_items)
        size += part_size
    return items, None


def list_range(
    lake: Lake,
    *,
    execution: str,
    first: datetime | None,
    last: datetime,
    max_objects: int,
    max_bytes: int,
    max_total_bytes: int | None = None,
    max_items: int = MAX_ITEMS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """ListNew for a reprocess: write the work files and the worklist, return ListNewResult's dict.

    HourNotClosed when ``last`` has not ended; ValueError when ``first`` is after ``last``.
    """
    last = layout.require_closed(last, now)
    if first is not None and first > last:
        raise ContractViolation(
            f"reprocess: first {layout.hour_label(first)} is after last {layout.hour_label(last)}"
        )
    objects = list_objects(lake, first, last)
    items, left_from = take_partitions(objects, max_objects, max_bytes, max_total_bytes, max_items)
    taken_last = left_from - timedelta(hours=1) if left_from is not None else last
    spec = {
        "first": layout.hour_iso(first) if first is not None else None,
        "last": layout.hour_iso(taken_last),
        "next": layout.hour_iso(left_from) if left_from is not None else None,
    }
    refs, worklist_key = write_worklist(lake, execution, last, items, reprocess=spec)
    taken = [o for i in items for o in i.objects]
    left = [o for o in objects if left_from is not None and layout.partition_hour(o.key) >= left_from]
    return {
        "hour": layout.hour_iso(last),
        "items": refs,
        "worklist": worklist_key,
        "objects": len(taken),
        "partitions": len({r["partition_hour"] for r in refs}),
        "listed_from": spec["first"],
        "watermark": None,
        "watermark_to": None,  # a reprocess never moves the watermark
        "truncated": False,  # nor starts an hourly continuation: the command starts the next part
        "bytes": sum(o.size for o in taken),
        "left_objects": len(left),
        "left_bytes": sum(o.size for o in left),
        "reprocess": spec,
    }


def read_range(lake: Lake, worklist_key: str | None) -> tuple[datetime | None, datetime] | None:
    """(first, last) re-derived by the run of this worklist; None for an hourly run."""
    if not worklist_key:
        return None
    worklist = lake.get_json(worklist_key)
    spec = worklist.get("reprocess") if isinstance(worklist, dict) else None
    if spec is None:
        return None
    try:
        first = layout.parse_hour(spec["first"]) if spec.get("first") else None
        return first, layout.parse_hour(spec["last"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ContractViolation(f"worklist {worklist_key} has a malformed 'reprocess': {spec!r}") from exc


def clear(cur: Cursor[Any], first: datetime | None, last: datetime) -> int:
    """Inside SessionizeAndUpsert's transaction, under its lock: remove what the partitions
    contributed and everything derived from the facts (module docstring). Returns the facts removed."""
    params = {"first": first, "last": last}
    cur.execute(sqlfiles.plain("reprocess/01_clear_manifest.sql"), params)
    cur.execute(sqlfiles.plain("reprocess/02_clear_facts.sql"), params)
    removed = cur.rowcount
    cur.execute(sqlfiles.plain("reprocess/03_clear_derived.sql"))
    cur.execute(sqlfiles.plain("reprocess/04_unsessionize_facts.sql"))
    seen = sqlfiles.query("upsert/seen_products.sql", events="fact_events")
    cur.execute(sqlfiles.query("reprocess/05_dim_product.sql", seen=seen))
    return removed


def record(cur: Cursor[Any], execution: str, first: datetime | None, last: datetime) -> None:
    """After the load, in its transaction: the tables the load keeps by deltas are rebuilt from the
    facts (sql/011's list counts: their deltas assume stored sessions, which the reprocess removed),
    and the run's row says which partitions it re-derived."""
    cur.execute("select rebuild_product_lists()")
    cur.execute(
        sqlfiles.plain("reprocess/06_record_run.sql"), {"execution": execution, "first": first, "last": last}
    )
