"""Orders through SessionizeAndUpsert on a real PostgreSQL (DESIGN.md "Order"): an order is a distinct
props.order_id of a session's purchase events, a purchase without one is an order of its own, each
order counts in the currency of its first line, and lines (purchase events) and units are counted
apart. Expected numbers are counted by hand; after every run the warehouse also equals the
from-scratch batch of clickstream/tools/reference.py, and migration 009's backfill gives the same.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from clickstream.core.storage import Lake
from clickstream.tools import reference
from tests.support.staged import Stager, staged_event
from tests.support.upsert import UpsertRuns

T = datetime(2025, 10, 18, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
MIGRATION_009 = Path(__file__).resolve().parents[2] / "sql" / "009_orders.sql"


def line(
    name: str, ts: datetime, order_id: str | None, currency: str, qty: int, price: str, visitor: str = "v1"
) -> dict[str, Any]:
    """One purchase event (an order line) of ``qty`` x ``price``."""
    props = json.dumps({"order_id": order_id}) if order_id is not None else "{}"
    return staged_event(
        uuid.uuid5(uuid.NAMESPACE_URL, f"orders/{name}"),
        ts=ts,
        anonymous_id=visitor,
        event_type="purchase",
        product_id=f"p-{name}",
        category="things",
        currency=currency,
        price=price,
        qty=qty,
        revenue=str(Decimal(price) * qty),
        props=props,
    )


def view(name: str, ts: datetime, visitor: str = "v1") -> dict[str, Any]:
    return staged_event(uuid.uuid5(uuid.NAMESPACE_URL, f"orders/{name}"), ts=ts, anonymous_id=visitor)


class Runs(UpsertRuns):
    """After every run, the warehouse equals the from-scratch reference."""

    PREFIX, HOUR = "orders", T

    def run(self, events: list[dict[str, Any]]) -> None:
        super().run(events)
        with psycopg.connect(self.url) as conn:
            assert reference.compare(conn) == []

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(statement.encode()).fetchall()

    def revenue(self) -> list[tuple[Any, ...]]:
        """(session start, currency, orders, lines, units, revenue) of every session with purchases."""
        return self.query(
            "select s.session_start, r.currency, r.orders, r.lines, r.units, r.revenue"
            " from fact_session_revenue r join fact_sessions s using (session_id) order by 1, 2"
        )

    def daily(self) -> list[tuple[Any, ...]]:
        return self.query(
            "select currency, count_purchasing_sessions, orders, lines, units, revenue from agg_daily_revenue"
            " order by 1"
        )


def test_an_order_of_several_lines_is_one_order(database_url: str, lake: Lake, stager: Stager) -> None:
    runs = Runs(database_url, lake, stager)
    runs.run(
        [
            view("v", T),
            line("a1", T + 1 * MIN, "ORD-A", "USD", 2, "10.00"),  # order A: two USD lines
            line("a2", T + 2 * MIN, "ORD-A", "USD", 1, "5.00"),
            line("n1", T + 3 * MIN, None, "USD", 1, "7.00"),  # no order id: an order of its own
            line("n2", T + 4 * MIN, "  ", "EUR", 1, "3.00"),  # a blank id is none: another order
            line("b1", T + 5 * MIN, "ORD-B", "EUR", 1, "4.00"),  # order B: EUR first, then a USD line
            line("b2", T + 6 * MIN, "ORD-B", "USD", 3, "1.00"),
        ]
    )
    assert runs.revenue() == [
        # USD: orders A and n1 (B's first line is EUR); lines a1, a2, n1, b2
        (T, "EUR", 2, 2, 2, Decimal("7.00")),  # n2, B
        (T, "USD", 2, 4, 7, Decimal("35.00")),  # 20 + 5 + 7 + 3
    ]
    assert runs.daily() == [("EUR", 1, 2, 2, 2, Decimal("7.00")), ("USD", 1, 2, 4, 7, Decimal("35.00"))]
    # the session still counts its purchase events as count_purchases
    assert runs.query("select count_purchases from fact_sessions") == [(6,)]


def test_late_lines_of_an_order_change_its_lines_not_its_count(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = Runs(database_url, lake, stager)
    runs.run([view("v", T), line("a2", T + 5 * MIN, "ORD-A", "USD", 1, "5.00")])
    assert runs.daily() == [("USD", 1, 1, 1, 1, Decimal("5.00"))]

    # a later run brings another line of the same order (after its first): still one order
    runs.run([line("a3", T + 8 * MIN, "ORD-A", "USD", 2, "5.00")])
    assert runs.daily() == [("USD", 1, 1, 2, 3, Decimal("15.00"))]

    # a late line before the others, in EUR, becomes the order's first line: the order moves to EUR
    runs.run([line("a1", T + 2 * MIN, "ORD-A", "EUR", 1, "9.00")])
    assert runs.daily() == [
        ("EUR", 1, 1, 1, 1, Decimal("9.00")),
        ("USD", 1, 0, 2, 3, Decimal("15.00")),
    ]


def test_an_order_id_repeated_in_another_session_counts_there_again(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = Runs(database_url, lake, stager)
    later = T + 2 * timedelta(hours=1)  # the confirmation page reloaded two hours later: a new session
    runs.run([line("a1", T, "ORD-A", "USD", 1, "5.00"), line("a1-again", later, "ORD-A", "USD", 1, "5.00")])
    assert runs.revenue() == [(T, "USD", 1, 1, 1, Decimal("5.00")), (later, "USD", 1, 1, 1, Decimal("5.00"))]

    # a late event between them bridges the two sessions into one: then it is one order of two lines
    runs.run([view(f"bridge-{i}", T + i * 20 * MIN) for i in range(1, 6)])
    assert runs.revenue() == [(T, "USD", 1, 2, 2, Decimal("10.00"))]


def test_migration_009_recounts_what_was_loaded_as_the_load_counts_it(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    runs = Runs(database_url, lake, stager)
    runs.run(
        [
            line("a1", T, "ORD-A", "USD", 2, "10.00"),
            line("a2", T + MIN, "ORD-A", "USD", 1, "5.00"),
            line("n1", T + 2 * MIN, None, "USD", 1, "7.00"),
            line("b1", T + 3 * MIN, "ORD-B", "EUR", 1, "4.00"),
            line("b2", T + 4 * MIN, "ORD-B", "USD", 3, "1.00"),
            line("c1", T, "ORD-C", "EUR", 1, "4.00", visitor="v2"),
        ]
    )
    loaded = (runs.revenue(), runs.daily())
    # EUR: B (v1) and C (v2) in two sessions; USD: A and n1, lines a1, a2, n1, b2 (20 + 5 + 7 + 3)
    assert loaded[1] == [("EUR", 2, 2, 2, 2, Decimal("8.00")), ("USD", 1, 2, 4, 7, Decimal("35.00"))]
    # Given the rows as they were before 009 (orders = purchase events, no lines column)
    with psycopg.connect(database_url) as conn:
        conn.execute(b"update fact_session_revenue set orders = lines")
        conn.execute(b"update agg_daily_revenue set orders = lines")
        conn.execute(b"alter table fact_session_revenue drop column lines")
        conn.execute(b"alter table agg_daily_revenue drop column lines")
        conn.execute(b"drop index visitor_activity_days_first_idx")
    # When the migration runs, it counts them as the load does
    with psycopg.connect(database_url) as conn:
        conn.execute(MIGRATION_009.read_text().encode())
    assert (runs.revenue(), runs.daily()) == loaded
    with psycopg.connect(database_url) as conn:
        assert reference.compare(conn) == []
