"""Load: the CheckStagedBatches, SessionizeAndUpsert and AdvanceWatermark states, three actions.

The logic takes a PostgreSQL connection and a ``Lake`` and returns plain
dicts; it reads no settings. The exactly-once rules (DESIGN.md):

- SessionizeAndUpsert is ONE transaction, serialised across executions by an advisory
  lock: facts, sessions and the daily aggregates (clickstream/pipeline/sessionize.py),
  products, the processed-object manifest, reject and filtered counts and the run's row
  commit together or not at all. A re-run after the commit
  returns the recorded result and changes nothing. An object already in
  ``etl_processed_objects`` (another execution's, or a redelivered batch) is
  skipped, and so is the second copy of an object listed twice in one run.
- Per object ``lines_read = loaded + duplicates + rejected + filtered`` holds exactly
  (``filtered``: the bot and spam lines transform counted, docs/BOTS.md):
  ``loaded`` counts the rows this object actually inserted, ``duplicates`` its
  in-batch duplicates (from transform) plus its staged rows whose event_id was
  already in the warehouse or came first from an earlier batch or object of
  the run (first copy wins in (batch, src) order).
- AdvanceWatermark moves the watermark only for a run whose data committed.

The load path (the fastest of the variants measured with bench/load.py):
staged text is streamed from S3 through gzip into COPY FREEZE of a temp table
(no indexes, ON COMMIT DROP, created by the same transaction); the new rows
are picked by one sort of narrow rows (each event_id's copies numbered by (batch, src), and a probe of the
primary key) and the others deleted by ctid, in place (the temp table, renamed
``stage_new``, is not copied again), and inserted in (anonymous_id, ts) order (bytewise), which keeps the
inserts into the visitor/ts index local and stores a visitor's events together,
so every later read of them by that index (sessionize, the per-visitor
aggregates) touches few pages. The primary key's inserts are random then: for
1M new events the insert takes ~3 s longer than in primary-key order (the
order measured fastest before sql/004 added the visitor index), and apply
gains ~4 s back (bench/upsert_profile.py). Only narrow rows are sorted into
that order (``new_event_sessions``: each new row's ctid, its number in the
order and its session) and the wide rows are fetched by ctid, so ~400 MB of
them are not sorted on disk.
Before the insert, ``sessionize.plan`` gives every new row its session (so no
new row is ever updated); afterwards ``sessionize.apply`` moves the few stored
events whose session changed and replaces the sessions and aggregate rows the
new events touched.

Upsert's statements are in sql/upsert/, numbered in the order it runs them
(those of the other two states in sql/load/).
"""

from __future__ import annotations

import gc
import gzip
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any

import psycopg
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ConnectionError as BotoConnectionError
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clickstream.core import sqlfiles
from clickstream.core.errors import (
    ClickstreamError,
    ContractViolation,
    StagedDataMissing,
    TransientStorageError,
)
from clickstream.core.lake import floor_hour, hour_iso, last_closed_hour
from clickstream.core.observability import logger
from clickstream.core.storage import Lake
from clickstream.pipeline import analyses, reprocess
from clickstream.pipeline import sessionize as sessions
from clickstream.pipeline.bots import RULES_VERSION
from clickstream.pipeline.staged import STAGED_COLUMNS

STAGED = "STAGED"
UPSERTED = "UPSERTED"
SUCCEEDED = "SUCCEEDED"
COMMITTED = (UPSERTED, SUCCEEDED)

