"""Migrations against a real PostgreSQL: in order, once, refused when edited, one migrator at a time."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from clickstream.cli import main as cli_main
from clickstream.core import migrate
from clickstream.local.stack import StackInfo, write_stack


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select tablename from pg_tables where schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def recorded(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("select version, name, checksum from etl_schema_migrations order by 1").fetchall()


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    """A copy of sql/ that a test may edit."""
    target = tmp_path / "sql"
    shutil.copytree(migrate.SQL_DIR, target)
    return target


def test_applies_every_file_in_order_once_then_nothing(empty_database_url: str) -> None:
    files = migrate.discover()
    assert [m.version for m in files] == sorted(m.version for m in files)
    assert files[0].path.name == "001_warehouse.sql"

    applied = migrate.migrate(empty_database_url)

    assert [m.label for m in applied] == [m.label for m in files]
    assert {"fact_events", "dim_product", "dim_date", "etl_runs", "etl_schema_migrations"} <= tables(
        empty_database_url
    )
    assert recorded(empty_database_url) == [(m.version, m.name, m.checksum) for m in files]
    # When it runs again, then nothing is applied and nothing changes
    assert migrate.migrate(empty_database_url) == []
    assert recorded(empty_database_url) == [(m.version, m.name, m.checksum) for m in files]


def test_a_new_file_is_applied_alone(empty_database_url: str, sql_dir: Path) -> None:
    migrate.migrate(empty_database_url, sql_dir)
    (sql_dir / "900_extra.sql").write_text(
        "-- one row per test\ncreate table extra (id integer primary key);\n"
    )

    applied = migrate.migrate(empty_database_url, sql_dir)

    assert [m.label for m in applied] == ["900_extra"]
    assert "extra" in tables(empty_database_url)


def test_an_edited_applied_file_is_refused(empty_database_url: str, sql_dir: Path) -> None:
    migrate.migrate(empty_database_url, sql_dir)
    first = sorted(sql_dir.glob("001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent comment\n")
    (sql_dir / "900_extra.sql").write_text("create table extra (id integer primary key);\n")

    with pytest.raises(migrate.MigrationError, match=r"001_warehouse.sql changed after it was applied"):
        migrate.migrate(empty_database_url, sql_dir)
    assert "extra" not in tables(empty_database_url)  # nothing applied after the refusal


def test_an_applied_file_missing_from_disk_is_refused(empty_database_url: str, sql_dir: Path) -> None:
    (sql_dir / "900_extra.sql").write_text("create table extra (id integer primary key);\n")
    migrate.migrate(empty_database_url, sql_dir)
    (sql_dir / "900_extra.sql").unlink()

    with pytest.raises(migrate.MigrationError, match="900_extra is applied to this database but missing"):
        migrate.migrate(empty_database_url, sql_dir)


def test_a_failing_file_leaves_nothing_behind(empty_database_url: str, sql_dir: Path) -> None:
    migrate.migrate(empty_database_url, sql_dir)
    (sql_dir / "900_broken.sql").write_text("create table half (id integer);\nselect 1 / 0;\n")

    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate.migrate(empty_database_url, sql_dir)

    assert "half" not in tables(empty_database_url)
    assert 900 not in {v for v, _, _ in recorded(empty_database_url)}


def functions(url: str) -> dict[str, str]:
    """name -> source of the functions in the public schema."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select proname, prosrc from pg_proc where pronamespace = 'public'::regnamespace"
        ).fetchall()
    return dict(rows)


def test_functions_are_defined_again_on_every_migrate(empty_database_url: str, sql_dir: Path) -> None:
    # Given a migrated database
    migrate.migrate(empty_database_url, sql_dir)
    assert {"refresh_session_rollups", "refresh_daily_products", "rebuild_dashboard_rollups"} <= set(
        functions(empty_database_url)
    )
    versions = recorded(empty_database_url)
    # When a function is dropped, another one edited and a new one added in sql/functions/
    with psycopg.connect(empty_database_url) as conn:
        conn.execute("drop function refresh_daily_products(date[])")
    products = sql_dir / "functions" / "20_refresh_daily_products.sql"
    products.write_text(products.read_text().replace("begin\n", "begin\n    -- edited\n", 1))
    (sql_dir / "functions" / "95_extra.sql").write_text(
        "create or replace function extra_answer() returns integer language sql as $$ select 42 $$;\n"
    )

    # Then the next migrate applies no migration but defines every function again, as on disk
    assert migrate.migrate(empty_database_url, sql_dir) == []
    defined = functions(empty_database_url)
    assert "-- edited" in defined["refresh_daily_products"]
    assert "extra_answer" in defined
    assert recorded(empty_database_url) == versions  # definitions are not recorded


def test_a_failing_function_file_stops_the_migrate(empty_database_url: str, sql_dir: Path) -> None:
    (sql_dir / "functions" / "95_broken.sql").write_text("create or replace function broken(\n")

    with pytest.raises(psycopg.errors.SyntaxError):
        migrate.migrate(empty_database_url, sql_dir)

    # the numbered migrations committed before it, each in its own transaction
    assert len(recorded(empty_database_url)) == len(migrate.discover(sql_dir))


def test_misnamed_files_are_refused(sql_dir: Path) -> None:
    (sql_dir / "3_oops.sql").write_text("select 1;\n")
    with pytest.raises(migrate.MigrationError, match=r"NNN_lowercase_name\.sql"):
        migrate.discover(sql_dir)


def test_two_migrators_at_once_apply_each_file_once(empty_database_url: str) -> None:
    results: list[list[migrate.Migration]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(migrate.migrate(empty_database_url))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert sorted(len(r) for r in results) == [0, len(migrate.discover())]
    assert len(recorded(empty_database_url)) == len(migrate.discover())


def test_cli_migrate_then_says_up_to_date(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["db", "migrate", "--database-url", empty_database_url]) == 0
    first = capsys.readouterr().out
    assert "applied 001_warehouse.sql" in first

    assert cli_main(["db", "migrate", "--database-url", empty_database_url]) == 0
    assert "nothing to apply: the database is up to date" in capsys.readouterr().out


def test_cli_url_reads_the_running_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = StackInfo(
        aws_endpoint_url="http://127.0.0.1:1",
        database_url="postgresql://postgres:@/clickstream?host=/tmp/x",
        state_machine_arn="arn",
        lake_bucket="b",
        alert_topic_arn="t",
        pid=os.getpid(),
    )
    write_stack(tmp_path, info)

    assert cli_main(["db", "url", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == info.database_url


def test_cli_without_a_database_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .clickstream/ here

    assert cli_main(["db", "url"]) == 2
    err = capsys.readouterr().err
    assert "no local stack found" in err
    assert "DATABASE_URL" in err

    (tmp_path / "dead").mkdir()
    (tmp_path / "dead" / "stack.json").write_text(
        json.dumps(
            {
                "aws_endpoint_url": "x",
                "database_url": "y",
                "state_machine_arn": "z",
                "lake_bucket": "b",
                "alert_topic_arn": "t",
                "pid": 2**22 + 1,
            }
        )
    )
    assert cli_main(["db", "migrate", "--data-dir", str(tmp_path / "dead")]) == 2
    assert "is not running" in capsys.readouterr().err
