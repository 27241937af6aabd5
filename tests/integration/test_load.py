"""The load states against a real PostgreSQL and moto S3: exactly once, counts that reconcile."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from clickstream.core import db
from clickstream.core.errors import ContractViolation, StagedDataMissing
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from clickstream.pipeline.bots import RULES_VERSION
from clickstream.pipeline.sessionize import session_uuid
from tests.support.staged import BASE_TS, StagedObjectSpec, Stager, raw_key, staged_event

HOUR = BASE_TS
TABLES = ("fact_events", "dim_product", "etl_processed_objects", "etl_rejects", "etl_watermark", "etl_runs")


def upsert(database_url: str, lake: Lake, execution: str, worklist: str | None) -> dict[str, Any]:
    with db.connect(database_url) as conn:
        return load.upsert(conn, lake, execution=execution, hour=HOUR, worklist_key=worklist)


def check_staged(database_url: str, lake: Lake, execution: str, worklist: str | None) -> dict[str, Any]:
    with db.connect(database_url) as conn:
        return load.check_staged_batches(conn, lake, execution=execution, hour=HOUR, worklist_key=worklist)


def advance(
    database_url: str, execution: str, hour: datetime = HOUR, now: datetime | None = None
) -> dict[str, Any]:
    with db.connect(database_url) as conn:
        return load.advance_watermark(conn, execution=execution, hour=hour, now=now)


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the warehouse tables the load writes (timestamps of bookkeeping included)."""
    with psycopg.connect(database_url) as conn:
        return {t: conn.execute(f"select * from {t} order by 1, 2").fetchall() for t in TABLES}