# pg_advisory_xact_lock key held by SessionizeAndUpsert: one execution upserts at a time.
UPSERT_LOCK_KEY = 0x636C_6B75_7073
# Waiting longer for another execution's upsert is a TransientDatabaseError (retried), well
# within the Load function's 600 s timeout.
LOCK_TIMEOUT_S = 300
IDLE_TIMEOUT = "120s"
TCP_KEEPALIVES = {"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}
COPY_CHUNK_BYTES = 1 << 20
# work_mem for the rest of the load transaction (set local: every statement after the COPY).
# For 1M new events it keeps the sorts of the sessionize windows and dedupe's narrow sort in
# memory. Of the per-visitor statements' plans, the biggest holds ~300 MB at once (the chains of
# days, sql/functions/30_replace_visitor_days.sql: a 120 MB sort beside hash aggregates of 78, 39,
# 34, 19 and 11 MB; agg_daily_product_visitors' held ~400 MB until its sums of bigints, numeric,
# became integer ones; hash_mem_multiplier 2; EXPLAIN ANALYZE, as bench/upsert_profile.py
# --explain-ms prints them), which a 2 GiB host (t4g.small) running one load at a time can afford.
SORT_WORK_MEM = "256MB"
MAX_DATES = 400  # dates returned in the state's payload (all of them are kept in etl_runs)

# fact_events' columns the load inserts: the staged ones and the receive partition of each row's
# raw object (sql/010; one partition per batch: set as stage_events' default while it is copied).
FACT_COLUMNS: tuple[str, ...] = (*(c for c in STAGED_COLUMNS if c != "src"), "source_partition")


class RunNotUpserted(ClickstreamError):
    """AdvanceWatermark for an execution whose SessionizeAndUpsert has not committed."""


# ----------------------------------------------------------------- staged inputs


class StagedObject(BaseModel):
    """One raw object of a batch manifest, with transform's counts."""

    model_config = ConfigDict(extra="ignore")

    key: str = Field(min_length=1)
    etag: str
    size: int = Field(ge=0)
    partition_hour: datetime
    lines_read: int = Field(ge=0)
    staged: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    rejected: int = Field(ge=0)
    rejects: dict[str, int] = Field(default_factory=dict)
    filtered: int = Field(default=0, ge=0)
    filters: dict[str, dict[str, int]] = Field(default_factory=dict)  # reason -> family -> lines
    quarantined: bool = False


class BatchManifest(BaseModel):
    """``<batch_key>.json``: what transform staged in ``staged_key``."""

    model_config = ConfigDict(extra="ignore")

    execution: str = ""
    batch_key: str
    staged_key: str
    rows: int = Field(ge=0)
    rules_version: str | None = None  # clickstream.pipeline.bots.RULES_VERSION of the transform
    objects: list[StagedObject]


@dataclass(frozen=True)
class Batch:
    ordinal: int  # position in the worklist: earlier batches win duplicate event_ids
    key: str
    manifest: BatchManifest


def read_worklist(lake: Lake, worklist_key: str | None) -> list[str]:
    """The batch keys of a worklist, in order ([] when there is no worklist)."""
    if not worklist_key:
        return []
    worklist = lake.get_json(worklist_key)
    items = worklist.get("items") if isinstance(worklist, dict) else None
    if not isinstance(items, list):
        raise ContractViolation(f"worklist {worklist_key} has no 'items' list")
    keys = []
    for item in items:
        if not isinstance(item, dict) or not item.get("batch_key"):
            raise ContractViolation(f"worklist {worklist_key} has an item without 'batch_key': {item!r}")
        keys.append(str(item["batch_key"]))
    return keys


def _check_manifest(manifest: BatchManifest, where: str) -> None:
    for obj in manifest.objects:
        if obj.lines_read != obj.staged + obj.duplicates + obj.rejected + obj.filtered:
            raise ContractViolation(
                f"{where}: {obj.key} has lines_read {obj.lines_read} != staged {obj.staged} "
                f"+ duplicates {obj.duplicates} + rejected {obj.rejected} + filtered {obj.filtered}"
            )
        by_family = [n for families in obj.filters.values() for n in families.values()]
        if sum(by_family) != obj.filtered or any(n < 0 for n in by_family):
            raise ContractViolation(
                f"{where}: {obj.key} filters {obj.filters} do not add up to {obj.filtered}"
            )
        if sum(obj.rejects.values()) != obj.rejected or any(n < 0 for n in obj.rejects.values()):
            raise ContractViolation(
                f"{where}: {obj.key} rejects {obj.rejects} do not add up to {obj.rejected}"
            )
    if manifest.rows != sum(o.staged for o in manifest.objects):
        raise ContractViolation(f"{where}: rows {manifest.rows} != the sum of its objects' staged rows")


def read_batches(lake: Lake, worklist_key: str | None) -> list[Batch]:
    """Every batch manifest of the worklist, checked; StagedDataMissing if one is not there."""
    batches = []
    for ordinal, batch_key in enumerate(read_worklist(lake, worklist_key)):
        manifest_key = f"{batch_key}.json"
        try:
            manifest = BatchManifest.model_validate(lake.get_json(manifest_key))
        except ValidationError as exc:
            raise ContractViolation(f"batch manifest {manifest_key} is malformed: {exc}") from exc
        _check_manifest(manifest, manifest_key)
        batches.append(Batch(ordinal, batch_key, manifest))
    return batches


def _open_stream(lake: Lake, key: str) -> IO[bytes]:
    """The object's body as a stream, with Lake's error mapping (get_bytes would hold it all)."""
    response = lake._call("get_object", key, Key=key)
    body: IO[bytes] = response["Body"]
    return body


# ----------------------------------------------------------------- runs


def _require_idle(conn: psycopg.Connection[Any]) -> None:
    if conn.info.transaction_status != conn.info.transaction_status.IDLE:
        raise RuntimeError("load needs a connection that is not inside a transaction")


_RUN_COLUMNS = (
    "status",
    "objects",
    "lines_read",
    "loaded",
    "duplicates",
    "rejected",
    "filtered",
    "quarantined",
    "skipped_objects",
    "dates_touched",
    "sessions_replaced",
    "sessions_written",
    "events_resessioned",
)


def _run_row(cur: psycopg.Cursor[Any], execution: str, lock: bool = False) -> dict[str, Any] | None:
    """The run's row in etl_runs as a dict (None before CheckStagedBatches or the upsert recorded it)."""
    query = sql.SQL("select {} from etl_runs where execution_name = %s{}").format(
        sql.SQL(", ").join(map(sql.Identifier, _RUN_COLUMNS)),
        sql.SQL(" for update" if lock else ""),
    )
    row = cur.execute(query, (execution,)).fetchone()
    return dict(zip(_RUN_COLUMNS, row, strict=True)) if row else None


def _payload(counts: dict[str, Any], dates: list[date], replayed: bool) -> dict[str, Any]:
    """The state's result: counts, and the touched dates (bounded: payloads are capped at 256 KB)."""
    ordered = sorted(dates)
    return {
        "objects": int(counts["objects"]),
        "lines_read": int(counts["lines_read"]),
        "loaded": int(counts["loaded"]),
        "duplicates": int(counts["duplicates"]),
        "rejected": int(counts["rejected"]),
        "filtered": int(counts.get("filtered") or 0),
        "quarantined": int(counts["quarantined"]),
        "skipped_objects": int(counts["skipped_objects"]),
        "sessions_replaced": int(counts["sessions_replaced"]),
        "sessions_written": int(counts["sessions_written"]),
        "events_resessioned": int(counts["events_resessioned"]),
        "dates": [d.isoformat() for d in ordered[:MAX_DATES]],
        "dates_truncated": len(ordered) > MAX_DATES,
        "replayed": replayed,
    }


# ----------------------------------------------------------------- CheckStagedBatches


def check_staged_batches(
    conn: psycopg.Connection[Any],
    lake: Lake,
    *,
    execution: str,
    hour: datetime,
    worklist_key: str | None,
) -> dict[str, Any]:
    """Check the staged batches are all there and record the run as STAGED.

    The cheap gate before SessionizeAndUpsert. The sessions themselves are
    computed inside the upsert's transaction (``sessionize.plan`` and ``apply``): they depend on
    what is stored when the lock is held, and must commit with the facts. A
    run that already committed is left as it is.
    """
    _require_idle(conn)
    with conn.transaction(), conn.cursor() as cur:
        recorded = _run_row(cur, execution)
    if recorded is not None and recorded["status"] in COMMITTED:
        return {"status": recorded["status"], "batches": 0, "objects": 0, "rows": 0, "checked": False}

    batches = read_batches(lake, worklist_key)
    for batch in batches:
        if batch.manifest.rows and not lake.exists(batch.manifest.staged_key):
            raise StagedDataMissing(f"staged rows of {batch.key} are missing: {batch.manifest.staged_key}")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            sqlfiles.plain("load/record_staged_run.sql"), (execution, floor_hour(hour), STAGED, STAGED)
        )
        row = cur.fetchone()
    result = {
        "status": row[0] if row else STAGED,
        "batches": len(batches),
        "objects": sum(len(b.manifest.objects) for b in batches),
        "rows": sum(b.manifest.rows for b in batches),
        "checked": True,
    }
    logger.info("staged batches checked", extra={"execution": execution, **result})
    return result


