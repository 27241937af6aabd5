"""SQL statements kept in .sql files, loaded by name and filled in safely.

Every statement longer than a few lines lives in a file under ``sql/`` (the
pipeline's, e.g. ``sql/upsert/03_new_rows.sql``) or ``shiny/sql/`` (the
dashboards'). Slots are written ``{name}`` in the file; a string value fills
its slot as an identifier (``psycopg.sql.Identifier``: a table or column
name, quoted), any ``psycopg.sql.Composable`` (``sql.Literal``,
``sql.SQL`` of another statement) is used as it is. Literal braces in the SQL
are written ``{{`` and ``}}``; psycopg's ``%s`` / ``%(name)s`` parameters are
untouched, so values still travel as parameters.

    cur.execute(sqlfiles.query("sessionize/15_remove_visitor_aggregates.sql",
                               table="agg_daily_visitors", date_column="activity_date"))

The files are read once per process (the Lambda's cold start, a worker's first
call) and cached.
"""

from __future__ import annotations

import functools
from pathlib import Path

from psycopg import sql

# sql/ beside the package: the repository's root locally, python/ in the Lambda layer.
SQL_ROOT = Path(__file__).resolve().parents[2] / "sql"


@functools.cache
def text(name: str, root: Path = SQL_ROOT) -> str:
    """The file ``root/name`` as text (comments included), read once."""
    path = root / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"no SQL file {name} under {root}") from None


def query(name: str, root: Path = SQL_ROOT, **slots: str | sql.Composable) -> sql.Composed:
    """The statement in ``root/name`` with its ``{slot}`` placeholders filled (strings as identifiers)."""
    values = {key: sql.Identifier(value) if isinstance(value, str) else value for key, value in slots.items()}
    return sql.SQL(text(name, root)).format(**values)


def plain(name: str, root: Path = SQL_ROOT) -> sql.SQL:
    """A statement with no slots, as ``sql.SQL`` (its braces are taken literally)."""
    return sql.SQL(text(name, root))
