"""The warehouse host's bootstrap, run for real against a throwaway PostgreSQL (pgserver).

The package, systemd and TLS steps need an Amazon Linux host; the roles and
the migrations are plain psql, and run here exactly as on the host: the
script is sourced, ``as_postgres`` runs psql as this test's superuser.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest

from clickstream.core import migrate
from infra import constants as c
from tests.support.migrations import REWRITTEN, new_sql_dir, old_sql_dir
from tests.support.postgres import admin, embedded_postgres

WAREHOUSE_SH = c.HOST_SCRIPTS_DIR / "warehouse.sh"
HOST_SCRIPTS = sorted(c.HOST_SCRIPTS_DIR.glob("*.sh"))
DATABASE = "clickstream_host_test"


@pytest.mark.parametrize("script", HOST_SCRIPTS, ids=[p.name for p in HOST_SCRIPTS])
def test_host_scripts_are_valid_bash(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    """A server of its own: the bootstrap creates roles, which belong to the whole cluster."""
    with embedded_postgres("clickstream-host-pg-") as server:
        yield server


def bootstrap(postgres: Any, steps: str) -> subprocess.CompletedProcess[str]:
    """Source warehouse.sh and run ``steps`` (its functions) against the test server."""
    from pgserver._commands import POSTGRES_BIN_PATH  # its psql, the server's version

    uri = urlparse(postgres.get_uri())
    env = {
        "PATH": f"{POSTGRES_BIN_PATH}:/usr/bin:/bin",
        "PGHOST": parse_qs(uri.query)["host"][0],
        "PGPORT": str(uri.port or 5432),
        "PGUSER": uri.username or "postgres",
        "PGPASSWORD": uri.password or "",
    }
    script = f"""
