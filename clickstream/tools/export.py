"""``clickstream export``: events and sessions of a date range, streamed to CSV or Parquet.

Rows come from PostgreSQL through a server-side (named) cursor, ``chunk_rows`` at a
time; each chunk becomes one Arrow record batch that pyarrow's writer appends to the
file (a Parquet row group, or CSV lines), so memory holds one chunk whatever the range.
The columns are those of ``sql/export/events.sql`` and ``sql/export/sessions.sql``:
the warehouse's human traffic (bots never reach it) in the dashboards' slices.

A file is written as ``NAME.part`` beside its target and renamed when complete, so a
failed or interrupted export leaves no half file under the final name.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg

from clickstream.core import sqlfiles
from clickstream.core.errors import ClickstreamError

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
TABLES = ("events", "sessions")
DEFAULT_CHUNK_ROWS = 10_000


def _query(table: str) -> Any:
    """The table's export statement (its columns are the export's)."""
    if table == "events":
        return sqlfiles.plain("export/events.sql")
    return sqlfiles.plain("export/sessions.sql")


# How many rows an export of the table will write (the progress bar's total).
COUNTS = {
    "events": "select count(*) from fact_events where event_date between %(date_from)s and %(date_to)s",
    "sessions": "select count(*) from fact_sessions where session_date between %(date_from)s and %(date_to)s",
}


class ExportError(ClickstreamError):
    """The export cannot run as asked (dates, target path, format): the message says why."""


@dataclass
class TableExport:
    """What one table's export wrote."""

    table: str
    path: Path
    rows: int = 0
    chunks: int = 0
    max_chunk_rows: int = 0
    chunk_sizes: list[int] = field(default_factory=list)


def require_pyarrow() -> None:
    """The writers come from pyarrow (the ``local`` extra); say how to get it when it is missing."""
    try:
        import pyarrow  # noqa: F401
    except ModuleNotFoundError:
        raise ExportError(
            "the CSV and Parquet writers need pyarrow: pip install -e '.[local]' (make install does)"
        ) from None


def parse_date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExportError(
            f"{option} {text!r} is not a date: write YYYY-MM-DD (UTC), e.g. 2025-10-13"
        ) from None


def check_range(date_from: dt.date, date_to: dt.date) -> None:
    if date_to < date_from:
        raise ExportError(f"--to {date_to} is before --from {date_from}: the range is inclusive, from <= to")


def targets(out: Path, tables: Sequence[str], fmt: Format | None) -> tuple[Format, dict[str, Path]]:
    """The format and each table's file.

    ``out`` is a file when it ends in .csv or .parquet (one table only), else a directory
    that receives ``<table>.<format>`` per table (created if missing).
    """
    unknown = [t for t in tables if t not in TABLES]
    if unknown or not tables:
        raise ExportError(f"unknown table {', '.join(unknown) or '(none)'}: choose from {', '.join(TABLES)}")
    suffix = out.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        if fmt is not None and fmt != suffix:
            raise ExportError(f"--format {fmt} but {out} ends in .{suffix}: make them agree")
        if len(tables) != 1:
            raise ExportError(
                f"{out} is one file but {len(tables)} tables were asked for: give a directory, "
                "or one table with --tables"
            )
        return ("csv" if suffix == "csv" else "parquet"), {tables[0]: out}
    chosen: Format = fmt or "csv"
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory: give a directory, or a .csv/.parquet file")
    return chosen, {t: out / f"{t}.{chosen}" for t in tables}


def check_writable(paths: Sequence[Path], overwrite: bool) -> None:
    """Refuse before reading anything: an existing file (without overwrite), an unwritable folder."""
    for path in paths:
        if path.exists() and not overwrite:
            raise ExportError(f"{path} exists: remove it, choose another --out, or pass --force")
        if path.exists() and path.is_dir():
            raise ExportError(f"{path} is a directory, not a file")
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ExportError(f"cannot write to {folder}: permission denied")


def _arrow_type(oid: int, scale: int | None) -> Any:
    import pyarrow as pa

    types: dict[int, Any] = {
        16: pa.bool_(),
        20: pa.int64(),
        21: pa.int16(),
        23: pa.int32(),
        25: pa.string(),
        701: pa.float64(),
        1082: pa.date32(),
        1184: pa.timestamp("us", tz="UTC"),
    }
    if oid == 1700:  # numeric: money, exact
        return pa.decimal128(18, scale if scale is not None else 2)
    return types.get(oid, pa.string())


def _schema(description: Sequence[Any]) -> Any:
    import pyarrow as pa

    return pa.schema([pa.field(c.name, _arrow_type(c.type_code, c.scale)) for c in description])


def _writer(path: Path, fmt: Format, schema: Any) -> Any:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema, compression="zstd")
    import pyarrow.csv as pacsv

    return pacsv.CSVWriter(path, schema)


def stream_rows(
    conn: psycopg.Connection[Any], table: str, date_from: dt.date, date_to: dt.date, chunk_rows: int
) -> Iterator[tuple[Sequence[Any], list[tuple[Any, ...]]]]:
    """(columns, rows) chunks of at most ``chunk_rows`` rows, from a server-side cursor."""
    params = {"date_from": date_from, "date_to": date_to}
    with conn.transaction(), conn.cursor(name=f"export_{table}") as cur:
        cur.itersize = chunk_rows
        cur.execute(_query(table), params)
        while True:
            rows = cur.fetchmany(chunk_rows)
            if not rows:
                return
            assert cur.description is not None
            yield cur.description, rows


def count_rows(conn: psycopg.Connection[Any], table: str, date_from: dt.date, date_to: dt.date) -> int:
    row = conn.execute(COUNTS[table], {"date_from": date_from, "date_to": date_to}).fetchone()
    return int(row[0]) if row else 0


def export_table(
    conn: psycopg.Connection[Any],
    table: str,
    path: Path,
    fmt: Format,
    date_from: dt.date,
    date_to: dt.date,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_chunk: Callable[[int], None] | None = None,
) -> TableExport:
    """Stream one table's rows of the range into ``path``; returns what was written."""
    import pyarrow as pa

    result = TableExport(table, path)
    part = path.with_name(path.name + ".part")
    writer: Any = None
    schema: Any = None
    try:
        for description, rows in stream_rows(conn, table, date_from, date_to, chunk_rows):
            if schema is None:
                schema = _schema(description)
                writer = _writer(part, fmt, schema)
            columns = list(zip(*rows, strict=True))
            batch = pa.record_batch(
                [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
            )
            writer.write_batch(batch)
            result.rows += len(rows)
            result.chunks += 1
            result.chunk_sizes.append(len(rows))
            result.max_chunk_rows = max(result.max_chunk_rows, len(rows))
            if on_chunk is not None:
                on_chunk(len(rows))
        if writer is None:  # no rows: still a file with the columns
            schema = _empty_schema(conn, table)
            writer = _writer(part, fmt, schema)
        writer.close()
        writer = None
        part.replace(path)
    finally:
        if writer is not None:
            writer.close()
        part.unlink(missing_ok=True)
    return result


def _empty_schema(conn: psycopg.Connection[Any], table: str) -> Any:
    """The columns of an export with no rows (the query's description, nothing fetched)."""
    never = {"date_from": dt.date(1, 1, 2), "date_to": dt.date(1, 1, 1)}
    with conn.cursor() as cur:
        cur.execute(_query(table), never)
        assert cur.description is not None
        return _schema(cur.description)
