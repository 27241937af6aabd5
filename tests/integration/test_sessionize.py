"""Sessions through SessionizeAndUpsert on a real PostgreSQL: the edge cases of DESIGN.md "Session", by name.

Each test loads staged runs with ``load.upsert`` (as the SessionizeAndUpsert state does),
then checks the sessions it is about and that the whole warehouse equals the
from-scratch batch of clickstream/tools/reference.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from clickstream.core import db
from clickstream.core.storage import Lake
from clickstream.pipeline import load
from clickstream.pipeline.sessionize import session_uuid
from clickstream.tools import reference
from tests.support.staged import StagedObjectSpec, Stager, raw_key, staged_event

T = datetime(2025, 10, 18, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def eid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"event/{name}"))


def event(name: str, ts: datetime, visitor: str = "v1", **overrides: Any) -> dict[str, Any]:
    return staged_event(eid(name), ts=ts, anonymous_id=visitor, **overrides)


class Runs:
    """Upserts runs of staged partitions into one database, execution after execution."""

    def __init__(self, database_url: str, lake: Lake, stager: Stager) -> None:
        self.database_url = database_url
        self.lake = lake
        self.stager = stager
        self.count = 0

    def run(self, *partitions: list[dict[str, Any]]) -> dict[str, Any]:
        """One execution; each partition is one raw object in a batch of its own."""
        self.count += 1
        execution = f"exec-{self.count}"
        batches = [
            self.stager.batch(execution, i, [StagedObjectSpec(raw_key(f"{execution}-{i}"), events)])
            for i, events in enumerate(partitions)
        ]
        with db.connect(self.database_url) as conn:
            return load.upsert(
                conn,
                self.lake,
                execution=execution,
                hour=T,
                worklist_key=self.stager.worklist(execution, batches),
            )

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchall()

    def sessions(self) -> list[tuple[Any, ...]]:
        """(anonymous_id, session_start, session_end, count_events) of every session, in order."""
        return self.query(
            "select anonymous_id, session_start, session_end, count_events from fact_sessions order by 1, 2"
        )

    def session_of(self, name: str) -> uuid.UUID:
        return self.query("select session_id from fact_events where event_id = %s", (eid(name),))[0][0]

    def assert_exact(self) -> None:
        with psycopg.connect(self.database_url) as conn:
            assert reference.compare(conn) == []


def runs_for(database_url: str, lake: Lake, stager: Stager) -> Runs:
    return Runs(database_url, lake, stager)


def test_a_session_crossing_midnight_is_one_session_counted_on_the_day_it_starts(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = runs_for(database_url, lake, stager)
    late_evening = datetime(2025, 10, 18, 23, 50, tzinfo=UTC)
    # Given a session that starts at 23:50, loaded by the run of its hour
    runs.run([event("a", late_evening, device_type="mobile"), event("b", late_evening + 5 * MIN)])
    # When the next hour's run brings its events after midnight
    result = runs.run([event("c", late_evening + 20 * MIN, device_type="desktop")])

    # Then it is one session, counted on the 18th, with its first event's device
    assert runs.sessions() == [("v1", late_evening, late_evening + 20 * MIN, 3)]
    assert result["sessions_replaced"] == 1 and result["sessions_written"] == 1
    assert result["events_resessioned"] == 0  # the start did not change, so neither did the id
    assert runs.query("select session_date, start_hour, device_type from fact_sessions") == [
        (date(2025, 10, 18), 23, "mobile")
    ]
    assert runs.query("select session_date, count_sessions from agg_daily_sessions") == [
        (date(2025, 10, 18), 1)
    ]
    # and each day's activity counts in the session's slice, on the day of the event
    assert runs.query(
        "select activity_date, device_type, count_events from agg_daily_visitors order by 1"
    ) == [(date(2025, 10, 18), "mobile", 2), (date(2025, 10, 19), "mobile", 1)]
    runs.assert_exact()


def test_a_late_event_far_behind_the_window_extends_or_restarts_its_session(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = runs_for(database_url, lake, stager)
    runs.run([event("a", T), event("b", T + 20 * MIN)])
    first_id = runs.session_of("a")
    assert first_id == session_uuid("v1", T)
    runs.run([event("other", T + 5 * timedelta(hours=1), visitor="v2")])  # the window moves on

    # When an event 45 minutes after the start arrives hours later
    extended = runs.run([event("c", T + 45 * MIN)])
    # Then it extends the session, which keeps its id
    assert runs.sessions()[0] == ("v1", T, T + 45 * MIN, 3)
    assert runs.session_of("c") == first_id
    assert (extended["sessions_replaced"], extended["sessions_written"], extended["events_resessioned"]) == (
        1,
        1,
        0,
    )

    # When an event 25 minutes before the start arrives, a day late
    restarted = runs.run([event("d", T - 25 * MIN)])
    # Then the session starts earlier: a new id, every stored event moved to it, the old id gone
    new_id = session_uuid("v1", T - 25 * MIN)
    assert runs.sessions()[0] == ("v1", T - 25 * MIN, T + 45 * MIN, 4)
    assert {runs.session_of(n) for n in "abcd"} == {new_id}
    assert runs.query("select count(*) from fact_sessions where session_id = %s", (first_id,)) == [(0,)]
    assert (
        restarted["sessions_replaced"],
        restarted["sessions_written"],
        restarted["events_resessioned"],
    ) == (1, 1, 3)
    runs.assert_exact()


def test_a_late_event_bridges_two_sessions_into_one(database_url: str, lake: Lake, stager: Stager) -> None:
    runs = runs_for(database_url, lake, stager)
    # Given two sessions 40 minutes apart, the second one bought something
    runs.run(
        [
            event("a", T, channel="Organic Search"),
            event("b", T + 40 * MIN, channel="Email"),
            event(
                "c",
                T + 41 * MIN,
                event_type="purchase",
                product_id="p-1",
                currency="EUR",
                price="10.00",
                qty=2,
                revenue="20.00",
            ),
        ]
    )
    assert [s[3] for s in runs.sessions()] == [1, 2]
    assert runs.query("select channel, count_sessions from agg_daily_sessions order by 1") == [
        ("Email", 1),
        ("Organic Search", 1),
    ]

    # When a late event lands between them
    result = runs.run([event("late", T + 20 * MIN)])

    # Then they are one session, with the first one's id and channel, and the revenue moves with it
    assert runs.sessions() == [("v1", T, T + 41 * MIN, 4)]
    assert {runs.session_of(n) for n in ("a", "b", "c", "late")} == {session_uuid("v1", T)}
    assert (result["sessions_replaced"], result["sessions_written"], result["events_resessioned"]) == (
        2,
        1,
        2,
    )
    assert runs.query("select channel, count_sessions from agg_daily_sessions") == [("Organic Search", 1)]
    assert runs.query("select channel, currency, orders, units, revenue from agg_daily_revenue") == [
        ("Organic Search", "EUR", 1, 2, Decimal("20.00"))
    ]
    assert runs.query("select channel, count_events from agg_daily_visitors") == [("Organic Search", 4)]
    runs.assert_exact()


def test_a_gap_of_exactly_30_minutes_does_not_split_one_millisecond_more_does(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = runs_for(database_url, lake, stager)
    ms = timedelta(milliseconds=1)
    runs.run([event("a", T), event("b", T + 30 * MIN)])
    runs.run(
        [
            event("c", T + 60 * MIN + ms),
            event("x", T, visitor="v2"),
            event("y", T + 30 * MIN + ms, visitor="v2"),
        ]
    )
    assert runs.sessions() == [
        ("v1", T, T + 30 * MIN, 2),
        ("v1", T + 60 * MIN + ms, T + 60 * MIN + ms, 1),
        ("v2", T, T, 1),
        ("v2", T + 30 * MIN + ms, T + 30 * MIN + ms, 1),
    ]
    runs.assert_exact()


def test_equal_timestamps_are_ordered_by_event_id(database_url: str, lake: Lake, stager: Stager) -> None:
    runs = runs_for(database_url, lake, stager)
    # Given a view and an add_to_cart at the same instant, for two visitors, in both id orders
    for visitor, view_first in (("view-first", True), ("cart-first", False)):
        low, high = sorted([eid(f"{visitor}-1"), eid(f"{visitor}-2")])
        view_id, cart_id = (low, high) if view_first else (high, low)
        runs.run(
            [
                staged_event(view_id, ts=T, anonymous_id=visitor, page_path="/p/1", device_type="tablet"),
                staged_event(
                    cart_id,
                    ts=T,
                    anonymous_id=visitor,
                    event_type="add_to_cart",
                    page_path="/cart",
                    device_type="mobile",
                ),
            ]
        )
    # Then the smaller event_id comes first: entry page, device, and whether the cart follows a view
    assert runs.query(
        "select anonymous_id, entry_page, exit_page, device_type, funnel_step, reached_cart"
        " from fact_sessions order by 1"
    ) == [
        ("cart-first", "/cart", "/p/1", "mobile", 1, True),
        ("view-first", "/p/1", "/cart", "tablet", 2, True),
    ]
    runs.assert_exact()


def test_a_visitor_in_two_partitions_of_one_run_gets_one_session(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = runs_for(database_url, lake, stager)
    # Given the visitor's events split over two partitions (the second also brings a late one)
    result = runs.run(
        [event("a", T + 50 * MIN), event("b", T + 55 * MIN)],
        [event("c", T + 65 * MIN), event("late", T + 30 * MIN)],
    )
    assert runs.sessions() == [("v1", T + 30 * MIN, T + 65 * MIN, 4)]
    assert (result["sessions_replaced"], result["sessions_written"], result["events_resessioned"]) == (
        0,
        1,
        0,
    )
    runs.assert_exact()


def test_a_run_touches_only_the_sessions_near_its_events(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = runs_for(database_url, lake, stager)
    # Given a visitor with 30 days of one-session-a-day history, and another visitor
    runs.run(
        [event(f"day-{d}-{i}", T - timedelta(days=d) + i * MIN) for d in range(1, 31) for i in range(3)]
        + [event("other", T, visitor="v2")]
    )
    before = runs.query("select session_id, session_end from fact_sessions order by 1")

    # When the visitor comes back today, and a late event of day 7 arrives with it
    result = runs.run([event("today", T), event("late", T - timedelta(days=7) + 20 * MIN)])

    # Then one session is written new, one replaced by its extension; nothing else is rewritten
    assert (result["sessions_replaced"], result["sessions_written"], result["events_resessioned"]) == (
        1,
        2,
        0,
    )
    after = dict(runs.query("select session_id, session_end from fact_sessions"))
    changed = {sid for sid, end in before if after.get(sid) != end}
    assert changed == {session_uuid("v1", T - timedelta(days=7))}
    assert result["dates"] == [(T - timedelta(days=7)).date().isoformat(), T.date().isoformat()]
    runs.assert_exact()


def test_loading_the_same_objects_again_changes_no_session_or_aggregate(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = runs_for(database_url, lake, stager)
    spec = StagedObjectSpec(raw_key("one"), [event("a", T), event("b", T + 10 * MIN)])
    batch = stager.batch("exec-a", 0, [spec])
    tables = ("fact_sessions", "fact_session_revenue", "agg_daily_sessions", "agg_daily_visitors")
    with db.connect(database_url) as conn:
        load.upsert(conn, lake, execution="exec-a", hour=T, worklist_key=stager.worklist("exec-a", [batch]))
    before = {t: runs.query(f"select *, xmin::text from {t} order by 1") for t in tables}
    with db.connect(database_url) as conn:
        again = load.upsert(
            conn, lake, execution="exec-b", hour=T, worklist_key=stager.worklist("exec-b", [batch])
        )
    assert (again["loaded"], again["sessions_written"], again["dates"]) == (0, 0, [])
    assert {t: runs.query(f"select *, xmin::text from {t} order by 1") for t in tables} == before


def test_events_stored_without_a_session_get_one_with_the_next_run(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = runs_for(database_url, lake, stager)
    # Given a warehouse loaded before sessions existed: events without session_id, no sessions
    runs.run([event("a", T), event("b", T + 10 * MIN), event("x", T - timedelta(days=2), visitor="v2")])
    with psycopg.connect(database_url) as conn:
        conn.execute("update fact_events set session_id = null")
        conn.execute(
            "truncate fact_sessions, fact_session_revenue, agg_daily_sessions, agg_daily_revenue,"
            " agg_daily_visitors, agg_daily_product_visitors"
        )
    # When the next run loads one event of another visitor
    result = runs.run([event("new", T + timedelta(hours=3), visitor="v3")])
    # Then every stored event has its session again
    assert result["events_resessioned"] == 3
    assert runs.query("select count(*) from fact_events where session_id is null") == [(0,)]
    assert len(runs.sessions()) == 3
    runs.assert_exact()