# ----------------------------------------------------------------- SessionizeAndUpsert


@dataclass
class _Planned:
    batch: int
    src: int
    obj: StagedObject
    skip: str | None = None  # why the object is not loaded by this run
    loaded: int = 0

    @property
    def duplicates(self) -> int:
        return self.obj.duplicates + self.obj.staged - self.loaded


def _plan(cur: psycopg.Cursor[Any], batches: list[Batch]) -> list[_Planned]:
    """Every object of the run, the ones not to load marked with the reason."""
    planned = [_Planned(b.ordinal, src, obj) for b in batches for src, obj in enumerate(b.manifest.objects)]
    cur.execute(
        "select object_key, etag, execution_name from etl_processed_objects where object_key = any(%s)",
        ([p.obj.key for p in planned],),
    )
    processed = {key: (etag, by) for key, etag, by in cur.fetchall()}
    seen: set[str] = set()
    for p in planned:
        if p.obj.key in processed:
            etag, by = processed[p.obj.key]
            p.skip = f"already committed by {by}"
            if etag != p.obj.etag:
                logger.warning(
                    "processed object has a new etag", key=p.obj.key, etag=p.obj.etag, committed=etag
                )
        elif p.obj.key in seen:
            p.skip = "listed twice in this run"
        seen.add(p.obj.key)
    return planned


