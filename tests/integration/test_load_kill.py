"""A SessionizeAndUpsert killed midway (SIGKILL, like a Lambda timeout or an OOM) leaves nothing half-written.

The upsert runs in a child process whose Lake reads the staged files from a
directory. The parent kills it (1) while its COPY is streaming, and (2) after
its facts are inserted, while it waits to write the processed-object
manifest (the parent holds a lock on that table). Afterwards the warehouse
is exactly as before, and a rerun loads every event exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from clickstream.core import db, sqlfiles
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from tests.support.staged import BASE_TS, StagedObjectSpec, Stager, raw_key, staged_event

ROOT = Path(__file__).resolve().parents[2]
TEST_SQL = ROOT / "tests" / "sql"
APP = "clickstream-kill-test"
TABLES = ("fact_events", "dim_product", "etl_processed_objects", "etl_rejects", "etl_runs")

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from pathlib import Path

    from botocore.exceptions import ClientError

    from clickstream.core import db

    from clickstream.pipeline import load
    from clickstream.core.storage import Lake

    url, root, worklist, speed, app = sys.argv[1:6]
    root, slow = Path(root), speed == "slow"
    hour = datetime(2025, 10, 18, 13, tzinfo=timezone.utc)


    class Body:
        def __init__(self, data, slow):
            self.data, self.pos, self.slow = data, 0, slow

        def read(self, n=-1):
            if self.slow and self.pos:
                time.sleep(0.05)  # a slow network: the COPY is in progress meanwhile
            n = len(self.data) if n is None or n < 0 else min(n, 16384 if self.slow else n)
            chunk = self.data[self.pos : self.pos + n]
            self.pos += len(chunk)
            return chunk

        def close(self):
            pass


    class DirClient:
        # Just enough of an S3 client for Lake: each key is a file under root.
        def get_object(self, Bucket, Key):
            path = root / Key
            if not path.exists():
                raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
            return {"Body": Body(path.read_bytes(), slow and Key.endswith(".tsv.gz"))}


    lake = Lake("kill-test", client=DirClient())
    with db.connect(url, application_name=app) as conn:
        print(load.upsert(conn, lake, execution="exec-1", hour=hour, worklist_key=worklist), flush=True)
    """
)


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def child_backend(admin: psycopg.Connection[Any]) -> tuple[Any, ...] | None:
    """(pid, wait_event_type, query, copy tuples) of the child's server process, if any."""
    return admin.execute(sqlfiles.text("load_kill/child_backend.sql", TEST_SQL), (APP,)).fetchone()


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as conn:
        return {t: conn.execute(f"select * from {t} order by 1").fetchall() for t in TABLES}


def stage_run(lake: Lake, stager: Stager, directory: Path, rows_per_object: int) -> tuple[str, int]:
    """Two batches of two objects each, in the lake and mirrored to directory; (worklist, rows)."""
    batches = []
    rows = 0
    for b in range(2):
        specs = []
        for o in range(2):
            events = [staged_event(anonymous_id=f"v{i % 97}") for i in range(rows_per_object)]
            specs.append(StagedObjectSpec(raw_key(f"b{b}o{o}"), events, duplicates=1, rejects={"bad_ts": 2}))
            rows += len(events)
        batches.append(stager.batch("exec-1", b, specs))
    worklist = stager.worklist("exec-1", batches)
    for obj in lake.list("staged/"):
        target = directory / obj.key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(lake.get_bytes(obj.key))
    return worklist, rows


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["during_copy", "after_facts_before_manifest"])
def test_a_killed_upsert_leaves_nothing_and_a_rerun_loads_everything_once(
    moment: str, database_url: str, lake: Lake, stager: Stager, tmp_path: Path
) -> None:
    # Given a staged run, and the warehouse before it
    worklist, rows = stage_run(lake, stager, tmp_path / "lake", rows_per_object=20_000)
    before = snapshot(database_url)
    admin = psycopg.connect(database_url, autocommit=True)
    blocker = psycopg.connect(database_url)
    if moment == "after_facts_before_manifest":
        # Reads of the manifest table go on; the child's insert into it has to wait for us.
        blocker.execute("lock table etl_processed_objects in exclusive mode")

    # When the upsert runs in a child process and is killed at that moment
    log = (tmp_path / "child.log").open("w")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            database_url,
            str(tmp_path / "lake"),
            worklist,
            "slow" if moment == "during_copy" else "fast",
            APP,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        if moment == "during_copy":
            backend = wait_for(lambda: (b := child_backend(admin)) and b[3] > 0 and b, "the child's COPY")
        else:
            backend = wait_for(
                lambda: (
                    (b := child_backend(admin)) and b[1] == "Lock" and "etl_processed_objects" in b[2] and b
                ),
                "the child to wait for the manifest table",
            )
        assert child.poll() is None, (tmp_path / "child.log").read_text()
        if moment == "after_facts_before_manifest":  # its facts are in, uncommitted
            assert admin.execute(
                "select mode from pg_locks where pid = %s and relation = 'fact_events'::regclass"
                " and mode = 'RowExclusiveLock'",
                (backend[0],),
            ).fetchone()
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        blocker.rollback()
        blocker.close()
        log.close()
    # The server notices the dead client, rolls back and ends that backend
    wait_for(lambda: child_backend(admin) is None, f"backend {backend[0]} to end")
    admin.close()

    # Then nothing of it is in the warehouse: no fact, no manifest row, no run
    assert snapshot(database_url) == before

    # And a rerun loads every event exactly once
    with db.connect(database_url) as conn:
        result = load.upsert(conn, lake, execution="exec-1", hour=BASE_TS, worklist_key=worklist)
    assert (result["loaded"], result["objects"], result["replayed"]) == (rows, 4, False)
    assert (
        result["lines_read"] == result["loaded"] + result["duplicates"] + result["rejected"] == rows + 4 + 8
    )
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select count(*), count(distinct event_id) from fact_events").fetchone() == (
            rows,
            rows,
        )
        assert conn.execute("select count(*) from etl_processed_objects").fetchone() == (4,)
