"""CheckBusinessDays against a real PostgreSQL: the measures of the hand-counted sample, and a day
checked once (a retry of the same run gets its message back, any other run nothing)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from clickstream.pipeline import business
from tests.support.dashboard_sample import D1, D2
from tests.support.export_sample import write_sample_with_events

SETTINGS = business.AlertSettings(threshold=0.3, baseline_weeks=4, min_sessions=0, min_orders=0)


@pytest.fixture
def sample_url(database_url: str) -> str:
    write_sample_with_events(database_url)
    return database_url


def test_the_measures_of_a_day_are_the_hand_count(sample_url: str) -> None:
    with psycopg.connect(sample_url) as conn:
        found = business.read_measures(conn, [D2])[D2]
        monday = business.read_measures(conn, [D1])[D1][business.TOTAL]
    # tests/support/dashboard_sample.py, 2025-10-14: s1 (desktop US Direct, buys LAP x1, order-s1),
    # s2 (mobile DE), s3 (mobile US), s5 (tablet, no country), s4 (desktop US Email, buys KEY x2 in
    # EUR and MOU x1 in USD, one order: order-s4). Converting: s1 and s4 reached purchase in order.
    total = found[business.TOTAL]
    assert (total.sessions, total.converting_sessions, total.orders) == (5, 2, 2)
    assert total.revenue == {"USD": Decimal("1025.00"), "EUR": Decimal("160.00")}
    assert total.orders_by_currency == {"USD": 2, "EUR": 1}
    # Each order's value squared: order-s1 1000.00 and order-s4's USD line 25.00; its EUR lines 160.00
    assert total.revenue_squares == {"USD": Decimal("1000625"), "EUR": Decimal("25600")}
    desktop, mobile = found[("device", "desktop")], found[("device", "mobile")]
    assert (desktop.sessions, desktop.converting_sessions, desktop.orders) == (2, 2, 2)
    assert (mobile.sessions, mobile.orders, mobile.revenue) == (2, 0, {})
    assert found[("country", "")].sessions == 1 and found[("country", "US")].sessions == 3
    assert found[("channel", "Email")].revenue == {"EUR": Decimal("160.00"), "USD": Decimal("25.00")}
    assert (monday.sessions, monday.orders, monday.revenue) == (3, 1, {"USD": Decimal("50.00")})  # s8: MOU x2


def after(day: datetime) -> datetime:
    """The watermark that completes ``day`` (settle_hours 2: 01:00 the next day)."""
    return day.replace(hour=1, tzinfo=UTC) + (datetime(2025, 1, 2) - datetime(2025, 1, 1))


def test_a_day_is_checked_by_one_run_only(sample_url: str) -> None:
    d2 = datetime(D2.year, D2.month, D2.day, tzinfo=UTC)
    with psycopg.connect(sample_url) as conn:
        first = business.check_days(conn, run="hour-A", before=None, after=after(d2), settings=SETTINGS)
        conn.commit()
        assert (first["publish"], first["checked"]) == (False, ["2025-10-14"])  # no baseline weeks
        again = business.check_days(conn, run="hour-B", before=None, after=after(d2), settings=SETTINGS)
        assert (again["publish"], again["checked"]) == (False, [])
        summary = conn.execute("select execution_name, summary from etl_business_alerts").fetchall()
    assert summary == [("hour-A", "2025-10-14 not compared: 0 of the 4 same weekdays before have sessions "
                                  "(at least 2 are needed)")]  # fmt: skip


def test_a_retry_of_the_alerting_run_gets_its_message_back_and_no_other_run_does(sample_url: str) -> None:
    d2 = datetime(D2.year, D2.month, D2.day, tzinfo=UTC)
    moved = business.Deviation("sessions", 2.0, 10.0, -0.8, ("device", "mobile"), 0.0, 8.0)
    summary = business.day_summary(D2, [D1], [moved], 0.3)
    with psycopg.connect(sample_url) as conn:
        # What the run recorded before its task was lost (a timeout after the commit, say)
        conn.execute(
            "insert into etl_business_alerts (alert_date, execution_name, alerted, baseline_dates, summary,"
            " deviations) values (%s, 'hour-A', true, %s, %s, %s)",
            (D2, [D1], summary, json.dumps([moved.as_json()])),
        )
        conn.commit()
        retry = business.check_days(conn, run="hour-A", before=None, after=after(d2), settings=SETTINGS)
        other = business.check_days(conn, run="hour-A-r2", before=None, after=after(d2), settings=SETTINGS)
    assert retry["publish"] and retry["alerted"] == ["2025-10-14"]
    assert retry["subject"] == "Clickstream business alert 2025-10-14 (Tue): sessions −80%"
    assert "moved most: device mobile: 0 vs 8 (−8)" in retry["message"]
    assert (other["publish"], other["checked"]) == (False, [])


def test_disabled_checks_nothing(sample_url: str) -> None:
    d2 = datetime(D2.year, D2.month, D2.day, tzinfo=UTC)
    off = business.AlertSettings(enabled=False)
    with psycopg.connect(sample_url) as conn:
        result = business.check_days(conn, run="hour-A", before=None, after=after(d2), settings=off)
        assert result["checked"] == [] and conn.execute(
            "select count(*) from etl_business_alerts"
        ).fetchone() == (0,)
