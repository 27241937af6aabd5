"""clickstream.core.db against a real PostgreSQL: which failures are transient, and the upsert lock."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from clickstream.core import db
from clickstream.core.errors import ConfigurationError, TransientDatabaseError
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from tests.support.staged import BASE_TS, StagedObjectSpec, Stager, raw_key, staged_event


def test_an_unreachable_server_is_transient(tmp_path: Any) -> None:
    with pytest.raises(TransientDatabaseError) as info:
        db.connect(f"postgresql://postgres@/postgres?host={tmp_path}", connect_timeout_s=2)
    assert isinstance(info.value.__cause__, psycopg.OperationalError)


def test_a_missing_or_malformed_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        db.connect("")
    with pytest.raises(ConfigurationError, match="invalid DATABASE_URL"):
        db.connect("postgresql://x@/db?no_such_option=1")


def test_a_connection_terminated_by_the_server_is_transient(database_url: str) -> None:
    with (
        psycopg.connect(database_url, autocommit=True) as admin,
        pytest.raises(TransientDatabaseError, match="SQLSTATE 57P01") as info,
        db.connect(database_url) as conn,
    ):
        admin.execute("select pg_terminate_backend(%s)", (conn.info.backend_pid,))
        conn.execute("select 1")
    assert isinstance(info.value.__cause__, psycopg.errors.AdminShutdown)


def test_a_serialization_failure_is_transient(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as setup:
        setup.execute("create table counter (id integer primary key, n integer)")
        setup.execute("insert into counter values (1, 0)")
    with db.connect(database_url) as first, db.connect(database_url) as second:
        first.execute("set transaction isolation level repeatable read")
        first.execute("select n from counter").fetchone()
        second.execute("update counter set n = n + 1")
        second.commit()
        with pytest.raises(TransientDatabaseError, match="SQLSTATE 40001"), db.transient_errors():
            first.execute("update counter set n = n + 1")
        first.rollback()


def test_a_deadlock_is_transient(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as setup:
        setup.execute("create table pair (id integer primary key)")
        setup.execute("insert into pair values (1), (2)")
    raised: list[BaseException] = []
    barrier = threading.Barrier(2)

    def lock_in_order(order: tuple[int, int]) -> None:
        try:
            with db.connect(database_url) as conn:
                conn.execute("select * from pair where id = %s for update", (order[0],))
                barrier.wait()
                conn.execute("select * from pair where id = %s for update", (order[1],))
        except BaseException as exc:  # one of the two is the deadlock victim
            raised.append(exc)

    threads = [threading.Thread(target=lock_in_order, args=(o,)) for o in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [type(e) for e in raised] == [TransientDatabaseError]
    assert isinstance(raised[0].__cause__, psycopg.errors.DeadlockDetected)


def test_other_errors_pass_through_unchanged(database_url: str) -> None:
    with pytest.raises(psycopg.errors.UndefinedTable), db.connect(database_url) as conn:
        conn.execute("select * from no_such_table")


def test_an_upsert_waits_for_another_and_times_out_as_transient(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    # Given another execution holding the upsert lock
    with psycopg.connect(database_url) as other:
        other.execute("select pg_advisory_xact_lock(%s)", (load.UPSERT_LOCK_KEY,))
        # Then an upsert gives up after its lock timeout, retryably, and writes nothing
        with pytest.raises(TransientDatabaseError, match="SQLSTATE 55P03"), db.connect(database_url) as conn:
            load.upsert(conn, lake, execution="exec-1", hour=BASE_TS, worklist_key=None, lock_timeout_s=1)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from etl_runs").fetchone() == (0,)


def test_two_executions_racing_for_the_same_objects_load_them_once(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    # Given two executions whose worklists share an object (a redrive racing the original)
    shared = StagedObjectSpec(raw_key("shared"), [staged_event() for _ in range(500)])
    worklists = {
        name: stager.worklist(
            name, [stager.batch(name, 0, [shared, StagedObjectSpec(raw_key(name), [staged_event()])])]
        )
        for name in ("exec-1", "exec-2")
    }
    results: dict[str, dict[str, Any]] = {}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        with db.connect(database_url) as conn:
            barrier.wait()
            results[name] = load.upsert(
                conn, lake, execution=name, hour=BASE_TS, worklist_key=worklists[name]
            )

    threads = [threading.Thread(target=run, args=(n,)) for n in worklists]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    # Then one committed the shared object and the other skipped it
    assert sorted(r["skipped_objects"] for r in results.values()) == [0, 1]
    assert sum(r["loaded"] for r in results.values()) == 502
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*) from fact_events").fetchone() == (502,)
        assert conn.execute("select count(*) from etl_processed_objects").fetchone() == (3,)
