"""sql/005's rollups (visitor gaps, daily products) through SessionizeAndUpsert: exact after every run,
equal to the migration's backfill, and the dashboards' queries read from them give what the per-visitor
aggregates give (the same query with every slice selected takes the per-visitor path)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import psycopg
import pytest

from clickstream.core.storage import Lake
from clickstream.tools import reference
from tests.support.staged import Stager, staged_event
from tests.support.upsert import UpsertRuns

D0 = datetime(2025, 10, 1, 9, tzinfo=UTC)
ROLLUPS = (
    "visitor_activity_days",
    "agg_daily_visitor_gaps",
    "visitor_category_products",
    "agg_daily_products",
    "agg_daily_slices",
    "agg_daily_segments",
    "agg_hourly_sessions",
    "agg_daily_landings",
    "agg_daily_landings_all",
    "agg_daily_landing_revenue",
    "agg_daily_tech",
    "agg_daily_tech_revenue",
    "agg_daily_product_list_slices",
    "agg_daily_product_lists",
)


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return D0 + timedelta(days=day, hours=hour - 9, minutes=minute)


def ev(name: str, ts: datetime, visitor: str, kind: str = "view", product: str | None = None, **more: Any):
    extra: dict[str, Any] = {"event_type": kind, "product_id": product}
    if product is not None:
        extra["category"] = "laptops" if product.startswith("L") else "mice"
    if kind == "purchase":
        extra.update(currency="USD", price=Decimal("10.00"), qty=2, revenue=Decimal("20.00"))
    extra.update(more)
    return staged_event(
        uuid.uuid5(uuid.NAMESPACE_URL, f"rollups/{name}"), ts=ts, anonymous_id=visitor, **extra
    )


class Runs(UpsertRuns):
    PREFIX, HOUR = "rollups", at(12)

    def check(self) -> None:
        with psycopg.connect(self.url) as conn:
            assert reference.compare(conn) == []
            incremental = {
                t: sorted(conn.execute(f"select * from {t}").fetchall(), key=repr) for t in ROLLUPS
            }
            with conn.transaction(force_rollback=True):
                conn.execute("select rebuild_dashboard_rollups()")
                rebuilt = {
                    t: sorted(conn.execute(f"select * from {t}").fetchall(), key=repr) for t in ROLLUPS
                }
        assert incremental == rebuilt


RUNS = [
    # visitor a views L1 on days 0 and 40, buys it on day 45; b views M1 on day 2
    [
        ev("a0", at(0), "a", "view", "L1"),
        ev("a40", at(40), "a", "view", "L1"),
        ev("a45", at(45), "a", "purchase", "L1"),
        ev("b2", at(2), "b", "view", "M1"),
        ev("b2p", at(2, minute=5), "b", "view"),
    ],
    # late: a on day 20 (views L1 and M1, adds L1), which changes the gaps of days 40 and 45
    [
        ev("a20", at(20), "a", "view", "L1"),
        ev("a20m", at(20, minute=1), "a", "view", "M1"),
        ev("a20c", at(20, minute=2), "a", "add_to_cart", "L1"),
    ],
    # an earlier event of a on day 40 in another device: its session's slice changes, not its days
    [
        ev(
            "a40early",
            at(40, minute=-20),
            "a",
            "view",
            device_type="mobile",
            channel="Email",
            browser="Mobile Safari",
            os="iOS",
        )
    ],
    # b comes back on days 21 and 45 (a purchase), c on day 44 only; a again on day 0
    [
        ev("b21", at(21), "b", "view", "M1"),
        ev("b45", at(45, 18), "b", "purchase", "M1"),
        ev("c44", at(44), "c", "view", "L1", device_type="tablet", browser=None, os=None),
        ev("c44b", at(44, minute=3), "c", "purchase", "L1", browser="Firefox", os="Linux"),
        ev("a0b", at(0, 23), "a", "view", "M1"),
    ],
    # the same events again: nothing changes
    [ev("a20", at(20), "a", "view", "L1"), ev("b21", at(21), "b", "view", "M1")],
]


def test_rollups_stay_exact_after_every_run_and_equal_the_backfill(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = Runs(database_url, lake, stager)
    for events in RUNS:
        runs.run(events)
        runs.check()


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2025, 10, 1), date(2025, 11, 15)),
        (date(2025, 11, 10), date(2025, 11, 16)),
        (date(2025, 10, 21), date(2025, 10, 22)),
    ],
)
def test_queries_read_from_rollups_equal_the_per_visitor_ones(
    database_url: str, lake: Lake, stager: Stager, start: date, end: date
) -> None:
    import queries

    runs = Runs(database_url, lake, stager)
    for events in RUNS:
        runs.run(events)
    database = queries.Database(database_url)
    fast = queries.Filters(start=start, end=end)
    every_device = queries.Filters(start=start, end=end, devices=("desktop", "mobile", "tablet"))
    assert not fast.sliced and every_device.sliced
    for query in (
        queries.visitor_totals,
        queries.active_users_daily,
        queries.product_totals,
        queries.list_totals,
        queries.product_table,
        queries.category_table,
        queries.sessions_by_weekday_hour,
        queries.referrer_table,
        queries.campaign_table,
        queries.session_totals,
        queries.sessions_daily,
        lambda d, f: queries.funnel_by_segment(d, f, "country"),
        lambda d, f: queries.acquisition_breakdown(d, f, "device"),
        lambda d, f: queries.acquisition_breakdown(d, f, "browser"),
        lambda d, f: queries.acquisition_breakdown(d, f, "os"),
        lambda d, f: queries.funnel_by_segment(d, f, "browser"),
    ):
        by_rollups, per_visitor = query(database, fast), query(database, every_device)
        sort = [
            c
            for c in (
                "period",
                "day",
                "product_id",
                "category",
                "iso_dow",
                "start_hour",
                "referrer_host",
                "campaign",
            )
            if c in by_rollups.columns
        ]
        _frames_equal(by_rollups.sort_values(sort), per_visitor.sort_values(sort))

    # new visitors (DESIGN.md "New visitor"), from scratch: those whose first event is in the period
    with psycopg.connect(database_url) as conn:
        firsts = conn.execute("select anonymous_id, min(event_date) from fact_events group by 1").fetchall()
    for filters in (fast, every_device):
        totals = queries.by_period(queries.visitor_totals(database, filters))
        for period, (first, last) in (
            ("current", (start, end)),
            ("previous", (filters.previous_start, filters.previous_end)),
        ):
            expected = sum(1 for _, day in firsts if first <= day <= last)
            assert (totals[period]["new_visitors"] if period in totals else 0) == expected, (period, filters)


def test_category_days_follow_dim_product_when_a_product_changes_category(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = Runs(database_url, lake, stager)
    # L1 is a laptop when a and b view it (b also buys M1, a mouse)
    runs.run([ev("ca0", at(0), "a", "view", "L1"), ev("cb3", at(3), "b", "view", "L1")])
    runs.check()
    runs.run([ev("cb4", at(4), "b", "purchase", "M1"), ev("ca6", at(6), "a", "view", "M1")])
    runs.check()
    # a newer event files L1 under mice: a's and b's category days move with it
    runs.run([ev("cc5", at(5), "c", "view", "L1", category="mice")])
    runs.check()
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "select category from visitor_category_products where product_id = 'L1'"
        ).fetchone() == ("mice",)
    # an older event with yet another category changes nothing (dim_product keeps the newest)
    runs.run([ev("cd1", at(1), "d", "view", "L1", category="tablets")])
    runs.check()


@pytest.mark.parametrize("by", ["browser", "os"])
@pytest.mark.parametrize("devices", [(), ("mobile", "tablet")])
def test_browser_and_os_breakdowns_equal_a_count_over_the_sessions(
    database_url: str, lake: Lake, stager: Stager, by: str, devices: tuple[str, ...]
) -> None:
    import queries

    runs = Runs(database_url, lake, stager)
    for events in RUNS:
        runs.run(events)
    # the expected numbers, counted in Python from fact_sessions (exact: reference.compare) and
    # fact_session_revenue, one session at a time
    with psycopg.connect(database_url) as conn:
        sessions = conn.execute(
            f"select session_id, {by}, device_type, is_engaged, count_page_views, funnel_step"
            " from fact_sessions where session_date between '2025-10-01' and '2025-11-15'"
        ).fetchall()
        revenue = conn.execute(
            "select session_id, currency, orders, revenue from fact_session_revenue"
        ).fetchall()
    expected: dict[str, dict[str, Any]] = {}
    segment_of: dict[Any, str] = {}
    for session_id, value, device, engaged, page_views, step in sessions:
        if devices and device not in devices:
            continue
        segment_of[session_id] = value or ""
        row = expected.setdefault(
            value or "",
            {"sessions": 0, "engaged_sessions": 0, "page_views": 0, "purchase_sessions": 0, "orders": 0},
        )
        row["sessions"] += 1
        row["engaged_sessions"] += int(engaged)
        row["page_views"] += page_views
        row["purchase_sessions"] += int(step == 4)
    money: dict[str, dict[str, float]] = {segment: {} for segment in expected}
    for session_id, currency, orders, amount in revenue:
        if session_id in segment_of:
            segment = segment_of[session_id]
            expected[segment]["orders"] += orders
            money[segment][currency] = money[segment].get(currency, 0.0) + float(amount)
    assert len(expected) >= 2  # the runs have more than one browser and OS, and unknown ones

    f = queries.Filters(start=date(2025, 10, 1), end=date(2025, 11, 15), devices=devices)
    frame = queries.acquisition_breakdown(queries.Database(database_url), f, by)
    got = {
        row["segment"]: {
            k: row[k] for k in ("sessions", "engaged_sessions", "page_views", "purchase_sessions", "orders")
        }
        for row in frame.to_dict("records")
    }
    assert got == expected
    assert {
        row["segment"]: {k: float(v) for k, v in row["revenue"].items()} for row in frame.to_dict("records")
    } == money
