"""The lake-key patterns in the functions' IAM policies match the keys the shared code really uses.

list_new runs for real here against an in-memory lake (its two database
reads replaced), and every key it writes, and every key transform and load
derive from its result, is checked against the role that needs it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from clickstream.core import lake as layout
from clickstream.core.storage import ObjectInfo
from clickstream.pipeline import listing
from clickstream.pipeline.transform import quarantine_key
from infra import constants as c

HOUR = datetime(2025, 10, 18, 13, tzinfo=UTC)
EXECUTION = "hour-2025-10-18T13"
# What each role may do, by the patterns of infra/constants.py (S3's "*" spans "/", like fnmatch's).
LIST_NEW_WRITES = [c.WORK_FILES, c.WORKLIST_FILES]
TRANSFORM_READS = [c.RAW_OBJECTS, c.WORK_FILES]
TRANSFORM_WRITES = [c.BATCH_FILES, c.REJECT_FILES]
LOAD_READS = [c.WORKLIST_FILES, c.BATCH_FILES]


class MemoryLake:
    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(keys)
        self.written: dict[str, Any] = {}

    def list(self, prefix: str, start_after: str = "") -> Iterator[ObjectInfo]:
        for key in self.keys:
            if key.startswith(prefix):
                yield ObjectInfo(key, "etag", 1000)

    def put_json(self, key: str, value: Any) -> str:
        self.written[key] = value
        return "etag"


def allowed(key: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> tuple[MemoryLake, dict[str, Any]]:
    monkeypatch.setattr(listing, "read_watermark", lambda conn: None)
    monkeypatch.setattr(listing, "read_processed", lambda conn, first, hour: set())
    raw = [layout.new_raw_key(HOUR) for _ in range(5)] + [layout.new_raw_key(HOUR.replace(hour=12))]
    lake = MemoryLake(raw)
    result = listing.list_new(
        lake=lake,  # type: ignore[arg-type]
        conn=None,
        hour=HOUR,
        execution=EXECUTION,
        lookback_hours=2,
        max_objects=2,
        max_bytes=10**9,
    )
    return lake, result


def test_list_new_writes_only_work_files_and_the_worklist(listed: tuple[MemoryLake, dict[str, Any]]) -> None:
    lake, result = listed
    assert len(result["items"]) >= 3
    for key in lake.written:
        assert allowed(key, LIST_NEW_WRITES), key
    assert not allowed(result["worklist"], TRANSFORM_WRITES)  # transform cannot overwrite it


def test_transform_reads_its_work_file_and_raw_and_writes_its_batch_and_rejects(
    listed: tuple[MemoryLake, dict[str, Any]],
) -> None:
    lake, result = listed
    for ref in result["items"]:
        assert allowed(ref["work_key"], TRANSFORM_READS)
        for source in lake.written[ref["work_key"]]["objects"]:
            assert allowed(source["key"], TRANSFORM_READS)
            assert allowed(layout.rejects_key(source["key"]), TRANSFORM_WRITES)
            assert allowed(quarantine_key(source["key"]), TRANSFORM_WRITES)
        # transform_work_item writes <batch_key>.tsv.gz, then <batch_key>.json
        for key in (f"{ref['batch_key']}.tsv.gz", f"{ref['batch_key']}.json"):
            assert allowed(key, TRANSFORM_WRITES), key
            assert allowed(key, LOAD_READS), key
        assert not allowed(ref["work_key"], TRANSFORM_WRITES)


def test_load_reads_the_worklist(listed: tuple[MemoryLake, dict[str, Any]]) -> None:
    _, result = listed
    assert allowed(result["worklist"], LOAD_READS)


def test_notify_writes_the_one_health_snapshot_key_its_role_and_the_hosts_name() -> None:
    from clickstream.ops import health

    lake = MemoryLake([])
    health.write_snapshot(lake, health.Snapshot(HOUR, [], health.QueueDepth(0, 0)))  # type: ignore[arg-type]
    assert list(lake.written) == [c.HEALTH_SNAPSHOT_KEY] == ["ops/health.json"]
    # outside every pattern a pipeline function reads, writes or lists
    assert not allowed(
        c.HEALTH_SNAPSHOT_KEY, [c.RAW_OBJECTS, *LIST_NEW_WRITES, *TRANSFORM_WRITES, *LOAD_READS]
    )