def _copy_batch(cur: psycopg.Cursor[Any], lake: Lake, batch: Batch) -> None:
    """Stream one staged batch (gzipped text COPY) into stage_events, tagged with its ordinal."""
    key = batch.manifest.staged_key
    partitions = {o.partition_hour for o in batch.manifest.objects}
    if len(partitions) > 1:
        raise ContractViolation(f"staged batch {key} holds objects of more than one partition")
    cur.execute(
        sql.SQL("alter table stage_events alter column batch set default {}").format(
            sql.Literal(batch.ordinal)
        )
    )
    cur.execute(
        sql.SQL("alter table stage_events alter column source_partition set default {}").format(
            sql.Literal(next(iter(partitions), None))
        )
    )
    # freeze: stage_events was created in this transaction (01_create_stage.sql), so its rows are
    # written frozen and no later scan checks their visibility one by one
    copy_sql = sql.SQL("copy stage_events ({}) from stdin (freeze)").format(
        sql.SQL(", ").join(map(sql.Identifier, STAGED_COLUMNS))
    )
    body = _open_stream(lake, key)
    try:
        with cur.copy(copy_sql) as copy, gzip.GzipFile(fileobj=body, mode="rb") as unzipped:
            while chunk := unzipped.read(COPY_CHUNK_BYTES):
                copy.write(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ContractViolation(f"staged batch {key} is not a complete gzip stream: {exc}") from exc
    except (BotoConnectionError, BotoCoreError, ConnectionError) as exc:
        raise TransientStorageError(f"reading s3://{lake.bucket}/{key}: {exc}") from exc
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
        raise ContractViolation(f"staged batch {key} does not match the staged format: {exc}") from exc
    finally:
        body.close()


def _check_staged_counts(cur: psycopg.Cursor[Any], planned: list[_Planned], copied: set[int]) -> None:
    """Rows per (batch, src) in stage_events must be exactly what the manifests say."""
    cur.execute("select batch, src, count(*) from stage_events group by batch, src")
    actual = {(b, s): n for b, s, n in cur.fetchall()}
    expected = {(p.batch, p.src): p.obj.staged for p in planned if p.batch in copied}
    for where in sorted(actual.keys() | expected.keys()):
        if actual.get(where, 0) != expected.get(where, 0):
            raise ContractViolation(
                f"batch {where[0]} object {where[1]}: {actual.get(where, 0)} staged rows, "
                f"its manifest says {expected.get(where, 0)}"
            )


# The insert of the new rows (sql/upsert/04_insert_facts.sql): fact_events' staged columns.
_FACT_COLUMNS = sql.SQL(", ").join(map(sql.Identifier, FACT_COLUMNS))
_STAGED_COLUMNS = sql.SQL(",\n    ").join(sql.Identifier("staged", c) for c in FACT_COLUMNS)


def upsert(
    conn: psycopg.Connection[Any],
    lake: Lake,
    *,
    execution: str,
    hour: datetime,
    worklist_key: str | None,
    lock_timeout_s: int = LOCK_TIMEOUT_S,
) -> dict[str, Any]:
    """Load the run's staged batches into the warehouse exactly once, in one transaction.

    Returns {"objects", "lines_read", "loaded", "duplicates", "rejected",
    "quarantined", "skipped_objects", "sessions_replaced", "sessions_written",
    "events_resessioned", "dates", "dates_truncated", "replayed"}: the counts
    of the objects this execution committed and what it did to sessions
    (``replayed`` when it had already committed them and nothing was done
    now). ``dates`` are the dates that got new events or whose aggregates
    were recomputed.
    """
    _require_idle(conn)
    started = clock = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[f"{name}_s"] = round(now - clock, 3)
        clock = now

    with conn.transaction(), conn.cursor() as cur:
        recorded = _run_row(cur, execution)
    if recorded is not None and recorded["status"] in COMMITTED:
        logger.info("upsert already committed: nothing to do", execution=execution)
        return _payload(recorded, recorded["dates_touched"], replayed=True)
    batches = read_batches(lake, worklist_key)  # S3, before the transaction that holds the lock
    rederive = reprocess.read_range(lake, worklist_key)  # a reprocess's partitions, else None
    lap("manifests")

    with conn.transaction(), conn.cursor() as cur:
        # A client that vanishes (a Lambda timeout) must not hold the upsert lock for hours:
        # the server ends a session idle in this transaction, or whose peer stopped answering.
        cur.execute(
            sql.SQL("set local idle_in_transaction_session_timeout = {}").format(sql.Literal(IDLE_TIMEOUT))
        )
        for name, value in TCP_KEEPALIVES.items():
            cur.execute(sql.SQL("set local {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        cur.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout_s)}s")))
        cur.execute("select pg_advisory_xact_lock(%s)", (UPSERT_LOCK_KEY,))
        cur.execute("set local lock_timeout to default")
        lap("lock")
        recorded = _run_row(cur, execution)  # again under the lock: a twin may have committed meanwhile
        if recorded is not None and recorded["status"] in COMMITTED:
            logger.info("upsert committed meanwhile: nothing to do", execution=execution)
            return _payload(recorded, recorded["dates_touched"], replayed=True)
        if rederive is not None:  # clickstream/pipeline/reprocess.py: replace what the partitions gave
            reprocess.clear(cur, *rederive)
            lap("reprocess_clear")

        planned = _plan(cur, batches)
        to_copy = {p.batch for p in planned if p.skip is None and p.obj.staged}
        cur.execute(sql.SQL("set local work_mem = {}").format(sql.Literal(SORT_WORK_MEM)))
        cur.execute(sqlfiles.plain("upsert/01_create_stage.sql"))
        for batch in batches:
            if batch.ordinal in to_copy:
                _copy_batch(cur, lake, batch)
        lap("copy")
        _check_staged_counts(cur, planned, to_copy)
        skipped = [p for p in planned if p.skip is not None and p.batch in to_copy]
        if skipped:
            cur.execute(
                sqlfiles.plain("upsert/02_drop_skipped_objects.sql"),
                ([p.batch for p in skipped], [p.src for p in skipped]),
            )
        # Row estimates for the anti-join's plan; a small sample is enough and costs ~nothing.
        cur.execute("set local default_statistics_target = 10")
        cur.execute("analyze stage_events")
        cur.execute(sqlfiles.plain("upsert/03_new_rows.sql"))
        cur.execute("alter table stage_events rename to stage_new")
        lap("dedupe")
        sessions.plan(cur)
        lap("sessionize")
        cur.execute(
            sqlfiles.query(
                "upsert/04_insert_facts.sql", columns=_FACT_COLUMNS, staged_columns=_STAGED_COLUMNS
            )
        )
        inserted = cur.rowcount
        lap("insert")
        changes = sessions.apply(cur)
        lap("sessions")
        analyses.refresh(cur)  # issue 17's analyses of the visitors whose sessions changed
        lap("analyses")

        by_object: dict[tuple[int, int], int] = defaultdict(int)
        dates: set[date] = set()
        for batch_no, src, event_date, count_loaded in cur.execute(
            sqlfiles.plain("upsert/05_loaded.sql")
        ).fetchall():
            by_object[(batch_no, src)] += count_loaded
            dates.add(event_date)
        seen = sqlfiles.query("upsert/seen_products.sql", events="stage_new")
        newer = sqlfiles.plain("upsert/newer_product_event.sql")
        renamed = sqlfiles.plain("upsert/newer_product_name.sql")
        cur.execute(sqlfiles.query("upsert/06_dim_product.sql", seen=seen, newer=newer, renamed=renamed))
        sessions.apply_categories(cur)  # sql/005's category days follow dim_product
        lap("products")

        committed = [p for p in planned if p.skip is None]
        for p in committed:
            p.loaded = by_object.pop((p.batch, p.src), 0)
        if by_object or sum(p.loaded for p in committed) != inserted:
            raise RuntimeError(
                f"loaded rows do not add up: {inserted} inserted, unassigned {dict(by_object)}"
            )
        dates |= set(changes.dates)
        skipped_count = len(planned) - len(committed)
        counts = _record(cur, execution, hour, committed, skipped_count, sorted(dates), changes)
        if rederive is not None:
            reprocess.record(cur, execution, *rederive)
        lap("record")

    skipped_keys = [(p.obj.key, p.skip) for p in planned if p.skip is not None]
    if skipped_keys:
        logger.info("objects skipped", extra={"count": len(skipped_keys), "first": skipped_keys[:5]})
    result = _payload(counts, sorted(dates), replayed=False)
    rows_per_s = round(inserted / max(time.perf_counter() - started, 1e-9))
    summary = {k: v for k, v in result.items() if k != "dates"}
    logger.info(
        "upsert committed",
        extra={"execution": execution, **summary, "dates": len(dates), "rows_per_s": rows_per_s, **phases},
    )
    return result


