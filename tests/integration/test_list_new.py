"""ListNew against moto S3 and a real PostgreSQL: references only, whatever an hour holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from clickstream.core import db
from clickstream.core.lake import HEALTH_SNAPSHOT, RAW, partition_prefix
from clickstream.core.storage import Lake
from clickstream.pipeline.listing import list_new
from tests.support.aws import LambdaContext

HOUR = datetime(2025, 10, 18, 13, tzinfo=UTC)
STEP_FUNCTIONS_PAYLOAD_LIMIT = 256 * 1024


def put_objects(lake: Lake, hour: datetime, count: int) -> None:
    for i in range(count):
        lake.put_bytes(f"{partition_prefix(hour)}events-{i:06d}.ndjson.gz", b"")


def test_five_thousand_objects_in_an_hour_stay_far_below_the_payload_limit(
    lake: Lake, database_url: str
) -> None:
    # Given 5,000 raw objects in one partition
    put_objects(lake, HOUR, 5000)

    # When ListNew plans the hour
    with db.connect(database_url) as conn:
        result = list_new(lake, conn, HOUR, "hour-2025-10-18T13", 2, max_objects=200, max_bytes=10**9)

    # Then the state's result holds references only, and every object is in a work file once
    payload = len(json.dumps(result).encode())
    assert payload < STEP_FUNCTIONS_PAYLOAD_LIMIT / 20, payload
    assert result["objects"] == 5000 and len(result["items"]) == 25
    planned = [o["key"] for item in result["items"] for o in lake.get_json(item["work_key"])["objects"]]
    assert len(planned) == len(set(planned)) == 5000
    worklist = lake.get_json(result["worklist"])
    assert [i["batch_key"] for i in worklist["items"]] == [i["batch_key"] for i in result["items"]]
    # and the Map's per-item input (item + index + hour + execution) is small as well
    assert max(len(json.dumps(i)) for i in result["items"]) < 512


def test_processed_objects_and_partitions_outside_the_window_are_not_listed(
    lake: Lake, database_url: str
) -> None:
    put_objects(lake, HOUR - timedelta(hours=5), 2)  # before watermark minus lookback
    put_objects(lake, HOUR - timedelta(hours=1), 3)
    put_objects(lake, HOUR, 2)
    put_objects(lake, HOUR + timedelta(hours=1), 4)  # after the hour
    done = f"{partition_prefix(HOUR)}events-000000.ndjson.gz"
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "insert into etl_watermark (watermark_hour, execution_name) values (%s, 'x')",
            (HOUR - timedelta(hours=1),),
        )
        conn.execute(
            """insert into etl_processed_objects (object_key, etag, size_bytes, partition_hour,
               execution_name, lines_read, loaded, duplicates, rejected)
               values (%s, 'e', 0, %s, 'x', 0, 0, 0, 0)""",
            (done, HOUR),
        )
    with db.connect(database_url) as conn:
        result = list_new(lake, conn, HOUR, "hour-2025-10-18T13", 2, max_objects=200, max_bytes=10**9)
    planned = {o["key"] for item in result["items"] for o in lake.get_json(item["work_key"])["objects"]}
    assert len(planned) == 3 + 1
    assert done not in planned
    assert result["listed_from"] == "2025-10-18T10:00:00Z"
    assert result["watermark_to"] == "2025-10-18T13:00:00Z" and result["truncated"] is False


def test_an_hour_with_nothing_new_still_writes_an_empty_worklist(lake: Lake, database_url: str) -> None:
    with db.connect(database_url) as conn:
        result = list_new(lake, conn, HOUR, "hour-2025-10-18T13", 2, max_objects=200, max_bytes=10**9)
    assert result["items"] == [] and result["objects"] == 0
    assert lake.get_json(result["worklist"])["items"] == []


def test_the_handler_takes_the_states_parameters_and_returns_the_result_model(
    lake: Lake, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clickstream.core.settings import get_settings
    from clickstream.pipeline.states import ListNewResult
    from functions.list_new import handler as list_new_handler

    # Given two partitions of new objects and the handler's settings
    put_objects(lake, HOUR - timedelta(hours=1), 2)
    put_objects(lake, HOUR, 3)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LAKE_BUCKET", lake.bucket)
    get_settings.cache_clear()
    try:
        # When ListNew runs with what its Parameters build (options: the execution input)
        event = {
            "hour": "2025-10-18T13:00:00Z",
            "execution": "hour-2025-10-18T13",
            "options": {"hour": "2025-10-18T13:00:00Z", "lookback_hours": 0, "since": "2025-10-18T12"},
        }
        result = list_new_handler.handler(event, LambdaContext("list_new", memory_limit_in_mb=512))
    finally:
        get_settings.cache_clear()
    # Then it returns the library's result unchanged, as the model's JSON
    with db.connect(database_url) as conn:
        direct = list_new(
            lake,
            conn,
            HOUR,
            "hour-2025-10-18T13",
            0,
            max_objects=200,
            max_bytes=256 * 1024 * 1024,
            since=HOUR - timedelta(hours=1),
        )
    assert result == direct == ListNewResult.model_validate(direct).model_dump(mode="json")
    assert result["objects"] == 5 and result["listed_from"] == "2025-10-18T12:00:00Z"


def test_the_health_snapshot_under_ops_is_never_listed(lake: Lake, database_url: str) -> None:
    # Given notify's health snapshot in the lake beside raw objects, no watermark yet (the widest
    # listing: every raw partition up to the hour)
    lake.put_json(HEALTH_SNAPSHOT, {"version": 1})
    put_objects(lake, HOUR - timedelta(hours=30), 1)
    put_objects(lake, HOUR, 2)
    with db.connect(database_url) as conn:
        result = list_new(lake, conn, HOUR, "hour-2025-10-18T13", 2, max_objects=200, max_bytes=10**9)
    planned = {o["key"] for item in result["items"] for o in lake.get_json(item["work_key"])["objects"]}
    assert result["objects"] == 3 and len(planned) == 3
    assert all(key.startswith(RAW) for key in planned) and HEALTH_SNAPSHOT not in planned