source '{WAREHOUSE_SH}'
as_postgres() {{ "$@"; }}
pipeline_password() {{ echo 'pipeline-test-password'; }}
database={DATABASE} lock_key={c.MIGRATIONS_LOCK_KEY} migrations_table={c.MIGRATIONS_TABLE}
pipeline_user={c.PIPELINE_DB_USER} dashboard_user={c.DASHBOARD_DB_USER}
{steps}
"""
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=False)


def apply(postgres: Any, sql_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return bootstrap(
        postgres,
        f"create_roles_and_database\n"
        f"migrations_script '{sql_dir}' > '{tmp_path}/apply.psql'\n"
        f"as_postgres psql --quiet -d {DATABASE} -f '{tmp_path}/apply.psql'",
    )


def query(postgres: Any, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(postgres.get_uri(DATABASE)) as conn:
        return list(conn.execute(sql).fetchall())


def test_roles_database_and_migrations_as_on_the_host(postgres: Any, tmp_path: Path) -> None:
    # Given a fresh server, When the host's steps run
    first = apply(postgres, c.SQL_DIR, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    # Then every migration is applied, with the bookkeeping of `clickstream db migrate`
    expected = [(m.version, m.name, m.checksum) for m in migrate.discover(c.SQL_DIR)]
    applied = query(postgres, f"select version, name, checksum from {c.MIGRATIONS_TABLE} order by version")
    assert applied == expected
    # and the backfills of sql/backfills/ after them, in the table of `clickstream db migrate`
    # (warehouse.sh's default name: infra passes none)
    backfilled = query(postgres, f"select version, name from {migrate.BACKFILLS_TABLE} order by version")
    assert backfilled == [(b.version, b.name) for b in migrate.backfills(c.SQL_DIR)]
    assert "warehouse: backfilling backfills/005_dashboard_rollups.sql" in first.stdout
    said: list[str] = []
    # the Python migrator agrees: nothing to apply, nothing to backfill
    assert migrate.migrate(postgres.get_uri(DATABASE), log=said.append) == []
    assert not any(line.startswith(("backfilled", "accepted")) for line in said)
    # owned by the pipeline role, readable by the dashboards' role, the password set
    owners = query(postgres, "select distinct tableowner from pg_tables where schemaname = 'public'")
    assert owners == [(c.PIPELINE_DB_USER,)]
    (reader,) = query(postgres, f"select pg_has_role('{c.DASHBOARD_DB_USER}', 'pg_read_all_data', 'member')")
    assert reader == (True,)
    (password_set,) = query(
        postgres, "select rolpassword is not null from pg_authid where rolname = 'pipeline'"
    )
    assert password_set == (True,)

    # and the repeatable definitions of sql/functions/ too, owned by the pipeline role
    defined = {path.stem.split("_", 1)[1] for path in migrate.repeatable(c.SQL_DIR)}
    assert defined  # every file of sql/functions/ is named NN_<the function it defines>.sql
    owners = query(
        postgres,
        "select proname, pg_get_userbyid(proowner) from pg_proc where pronamespace = 'public'::regnamespace",
    )
    assert {(name, c.PIPELINE_DB_USER) for name in defined} <= set(owners)

    # When the host boots again, Then nothing is applied twice
    again = apply(postgres, c.SQL_DIR, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "applying" not in again.stdout
    assert query(postgres, f"select count(*) from {c.MIGRATIONS_TABLE}") == [(len(expected),)]


def test_functions_are_defined_again_at_every_boot(postgres: Any, tmp_path: Path) -> None:
    # Given the migrations applied, then a function dropped and another one edited on disk
    assert apply(postgres, c.SQL_DIR, tmp_path).returncode == 0
    versions = query(postgres, f"select version, checksum from {c.MIGRATIONS_TABLE} order by 1")
    with psycopg.connect(postgres.get_uri(DATABASE)) as conn:
        conn.execute("drop function refresh_session_rollups(date[])")
    edited = tmp_path / "sql"
    shutil.copytree(c.SQL_DIR, edited)
    products = edited / "functions" / "20_refresh_daily_products.sql"
    products.write_text(products.read_text().replace("begin\n", "begin\n    -- edited\n", 1))
    # When the host boots, Then both are defined as on disk, and no migration is applied or recorded
    result = apply(postgres, edited, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "applying" not in result.stdout
    sources = dict(query(postgres, "select proname, prosrc from pg_proc where proname like 'refresh_%'"))
    assert set(sources) == {"refresh_session_rollups", "refresh_daily_products", "refresh_analyses"}
    assert "-- edited" in sources["refresh_daily_products"]
    assert query(postgres, f"select version, checksum from {c.MIGRATIONS_TABLE} order by 1") == versions


def test_an_edited_migration_is_refused(postgres: Any, tmp_path: Path) -> None:
    # Given the migrations applied, and then one of them edited
    assert apply(postgres, c.SQL_DIR, tmp_path).returncode == 0
    edited = tmp_path / "sql"
    shutil.copytree(c.SQL_DIR, edited)
    first = sorted(edited.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    # When the host applies them, Then it stops and says why
    result = apply(postgres, edited, tmp_path)
    assert result.returncode != 0
    assert "changed after it was applied" in result.stderr


def fresh_database(postgres: Any) -> None:
    with admin(postgres) as conn:
        conn.execute(f"drop database if exists {DATABASE} with (force)")


# a row that only a run of sql/backfills/011_product_lists.sql would remove
MARKER = "insert into agg_daily_product_lists values ('2025-10-06', 'MARKER', 7, 1)"
MARKED = "select count(*) from agg_daily_product_lists where product_id = 'MARKER'"


def test_a_database_of_the_old_files_is_accepted_at_boot_without_backfilling(
    postgres: Any, tmp_path: Path
) -> None:
    # Given a warehouse whose host applied the old files, and a row a backfill would remove
    fresh_database(postgres)
    old = apply(postgres, old_sql_dir(tmp_path / "old"), tmp_path)
    assert old.returncode == 0, old.stdout + old.stderr
    assert "backfilling" not in old.stdout  # the old files ran their backfill themselves
    with psycopg.connect(postgres.get_uri(DATABASE)) as conn:
        conn.execute(MARKER)

    # When the host boots with the new files
    result = apply(postgres, c.SQL_DIR, tmp_path)

    # Then it accepts the rewritten ones, records their checksums and their backfills as done
    assert result.returncode == 0, result.stdout + result.stderr
    assert "applying" not in result.stdout and "backfilling" not in result.stdout
    assert [line for line in result.stdout.splitlines() if "accepting" in line] == [
        f"warehouse: accepting {m.path.name} as rewritten (migrate/rewritten.txt)"
        for m in migrate.discover(c.SQL_DIR)
        if m.version in REWRITTEN
    ]
    expected = [(m.version, m.name, m.checksum) for m in migrate.discover(c.SQL_DIR)]
    assert query(postgres, f"select version, name, checksum from {c.MIGRATIONS_TABLE} order by 1") == expected
    assert query(postgres, f"select version from {migrate.BACKFILLS_TABLE} order by 1") == [
        (v,) for v in REWRITTEN
    ]
    assert query(postgres, MARKED) == [(1,)]
    again = apply(postgres, c.SQL_DIR, tmp_path)
    assert again.returncode == 0 and "accepting" not in again.stdout

    # When the host stops between a migration and its backfill (its row missing), Then the next
    # boot runs that backfill alone
    with psycopg.connect(postgres.get_uri(DATABASE)) as conn:
        conn.execute(f"delete from {migrate.BACKFILLS_TABLE} where version = 11")
    rerun = apply(postgres, c.SQL_DIR, tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert [line for line in rerun.stdout.splitlines() if "backfilling" in line] == [
        "warehouse: backfilling backfills/011_product_lists.sql"
    ]
    assert query(postgres, MARKED) == [(0,)]
    assert query(postgres, f"select count(*) from {migrate.BACKFILLS_TABLE}") == [(len(REWRITTEN),)]


def test_an_unlisted_edit_of_a_rewritten_migration_is_refused_at_boot(postgres: Any, tmp_path: Path) -> None:
    # Given a warehouse of the old files, and 005 edited again after its listed rewrite
    fresh_database(postgres)
    assert apply(postgres, old_sql_dir(tmp_path / "old"), tmp_path).returncode == 0
    before = query(postgres, f"select version, checksum from {c.MIGRATIONS_TABLE} order by 1")
    edited = new_sql_dir(tmp_path / "sql")
    rollups = edited / "005_dashboard_rollups.sql"
    rollups.write_text(rollups.read_text() + "\n-- edited after the rewrite\n")

    # Then the host stops and says why, before accepting any rewritten file
    result = apply(postgres, edited, tmp_path)
    assert result.returncode != 0
    assert "005_dashboard_rollups.sql changed after it was applied" in result.stderr
    assert query(postgres, f"select version, checksum from {c.MIGRATIONS_TABLE} order by 1") == before
    assert query(postgres, f"select count(*) from {migrate.BACKFILLS_TABLE}") == [(0,)]