def _record(
    cur: psycopg.Cursor[Any],
    execution: str,
    hour: datetime,
    committed: list[_Planned],
    skipped_objects: int,
    dates: list[date],
    changes: sessions.SessionChanges,
) -> dict[str, Any]:
    """The processed-object manifest, reject counts and the run's row, in the load's transaction."""
    gc.disable()  # thousands of small tuples
    try:
        objects = [
            (
                p.obj.key,
                p.obj.etag,
                p.obj.size,
                p.obj.partition_hour,
                execution,
                p.obj.lines_read,
                p.loaded,
                p.duplicates,
                p.obj.rejected,
                p.obj.quarantined,
                p.obj.filtered,
            )
            for p in committed
        ]
        filtered = [
            (p.obj.key, reason, family, n, p.obj.partition_hour)
            for p in committed
            for reason, families in sorted(p.obj.filters.items())
            for family, n in sorted(families.items())
            if n > 0
        ]
        rejects = [
            (p.obj.key, reason, n, p.obj.partition_hour)
            for p in committed
            for reason, n in sorted(p.obj.rejects.items())
            if n > 0
        ]
    finally:
        gc.enable()
    cur.executemany(sqlfiles.plain("upsert/07_processed_objects.sql"), objects)
    cur.executemany(
        "insert into etl_rejects (object_key, reason, count_lines, partition_hour) values (%s, %s, %s, %s)",
        rejects,
    )
    cur.executemany(sqlfiles.plain("upsert/08_filtered.sql"), filtered)
    counts = {
        "objects": len(committed),
        "lines_read": sum(p.obj.lines_read for p in committed),
        "loaded": sum(p.loaded for p in committed),
        "duplicates": sum(p.duplicates for p in committed),
        "rejected": sum(p.obj.rejected for p in committed),
        "filtered": sum(p.obj.filtered for p in committed),
        "quarantined": sum(p.obj.quarantined for p in committed),
        "skipped_objects": skipped_objects,
        "sessions_replaced": changes.sessions_replaced,
        "sessions_written": changes.sessions_written,
        "events_resessioned": changes.events_resessioned,
    }
    accounted = counts["loaded"] + counts["duplicates"] + counts["rejected"] + counts["filtered"]
    if counts["lines_read"] != accounted:
        raise RuntimeError(f"counts do not reconcile: {counts}")
    cur.execute(
        sqlfiles.plain("upsert/09_record_run.sql"),
        {
            "execution": execution,
            "hour": floor_hour(hour),
            "status": UPSERTED,
            "dates": dates,
            "rules_version": RULES_VERSION,
            **counts,
        },
    )
    return counts


