"""Pure logic of the load and the database layer: no network, no database."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from clickstream.core import db, migrate
from clickstream.core.errors import ContractViolation, StagedDataMissing, TransientDatabaseError
from clickstream.core.storage import Lake
from clickstream.pipeline import load


class FakeLake:
    """The two reads the manifest logic needs, from a dict."""

    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects

    def get_json(self, key: str) -> Any:
        if key not in self.objects:
            raise StagedDataMissing(f"{key} does not exist")
        return self.objects[key]


def as_lake(fake: FakeLake) -> Lake:
    return fake  # type: ignore[return-value]


def manifest(**changes: Any) -> dict[str, Any]:
    obj = {
        "key": "raw/year=2025/month=10/day=18/hour=13/events-1.ndjson.gz",
        "etag": "e",
        "size": 10,
        "partition_hour": "2025-10-18T13:00:00Z",
        "lines_read": 6,
        "staged": 3,
        "duplicates": 1,
        "rejected": 2,
        "rejects": {"invalid_json": 2},
        "quarantined": False,
    }
    obj.update(changes)
    return {
        "execution": "x",
        "batch_key": "b",
        "staged_key": "b.tsv.gz",
        "rows": obj["staged"],
        "objects": [obj],
    }


@pytest.mark.parametrize(
    ("classified", "transient"),
    [
        (psycopg.errors.SerializationFailure("x"), True),
        (psycopg.errors.DeadlockDetected("x"), True),
        (psycopg.errors.AdminShutdown("x"), True),
        (psycopg.errors.CannotConnectNow("x"), True),
        (psycopg.errors.LockNotAvailable("x"), True),
        (psycopg.errors.ConnectionFailure("x"), True),
        (psycopg.errors.TooManyConnections("x"), True),
        (psycopg.OperationalError("connection failed: no such socket"), True),
        (psycopg.errors.UniqueViolation("x"), False),
        (psycopg.errors.QueryCanceled("x"), False),
        (psycopg.errors.UndefinedTable("x"), False),
        (psycopg.ProgrammingError("x"), False),
        (ValueError("deadlock detected"), False),  # never by message text
    ],
)
def test_transient_is_decided_by_sqlstate_and_class(classified: BaseException, transient: bool) -> None:
    assert db.is_transient(classified) is transient


def test_transient_errors_are_re_raised_typed_with_the_cause() -> None:
    cause = psycopg.errors.DeadlockDetected("deadlock detected")
    with pytest.raises(TransientDatabaseError, match="DeadlockDetected") as info, db.transient_errors():
        raise cause
    assert info.value.__cause__ is cause
    with pytest.raises(psycopg.errors.UniqueViolation), db.transient_errors():
        raise psycopg.errors.UniqueViolation("dup")


def test_read_batches_in_worklist_order() -> None:
    fake = FakeLake(
        {
            "w.json": {"items": [{"batch_key": "b2"}, {"batch_key": "b1"}]},
            "b1.json": manifest(),
            "b2.json": manifest(staged=0, lines_read=3),
        }
    )
    batches = load.read_batches(as_lake(fake), "w.json")
    assert [(b.ordinal, b.key, b.manifest.rows) for b in batches] == [(0, "b2", 0), (1, "b1", 3)]
    assert load.read_batches(as_lake(fake), None) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lines_read": 7}, "lines_read 7"),
        ({"rejects": {"invalid_json": 1}}, "do not add up"),
        ({"staged": -1, "lines_read": 2}, "malformed"),
        ({"partition_hour": "yesterday"}, "malformed"),
    ],
)
def test_inconsistent_manifests_are_contract_violations(changes: dict[str, Any], message: str) -> None:
    fake = FakeLake({"w.json": {"items": [{"batch_key": "b"}]}, "b.json": manifest(**changes)})
    with pytest.raises(ContractViolation, match=message):
        load.read_batches(as_lake(fake), "w.json")


def test_a_manifest_whose_rows_disagree_with_its_objects_is_refused() -> None:
    bad = manifest()
    bad["rows"] = 4
    with pytest.raises(ContractViolation, match="rows 4"):
        load.read_batches(
            as_lake(FakeLake({"w.json": {"items": [{"batch_key": "b"}]}, "b.json": bad})), "w.json"
        )


def test_a_worklist_without_items_or_batch_keys_is_refused() -> None:
    with pytest.raises(ContractViolation, match="no 'items'"):
        load.read_worklist(as_lake(FakeLake({"w.json": {}})), "w.json")
    with pytest.raises(ContractViolation, match="without 'batch_key'"):
        load.read_worklist(as_lake(FakeLake({"w.json": {"items": [{}]}})), "w.json")


def test_the_payload_bounds_the_dates() -> None:
    counts = dict.fromkeys(load._RUN_COLUMNS, 1)  # a run's row, every count 1
    many = [date(2020, 1, 1) + timedelta(days=i) for i in range(load.MAX_DATES + 5)]
    payload = load._payload(counts, list(reversed(many)), replayed=False)
    assert payload["dates"][0] == "2020-01-01"
    assert len(payload["dates"]) == load.MAX_DATES
    assert payload["dates_truncated"] is True


def test_migration_check_refuses_edits_and_lists_pending(tmp_path: Path) -> None:
    (tmp_path / "001_first.sql").write_text("select 1;\n")
    (tmp_path / "002_second.sql").write_text("select 2;\n")
    found = migrate.discover(tmp_path)
    applied = {1: ("first", found[0].checksum)}
    assert [m.label for m in migrate.check(found, applied)] == ["002_second"]
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        migrate.check(found, {1: ("first", "0" * 64)})
    (tmp_path / "002_again.sql").write_text("select 3;\n")
    with pytest.raises(migrate.MigrationError, match="two migrations with version 002"):
        migrate.discover(tmp_path)
