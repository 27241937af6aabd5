"""Backfills (sql/backfills/) and rewritten migrations (sql/migrate/rewritten.txt) on a real PostgreSQL.

The migrations 005, 011, 013 and 014 were rewritten to hold DDL only: their backfills moved to
sql/backfills/, run once after sql/functions/. A database migrated with the old files
(tests/support/migrations.py) is accepted as it is, without running them again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from clickstream.core import migrate, sqlfiles
from tests.support.analyses_sample import EVENTS, Runs, at
from tests.support.migrations import REWRITTEN, created_tables, new_sql_dir, old_sql_dir
from tests.support.postgres import fresh_database
from tests.support.staged import Stager, staged_event

TEST_SQL = Path(__file__).resolve().parents[1] / "sql"
# the analyses' sample (retention, search, paths, products), and a list impression and a list click
# (sql/011's product lists)
TRAFFIC = [
    *EVENTS,
    staged_event(
        uuid.uuid5(uuid.NAMESPACE_URL, "backfills/impression"),
        ts=at(10, 6, 10, 1) + timedelta(seconds=30),
        anonymous_id="a",
        event_type="impression",
        props=json.dumps({"item_list": {"name": "laptops", "product_ids": ["L1", "L2"]}}),
    ),
    staged_event(
        uuid.uuid5(uuid.NAMESPACE_URL, "backfills/list-click"),
        ts=at(10, 6, 10, 2) + timedelta(seconds=30),
        anonymous_id="a",
        event_type="click",
        product_id="L1",
        category="laptops",
        props=json.dumps({"item_list": {"name": "laptops"}}),
    ),
]


@pytest.fixture
def other_empty_url(pg_server: Any) -> Iterator[str]:
    """A second database without any schema."""
    yield from fresh_database(pg_server, None)


def catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The public schema's columns, indexes, constraints and functions as the catalog has them."""
    with psycopg.connect(url) as conn:
        return {
            "columns": conn.execute(sqlfiles.text("migrate/catalog_columns.sql", TEST_SQL)).fetchall(),
            "objects": conn.execute(sqlfiles.text("migrate/catalog_objects.sql", TEST_SQL)).fetchall(),
        }