# ----------------------------------------------------------------- AdvanceWatermark


def advance_watermark(
    conn: psycopg.Connection[Any],
    *,
    execution: str,
    hour: datetime | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move the watermark to greatest(current, hour) and mark the run SUCCEEDED, in one transaction.

    RunNotUpserted unless the run's SessionizeAndUpsert committed. ``hour`` None leaves the
    watermark where it is (a run that could not list every partition up to its
    hour) but still marks the run. The watermark never passes the last closed
    hour, whatever ``hour`` says (ListNew refuses an open hour already; this is
    the last line). Returns {"watermark": ISO or None,
    "freshness_minutes": minutes from the end of the watermark hour to now}.
    """
    if hour is not None:
        hour = min(floor_hour(hour), last_closed_hour(now))
    _require_idle(conn)
    with conn.transaction(), conn.cursor() as cur:
        run = _run_row(cur, execution, lock=True)
        if run is None or run["status"] not in COMMITTED:
            status = run["status"] if run else "no run recorded"
            raise RunNotUpserted(
                f"the watermark moves only after the data is committed: {execution} is {status}"
            )
        if hour is not None:
            cur.execute(
                sqlfiles.plain("load/advance_watermark.sql"),
                {"hour": floor_hour(hour), "execution": execution},
            )
        cur.execute(
            """
            update etl_runs
            set
                status = %s,
                finished_at = coalesce(finished_at, now())
            where execution_name = %s
            """,
            (SUCCEEDED, execution),
        )
        cur.execute("select watermark_hour from etl_watermark")
        row = cur.fetchone()
    watermark: datetime | None = row[0] if row else None
    freshness = None
    if watermark is not None:
        end = watermark + timedelta(hours=1)
        freshness = round(((now or datetime.now(UTC)) - end).total_seconds() / 60, 1)
    result = {"watermark": hour_iso(watermark) if watermark else None, "freshness_minutes": freshness}
    logger.info("watermark advanced", extra={"execution": execution, **result})
    return result
