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
from tests.support.postgres import embedded_postgres

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
    assert migrate.migrate(postgres.get_uri(DATABASE)) == []  # the Python migrator agrees: nothing to do
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