def recorded(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("select version, name, checksum from etl_schema_migrations order by 1").fetchall()


def backfilled(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [v for (v,) in conn.execute("select version from etl_schema_backfills order by 1").fetchall()]


def contents(url: str, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {t: sorted(conn.execute(f"select * from {t}").fetchall(), key=repr) for t in tables}


def migrate_logged(url: str, sql_dir: Path = migrate.SQL_DIR) -> tuple[list[migrate.Migration], list[str]]:
    said: list[str] = []
    return migrate.migrate(url, sql_dir, said.append), said


def test_every_backfill_runs_once_on_a_fresh_database(empty_database_url: str) -> None:
    applied, said = migrate_logged(empty_database_url)

    assert [m.version for m in applied] == [m.version for m in migrate.discover()]
    expected = [b.version for b in migrate.backfills()]
    assert expected == list(REWRITTEN)
    assert backfilled(empty_database_url) == expected
    assert [line for line in said if line.startswith("backfilled")] == [
        f"backfilled backfills/{b.path.name}" for b in migrate.backfills()
    ]
    # after the functions: the last lines of the run
    assert said.index("backfilled backfills/005_dashboard_rollups.sql") > max(
        i for i, line in enumerate(said) if line.startswith("defined the functions")
    )
    # When it runs again, Then no backfill runs again
    assert migrate_logged(empty_database_url)[1] == [said[-len(expected) - 1]]  # the functions only


def test_the_new_files_make_the_schema_the_old_ones_made(
    empty_database_url: str, other_empty_url: str, tmp_path: Path
) -> None:
    # Given a fresh database migrated with the old files and another with the new ones
    migrate.migrate(empty_database_url, old_sql_dir(tmp_path / "old"))
    migrate.migrate(other_empty_url)

    # Then their tables, columns, indexes, constraints and functions are the same
    old, new = catalog(empty_database_url), catalog(other_empty_url)
    assert len(old["columns"]) > 100 and len(old["objects"]) > 50
    assert old == new
    assert backfilled(empty_database_url) == []  # the old files ran their backfill themselves
    assert backfilled(other_empty_url) == list(REWRITTEN)


# the tables each backfill fills; 014 fills agg_daily_segments' browser and OS rows too
BACKFILLED_TABLES = {m.version: created_tables(m) for m in migrate.discover() if m.version in REWRITTEN} | {
    14: [*created_tables(next(m for m in migrate.discover() if m.version == 14)), "agg_daily_segments"]
}
# what the migration leaves in them before its backfill
EMPTIED = {
    5: [f"truncate {', '.join(BACKFILLED_TABLES[5])}"],
    11: [f"truncate {', '.join(BACKFILLED_TABLES[11])}"],
    13: [f"truncate {', '.join(BACKFILLED_TABLES[13])}"],
    14: [
        "truncate agg_daily_tech, agg_daily_tech_revenue",
        "delete from agg_daily_segments where segment_by in ('browser', 'os')",
    ],
}


@pytest.mark.parametrize("version", REWRITTEN)
def test_a_migrate_stopped_before_a_backfill_runs_it_next_time(
    version: int, database_url: str, lake: Any, stager: Stager
) -> None:
    # Given traffic loaded through the pipeline into a migrated database
    Runs(database_url, lake, stager).run(TRAFFIC)
    tables = BACKFILLED_TABLES[version]
    loaded = contents(database_url, tables)
    assert all(loaded.values())
    # and then the tables of migration `version` as the migration leaves them, its backfill not run
    # (a migrator stopped between the migration's commit and the backfill's)
    with psycopg.connect(database_url) as conn:
        for statement in EMPTIED[version]:
            conn.execute(statement.encode())
        conn.execute("delete from etl_schema_backfills where version = %s", (version,))
    assert contents(database_url, tables) != loaded

    # When the next migrate runs, Then it runs that backfill alone, which fills them as the load did
    applied, said = migrate_logged(database_url)
    assert applied == []
    [backfill] = [b for b in migrate.backfills() if b.version == version]
    assert [line for line in said if line.startswith("backfilled")] == [
        f"backfilled backfills/{backfill.path.name}"
    ]
    assert contents(database_url, tables) == loaded
    assert backfilled(database_url) == list(REWRITTEN)


def test_a_failing_backfill_is_run_again_at_the_next_migrate(empty_database_url: str, tmp_path: Path) -> None:
    # Given the backfill of 011 fails once
    sql_dir = new_sql_dir(tmp_path / "sql")
    lists = sql_dir / migrate.BACKFILLS_DIR / "011_product_lists.sql"
    lists.write_text(lists.read_text() + "select 1 / 0;\n")
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate.migrate(empty_database_url, sql_dir)
    # Then every migration is recorded, and the backfills before it; its own rolled back
    assert len(recorded(empty_database_url)) == len(migrate.discover(sql_dir))
    assert backfilled(empty_database_url) == [5]

    # When it is fixed and migrate runs again, Then it and the ones after it run, nothing else
    lists.write_text(lists.read_text().replace("select 1 / 0;\n", ""))
    applied, said = migrate_logged(empty_database_url, sql_dir)
    assert applied == []
    assert [line for line in said if line.startswith("backfilled")] == [
        "backfilled backfills/011_product_lists.sql",
        "backfilled backfills/013_analyses.sql",
        "backfilled backfills/014_browser_os_product_names.sql",
    ]
    assert backfilled(empty_database_url) == list(REWRITTEN)


# one row per backfill that only a run of that backfill would remove (each replaces its table)
MARKERS = {
    5: (
        "insert into agg_daily_products values ('2025-10-06', 'MARKER', '', 1, 0, 0, 0, 0)",
        "select count(*) from agg_daily_products where product_id = 'MARKER'",
    ),
    11: (
        "insert into agg_daily_product_lists values ('2025-10-06', 'MARKER', 7, 1)",
        "select count(*) from agg_daily_product_lists where product_id = 'MARKER'",
    ),
    13: (
        "insert into agg_retention_all values ('MARKER', '2025-10-06', 0, 1)",
        "select count(*) from agg_retention_all where kind = 'MARKER'",
    ),
    14: (
        "insert into agg_daily_segments (select session_date, 'MARKER', '', 1, 0, 0, 0, 0, 0, 0, 0, 0"
        " from agg_daily_sessions limit 1)",
        "select count(*) from agg_daily_segments where segment_by = 'MARKER'",
    ),
}


def markers(url: str) -> dict[int, int]:
    with psycopg.connect(url) as conn:
        return {v: conn.execute(count.encode()).fetchone()[0] for v, (_, count) in MARKERS.items()}  # type: ignore[index]


def test_a_database_of_the_old_files_is_accepted_and_not_backfilled_again(
    empty_database_url: str, tmp_path: Path, lake: Any, stager: Stager
) -> None:
    # Given a database migrated with the old files, with traffic, and a marker row per backfill
    old_dir = old_sql_dir(tmp_path / "old")
    migrate.migrate(empty_database_url, old_dir)
    old_checksums = recorded(empty_database_url)
    Runs(empty_database_url, lake, stager).run(TRAFFIC)
    with psycopg.connect(empty_database_url) as conn:
        for insert, _ in MARKERS.values():
            conn.execute(insert.encode())
    assert markers(empty_database_url) == dict.fromkeys(REWRITTEN, 1)

    # When the new files are migrated
    applied, said = migrate_logged(empty_database_url)

    # Then nothing is applied, the rewritten files' new checksums are recorded, and their
    # backfills recorded as done without running (the markers stay)
    assert applied == []
    assert [line for line in said if line.startswith("accepted")] == [
        f"accepted {m.path.name} as rewritten (migrate/rewritten.txt)"
        for m in migrate.discover()
        if m.version in REWRITTEN
    ]
    assert not any(line.startswith("backfilled") for line in said)
    assert recorded(empty_database_url) == [(m.version, m.name, m.checksum) for m in migrate.discover()]
    assert [v for v, _, c in old_checksums if c not in {m.checksum for m in migrate.discover()}] == list(
        REWRITTEN
    )
    assert backfilled(empty_database_url) == list(REWRITTEN)
    assert markers(empty_database_url) == dict.fromkeys(REWRITTEN, 1)
    # and the next migrate has nothing to accept
    assert not any(line.startswith("accepted") for line in migrate_logged(empty_database_url)[1])

    # (a backfill run again would have removed its marker)
    with psycopg.connect(empty_database_url) as conn:
        conn.execute("delete from etl_schema_backfills")
    migrate.migrate(empty_database_url)
    assert markers(empty_database_url) == dict.fromkeys(REWRITTEN, 0)


def test_an_unlisted_edit_of_a_rewritten_migration_is_refused(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Given a database of the old files, and 005 edited again after its listed rewrite
    migrate.migrate(empty_database_url, old_sql_dir(tmp_path / "old"))
    before = recorded(empty_database_url)
    sql_dir = new_sql_dir(tmp_path / "sql")
    rollups = sql_dir / "005_dashboard_rollups.sql"
    rollups.write_text(rollups.read_text() + "\n-- edited after the rewrite\n")

    # Then it is refused, and nothing is accepted, not even the other rewritten files
    refused = r"005_dashboard_rollups.sql changed after it was applied"
    with pytest.raises(migrate.MigrationError, match=refused):
        migrate.migrate(empty_database_url, sql_dir)
    assert recorded(empty_database_url) == before
    assert backfilled(empty_database_url) == []


def test_a_rewrite_from_another_checksum_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    # Given a database of the old files, and rewritten.txt listing another old checksum for 011
    migrate.migrate(empty_database_url, old_sql_dir(tmp_path / "old"))
    sql_dir = new_sql_dir(tmp_path / "sql")
    listed = sql_dir / migrate.REWRITTEN_FILE
    [line] = [line for line in listed.read_text().splitlines() if line.startswith("011 ")]
    listed.write_text(listed.read_text().replace(line, "011 " + "0" * 64 + line[68:]))

    with pytest.raises(migrate.MigrationError, match=r"011_product_lists.sql changed after it was applied"):
        migrate.migrate(empty_database_url, sql_dir)


def test_a_database_of_some_old_files_applies_the_rest_with_their_backfills(
    empty_database_url: str, tmp_path: Path
) -> None:
    # Given a database that applied the old files up to 013 (014 came later)
    old_dir = old_sql_dir(tmp_path / "old")
    for path in old_dir.glob("014_*.sql"):
        path.unlink()
    migrate.migrate(empty_database_url, old_dir)

    # When the new files are migrated
    applied, said = migrate_logged(empty_database_url)

    # Then 005, 011 and 013 are accepted as rewritten, their backfills recorded without running;
    # 014 is applied and its backfill run
    assert [m.label for m in applied] == ["014_browser_os_product_names"]
    assert [line.split()[1] for line in said if line.startswith("accepted")] == [
        "005_dashboard_rollups.sql",
        "011_product_lists.sql",
        "013_analyses.sql",
    ]
    assert [line for line in said if line.startswith("backfilled")] == [
        "backfilled backfills/014_browser_os_product_names.sql"
    ]
    assert recorded(empty_database_url) == [(m.version, m.name, m.checksum) for m in migrate.discover()]
    assert backfilled(empty_database_url) == list(REWRITTEN)