def scalar(database_url: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def objects(database_url: str) -> dict[str, tuple[int, int, int, int]]:
    """object_key -> (lines_read, loaded, duplicates, rejected)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "select object_key, lines_read, loaded, duplicates, rejected from etl_processed_objects"
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


@dataclass
class Ids:
    """Readable event ids: Ids().a, .b, ... are stable uuids within a test."""

    def __getattr__(self, name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


ids = Ids()


def test_upsert_loads_rows_records_objects_and_rejects_and_reconciles(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    # Given one batch of two objects, with in-batch duplicates, rejects and filtered bot and spam
    # lines, and an empty batch
    first = StagedObjectSpec(
        raw_key("one"),
        [staged_event(ids.a), staged_event(ids.b, ts=HOUR - timedelta(days=1))],
        duplicates=2,
        rejects={"invalid_json": 1, "missing_event_id": 2},
    )
    second = StagedObjectSpec(
        raw_key("two"),
        [staged_event(ids.c)],
        rejects={"bad_ts": 1},
        filters={"bot_user_agent": {"Googlebot": 2}, "referrer_spam": {"semalt.com": 1}},
    )
    quarantined = StagedObjectSpec(raw_key("three"), [], rejects={"corrupt_gzip": 5}, quarantined=True)
    batches = [stager.batch("exec-1", 0, [first, second]), stager.batch("exec-1", 1, [quarantined])]
    worklist = stager.worklist("exec-1", batches)

    # When the run is staged and upserted
    staged = check_staged(database_url, lake, "exec-1", worklist)
    result = upsert(database_url, lake, "exec-1", worklist)

    # Then every staged row is a fact, and the counts reconcile per object and in total
    assert staged == {"status": "STAGED", "batches": 2, "objects": 3, "rows": 3, "checked": True}
    assert result == {
        "objects": 3,
        "lines_read": 17,
        "loaded": 3,
        "duplicates": 2,
        "rejected": 9,
        "filtered": 3,
        "quarantined": 1,
        "skipped_objects": 0,
        "sessions_replaced": 0,
        "sessions_written": 2,  # a and c at the same instant, b a day before
        "events_resessioned": 0,
        "dates": ["2025-10-17", "2025-10-18"],
        "dates_truncated": False,
        "replayed": False,
    }
    assert scalar(database_url, "select count(*) from fact_events") == 3
    assert objects(database_url) == {
        raw_key("one"): (7, 2, 2, 3),
        raw_key("two"): (5, 1, 0, 1),
        raw_key("three"): (5, 0, 0, 5),
    }
    with psycopg.connect(database_url) as conn:
        rejects = conn.execute(
            "select object_key, reason, count_lines from etl_rejects order by 1, 2"
        ).fetchall()
        run = conn.execute(
            "select status, objects, lines_read, loaded, duplicates, rejected, quarantined,"
            " upserted_at is not null from etl_runs"
        ).fetchone()
        filtered = conn.execute(
            "select object_key, reason, family, count_lines from etl_filtered order by 1, 2, 3"
        ).fetchall()
        run_filtered = conn.execute("select filtered, rules_version from etl_runs").fetchone()
        object_filtered = conn.execute(
            "select object_key, filtered from etl_processed_objects order by 1"
        ).fetchall()
        quarantine_flag = conn.execute(
            "select is_quarantined from etl_processed_objects where object_key = %s", (raw_key("three"),)
        ).fetchone()
    assert rejects == [
        (raw_key("one"), "invalid_json", 1),
        (raw_key("one"), "missing_event_id", 2),
        (raw_key("three"), "corrupt_gzip", 5),
        (raw_key("two"), "bad_ts", 1),
    ]
    assert run == ("UPSERTED", 3, 17, 3, 2, 9, 1, True)
    assert filtered == [
        (raw_key("two"), "bot_user_agent", "Googlebot", 2),
        (raw_key("two"), "referrer_spam", "semalt.com", 1),
    ]
    assert run_filtered == (3, RULES_VERSION)
    assert object_filtered == [(raw_key("one"), 0), (raw_key("three"), 0), (raw_key("two"), 3)]
    assert quarantine_flag == (True,)


def test_fact_rows_keep_every_staged_value(database_url: str, lake: Lake, stager: Stager) -> None:
    event = staged_event(
        ids.full,
        event_type="purchase",
        user_hash="h" * 64,
        referrer="https://www.google.com/search?q=x\ty",
        referrer_host="www.google.com",
        utm_source="news",
        channel="Organic Search",
        product_id="p-1",
        category="shoes",
        currency="EUR",
        price="79.99",
        qty=2,
        revenue="159.98",
        search_query="back\\slash\nnewline",
        props='{"k": [1, 2]}',
        is_ts_clamped=True,
    )
    worklist = stager.worklist(
        "exec-1", [stager.batch("exec-1", 0, [StagedObjectSpec(raw_key("x"), [event])])]
    )

    upsert(database_url, lake, "exec-1", worklist)

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select referrer, search_query, props, price, qty, revenue, is_ts_clamped, session_id, event_date"
            " from fact_events"
        ).fetchone()
    assert row == (
        "https://www.google.com/search?q=x\ty",
        "back\\slash\nnewline",
        {"k": [1, 2]},
        Decimal("79.99"),
        2,
        Decimal("159.98"),
        True,
        session_uuid("anon-1", HOUR),  # the session it belongs to, set when it is inserted
        HOUR.date(),
    )


def test_loading_again_changes_nothing(database_url: str, lake: Lake, stager: Stager) -> None:
    spec = StagedObjectSpec(raw_key("one"), [staged_event(ids.a), staged_event(ids.b)], rejects={"x": 1})
    worklist = stager.worklist("exec-1", [stager.batch("exec-1", 0, [spec])])
    first = upsert(database_url, lake, "exec-1", worklist)
    before = snapshot(database_url)

    # When the same execution's SessionizeAndUpsert runs again (a crash after the commit, then a retry)
    again = upsert(database_url, lake, "exec-1", worklist)

    # Then it returns the recorded result and the warehouse is unchanged, to the timestamp
    assert again == {**first, "replayed": True}
    assert snapshot(database_url) == before


def test_a_redelivered_batch_in_another_execution_changes_nothing(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    spec = StagedObjectSpec(raw_key("one"), [staged_event(ids.a), staged_event(ids.b)], duplicates=1)
    batch = stager.batch("exec-1", 0, [spec])
    upsert(database_url, lake, "exec-1", stager.worklist("exec-1", [batch]))
    before = snapshot(database_url)

    # When a later execution's worklist delivers the same batch again
    result = upsert(database_url, lake, "exec-2", stager.worklist("exec-2", [batch]))

    # Then its objects are skipped: no fact, no manifest row, and its run says so
    assert result["objects"] == 0 and result["loaded"] == 0 and result["skipped_objects"] == 1
    after = snapshot(database_url)
    assert {t: rows for t, rows in after.items() if t != "etl_runs"} == {
        t: rows for t, rows in before.items() if t != "etl_runs"
    }
    assert scalar(database_url, "select skipped_objects from etl_runs where execution_name = 'exec-2'") == 1


def test_an_object_listed_twice_in_one_run_is_loaded_once(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    spec = StagedObjectSpec(raw_key("one"), [staged_event(ids.a), staged_event(ids.b)])
    other = StagedObjectSpec(raw_key("two"), [staged_event(ids.c)])
    batches = [stager.batch("exec-1", 0, [spec]), stager.batch("exec-1", 1, [other, spec])]

    result = upsert(database_url, lake, "exec-1", stager.worklist("exec-1", batches))

    assert (result["objects"], result["loaded"], result["duplicates"], result["skipped_objects"]) == (
        2,
        3,
        0,
        1,
    )
    assert objects(database_url) == {raw_key("one"): (2, 2, 0, 0), raw_key("two"): (1, 1, 0, 0)}


def test_cross_batch_and_already_loaded_copies_are_duplicates(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    # Given an event already in the warehouse from an earlier run
    earlier = stager.batch("exec-0", 0, [StagedObjectSpec(raw_key("old"), [staged_event(ids.old)])])
    upsert(database_url, lake, "exec-0", stager.worklist("exec-0", [earlier]))

    # And a run whose second batch repeats an event of its first batch, and the old event
    first = StagedObjectSpec(raw_key("one"), [staged_event(ids.a, anonymous_id="first"), staged_event(ids.b)])
    second = StagedObjectSpec(
        raw_key("two"),
        [staged_event(ids.a, anonymous_id="second"), staged_event(ids.old), staged_event(ids.c)],
        duplicates=1,
    )
    batches = [stager.batch("exec-1", 0, [first]), stager.batch("exec-1", 1, [second])]

    result = upsert(database_url, lake, "exec-1", stager.worklist("exec-1", batches))

    # Then the first copy in (batch, object) order is loaded, the others count as duplicates
    assert (result["loaded"], result["duplicates"], result["lines_read"]) == (3, 3, 6)
    assert objects(database_url)[raw_key("one")] == (2, 2, 0, 0)
    assert objects(database_url)[raw_key("two")] == (4, 1, 3, 0)
    assert (
        scalar(database_url, "select anonymous_id from fact_events where event_id = %s", (ids.a,)) == "first"
    )
    assert scalar(database_url, "select count(*) from fact_events") == 4


def test_within_a_batch_the_earlier_object_wins(database_url: str, lake: Lake, stager: Stager) -> None:
    # Transform dedupes within a batch; should a copy slip through, the lower src still wins.
    one = StagedObjectSpec(raw_key("one"), [staged_event(ids.a, anonymous_id="src0")])
    two = StagedObjectSpec(raw_key("two"), [staged_event(ids.a, anonymous_id="src1")])
    result = upsert(
        database_url, lake, "exec-1", stager.worklist("exec-1", [stager.batch("exec-1", 0, [two, one])])
    )

    assert (result["loaded"], result["duplicates"]) == (1, 1)
    assert scalar(database_url, "select anonymous_id from fact_events") == "src1"
    assert objects(database_url)[raw_key("two")] == (1, 1, 0, 0)


def test_dim_product_keeps_first_and_last_seen_and_the_newest_attributes(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    def product_event(name: str, minutes: int, price: str, category: str) -> dict[str, Any]:
        return staged_event(
            getattr(ids, name),
            ts=HOUR + timedelta(minutes=minutes),
            product_id="p-1",
            category=category,
            currency="EUR",
            price=price,
            qty=1,
        )

    run1 = [product_event("e1", 10, "10.00", "shoes"), product_event("e2", 20, "12.00", "sneakers")]
    worklist = stager.worklist(
        "exec-1", [stager.batch("exec-1", 0, [StagedObjectSpec(raw_key("one"), run1)])]
    )
    upsert(database_url, lake, "exec-1", worklist)
    # A late event (older than the newest) moves first_seen_at only; a newer one takes over the attributes
    run2 = [product_event("e0", -30, "9.00", "old"), product_event("e3", 40, "15.00", "boots")]
    worklist = stager.worklist(
        "exec-2", [stager.batch("exec-2", 0, [StagedObjectSpec(raw_key("two"), run2)])]
    )
    upsert(database_url, lake, "exec-2", worklist)

    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "select category, last_price, currency, first_seen_at, last_seen_at, last_event_id::text"
            " from dim_product"
        ).fetchone()
    assert row == (
        "boots",
        Decimal("15.00"),
        "EUR",
        HOUR - timedelta(minutes=30),
        HOUR + timedelta(minutes=40),
        ids.e3,
    )


def test_dim_product_is_named_by_its_newest_event_that_carries_a_name(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    def named(event_id: str, minutes: int, name: str | None) -> dict[str, Any]:
        return staged_event(
            getattr(ids, event_id),
            ts=HOUR + timedelta(minutes=minutes),
            product_id="p-1",
            category="laptops",
            currency="EUR",
            price="10.00",
            qty=1,
            product_name=name,
        )

    def run(execution: str, events: list[dict[str, Any]]) -> str | None:
        batch = stager.batch(execution, 0, [StagedObjectSpec(raw_key(execution), events)])
        upsert(database_url, lake, execution, stager.worklist(execution, [batch]))
        return scalar(database_url, "select product_name from dim_product")

    # the run's newest event has no name: the newest one that has wins
    assert run("exec-1", [named("e1", 10, "XPS 13"), named("e2", 20, None)]) == "XPS 13"
    # a newer event without a name keeps it; an older (late) one with another name does not take over
    assert run("exec-2", [named("e3", 30, None), named("e0", -30, "XPS 13 (old)")]) == "XPS 13"
    # a newer name replaces it
    assert run("exec-3", [named("e4", 40, "XPS 13 9340")]) == "XPS 13 9340"


def test_an_empty_or_missing_worklist_still_records_the_run(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    assert check_staged(database_url, lake, "exec-1", None)["batches"] == 0
    result = upsert(database_url, lake, "exec-1", None)
    assert (result["objects"], result["loaded"], result["dates"]) == (0, 0, [])
    empty = stager.worklist("exec-2", [])
    assert upsert(database_url, lake, "exec-2", empty)["objects"] == 0
    assert scalar(database_url, "select count(*) from etl_runs where status = 'UPSERTED'") == 2


def test_missing_staged_data_is_a_typed_error(database_url: str, lake: Lake, stager: Stager) -> None:
    spec = StagedObjectSpec(raw_key("one"), [staged_event()])
    batch = stager.batch("exec-1", 0, [spec])
    worklist = stager.worklist("exec-1", [batch, "staged/exec-1/batches/00009"])

    with pytest.raises(StagedDataMissing, match=r"00009\.json"):
        check_staged(database_url, lake, "exec-1", worklist)
    with pytest.raises(StagedDataMissing):
        upsert(database_url, lake, "exec-1", worklist)

    lake.client.delete_object(Bucket=lake.bucket, Key=f"{batch}.tsv.gz")
    with pytest.raises(StagedDataMissing, match=r"\.tsv\.gz"):
        check_staged(database_url, lake, "exec-1", stager.worklist("exec-1", [batch]))
    assert scalar(database_url, "select count(*) from etl_runs") == 0


def test_staged_rows_that_disagree_with_the_manifest_load_nothing(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    spec = StagedObjectSpec(raw_key("one"), [staged_event(), staged_event()])
    batch = stager.batch("exec-1", 0, [spec])
    manifest = lake.get_json(f"{batch}.json")
    manifest["objects"][0]["staged"] = 3
    manifest["objects"][0]["lines_read"] = 3
    manifest["rows"] = 3
    lake.put_json(f"{batch}.json", manifest)

    with pytest.raises(ContractViolation, match="2 staged rows, its manifest says 3"):
        upsert(database_url, lake, "exec-1", stager.worklist("exec-1", [batch]))
    assert scalar(database_url, "select count(*) from fact_events") == 0


def test_a_malformed_staged_row_is_a_contract_violation(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    spec = StagedObjectSpec(raw_key("one"), [staged_event(), staged_event(event_type=None)])
    batch = stager.batch("exec-1", 0, [spec])

    with pytest.raises(ContractViolation, match="does not match the staged format"):
        upsert(database_url, lake, "exec-1", stager.worklist("exec-1", [batch]))
    assert snapshot(database_url) == {t: [] for t in TABLES}


def test_a_manifest_whose_counts_do_not_add_up_is_refused(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    batch = stager.batch("exec-1", 0, [StagedObjectSpec(raw_key("one"), [staged_event()])])
    manifest = lake.get_json(f"{batch}.json")
    manifest["objects"][0]["lines_read"] = 5
    lake.put_json(f"{batch}.json", manifest)

    with pytest.raises(ContractViolation, match="lines_read 5"):
        check_staged(database_url, lake, "exec-1", stager.worklist("exec-1", [batch]))


def test_advance_watermark_refuses_before_upsert_is_monotonic_and_marks_succeeded(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    worklist = stager.worklist("exec-1", [])
    check_staged(database_url, lake, "exec-1", worklist)

    # Before SessionizeAndUpsert committed: refused, nothing moves
    with pytest.raises(load.RunNotUpserted, match="exec-1 is STAGED"):
        advance(database_url, "exec-1")
    with pytest.raises(load.RunNotUpserted, match="no run recorded"):
        advance(database_url, "exec-unknown")
    assert scalar(database_url, "select count(*) from etl_watermark") == 0

    upsert(database_url, lake, "exec-1", worklist)
    now = HOUR + timedelta(hours=1, minutes=30)
    result = advance(database_url, "exec-1", now=now)
    assert result == {"watermark": "2025-10-18T13:00:00Z", "freshness_minutes": 30.0}
    assert scalar(database_url, "select status from etl_runs where execution_name = 'exec-1'") == "SUCCEEDED"
    finished = scalar(database_url, "select finished_at from etl_runs where execution_name = 'exec-1'")

    # An earlier hour (a backfill, a redrive) never moves the watermark back
    upsert(database_url, lake, "exec-0", None)
    assert (
        advance(database_url, "exec-0", HOUR - timedelta(hours=5), now=now)["watermark"]
        == "2025-10-18T13:00:00Z"
    )
    assert scalar(database_url, "select execution_name from etl_watermark") == "exec-1"

    # A retry of the same state changes nothing but the answer's freshness
    assert advance(database_url, "exec-1", now=now) == result
    assert (
        scalar(database_url, "select finished_at from etl_runs where execution_name = 'exec-1'") == finished
    )

    # A later hour moves it on, but never past the last closed hour: at 14:30 that is 13:00
    upsert(database_url, lake, "exec-2", None)
    assert advance(database_url, "exec-2", HOUR + timedelta(days=365), now=now)["watermark"] == (
        "2025-10-18T13:00:00Z"
    )
    assert (
        advance(database_url, "exec-2", HOUR + timedelta(hours=1), now=now + timedelta(hours=1))["watermark"]
        == "2025-10-18T14:00:00Z"
    )


def test_check_staged_batches_leaves_a_committed_run_alone(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    upsert(database_url, lake, "exec-1", None)
    advance(database_url, "exec-1", now=datetime.now(UTC))
    assert check_staged(database_url, lake, "exec-1", None)["status"] == "SUCCEEDED"
    assert scalar(database_url, "select status from etl_runs") == "SUCCEEDED"
