"""Business alerts' logic on hand-made numbers: which days a run checks, what deviates, the message."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from clickstream.pipeline.business import (
    TOTAL,
    AlertSettings,
    DayMeasures,
    Measures,
    compare,
    day_summary,
    days_to_check,
    subject,
)

MOBILE, DESKTOP = ("device", "mobile"), ("device", "desktop")
SETTINGS = AlertSettings(threshold=0.3, baseline_weeks=3, min_sessions=200, min_orders=30, settle_hours=2)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # day D settles at D+1 01:00 (the receive hours 00 and 01 after its midnight committed)
        ("2025-09-02T00:00", "2025-09-02T01:00", ["2025-09-01"]),
        ("2025-09-02T01:00", "2025-09-02T02:00", []),
        ("2025-09-01T23:00", "2025-09-02T00:00", []),
        (None, "2025-09-02T01:00", ["2025-09-01"]),  # no watermark before: the last completed day only
        (None, "2025-09-02T00:00", ["2025-08-31"]),
        ("2025-09-01T00:00", "2025-09-05T03:00", ["2025-08-31", "2025-09-01", "2025-09-02", "2025-09-03",
                                                  "2025-09-04"]),
        ("2025-09-02T01:00", "2025-09-02T01:00", []),  # the watermark did not move (a rerun)
        ("2025-09-02T01:00", None, []),
    ],
)  # fmt: skip
def test_the_days_a_run_completed(before: str | None, after: str | None, expected: list[str]) -> None:
    days = days_to_check(at(before) if before else None, at(after) if after else None, settle_hours=2)
    assert days == [date.fromisoformat(d) for d in expected]


def test_a_long_catch_up_checks_its_last_seven_days() -> None:
    days = days_to_check(at("2025-09-01T00:00"), at("2025-09-20T01:00"), settle_hours=2)
    assert days[0] == date(2025, 9, 13) and days[-1] == date(2025, 9, 19) and len(days) == 7


def day(
    sessions: tuple[int, int], converting: tuple[int, int] = (0, 0), orders: tuple[int, int] = (0, 0)
) -> DayMeasures:
    """A day from its (mobile, desktop) numbers; the total is their sum."""
    found: DayMeasures = {}
    for key, i in ((MOBILE, 0), (DESKTOP, 1)):
        found[key] = Measures(sessions=sessions[i], converting_sessions=converting[i], orders=orders[i])
    found[TOTAL] = Measures(sessions=sum(sessions), converting_sessions=sum(converting), orders=sum(orders))
    return found


# Three ordinary weeks: 1000, 1100 and 900 sessions (median 1000: 500 mobile, 500 desktop),
# 4 % converting, 40, 44 and 36 orders (median 40).
WEEKS = [
    day((500, 500), (20, 20), (20, 20)),
    day((550, 550), (22, 22), (22, 22)),
    day((450, 450), (18, 18), (18, 18)),
]


def test_a_mobile_drop_is_a_sessions_deviation_naming_mobile() -> None:
    # 100 mobile + 500 desktop = 600 sessions: -40 % against 1000; orders 20 + 20... kept at 40
    found = compare(day((100, 500), (4, 20), (20, 20)), WEEKS, SETTINGS)
    assert [(d.metric, d.day, d.baseline, round(d.change, 4)) for d in found] == [
        ("sessions", 600, 1000, -0.4)
    ]
    assert (found[0].slice, found[0].slice_day, found[0].slice_baseline) == (MOBILE, 100, 500)
    text = day_summary(date(2025, 9, 29), [date(2025, 9, 22)], found, 0.3)
    assert "moved most: device mobile: 100 vs 500 (−400)" in text
    assert "−40%" in text
    assert (
        subject([(date(2025, 9, 29), found)]) == "Clickstream business alert 2025-09-29 (Mon): sessions −40%"
    )


def test_a_change_that_chance_explains_is_not_a_deviation() -> None:
    # 40 orders a week: a Poisson count's sd is sqrt(40) = 6.3, so 3 sd = 19 orders. 25 orders
    # (-37.5 %) is past the threshold but within chance; 20 (-50 %) is not.
    assert [d.metric for d in compare(day((500, 500), (20, 20), (13, 12)), WEEKS, SETTINGS)] == []
    assert [d.metric for d in compare(day((500, 500), (20, 20), (10, 10)), WEEKS, SETTINGS)] == ["orders"]


def revenue_day(usd: str, squares: str) -> DayMeasures:
    found = day((500, 500), (20, 20), (20, 20))
    found[TOTAL].revenue, found[TOTAL].revenue_squares = {"USD": Decimal(usd)}, {"USD": Decimal(squares)}
    found[TOTAL].orders_by_currency = {"USD": 40}
    found[DESKTOP].revenue = {"USD": Decimal(usd)}
    return found


def test_revenue_varies_by_chance_as_its_orders_values_do() -> None:
    # Baseline 5000 a day. Orders whose squared values sum to 25,000,000 (sd 5000: a few large
    # orders) make 8000 (+60 %) chance; squares of 1,000,000 (sd 1000: many small ones) do not.
    lumpy = [revenue_day("5000", "25000000")] * 3
    assert compare(revenue_day("8000", "0"), lumpy, SETTINGS) == []
    even = [revenue_day("5000", "1000000")] * 3
    assert [(d.metric, d.change) for d in compare(revenue_day("8100", "0"), even, SETTINGS)] == [
        ("revenue USD", pytest.approx(0.62))
    ]


def test_one_unusual_week_in_the_baseline_does_not_move_the_median() -> None:
    # 1000, 1100 and a dropped week of 300 (median 1000): 600 is -40 %
    weeks = [day((500, 500)), day((550, 550)), day((150, 150))]
    found = compare(day((300, 300)), weeks, SETTINGS)
    assert [(d.metric, d.change) for d in found] == [("sessions", -0.4)]


def test_within_the_threshold_nothing_deviates() -> None:
    assert compare(day((360, 360), (14, 14), (14, 14)), WEEKS, SETTINGS) == []  # 720 (-28 %), 28 (-30 %)


def test_a_broken_desktop_checkout_moves_orders_and_conversion_not_sessions() -> None:
    found = {d.metric: d for d in compare(day((500, 500), (20, 0), (20, 0)), WEEKS, SETTINGS)}
    assert set(found) == {"orders", "conversion"}
    orders = found["orders"]
    assert (orders.day, orders.baseline, orders.change, orders.slice) == (20, 40, -0.5, DESKTOP)
    conversion = found["conversion"]
    assert (conversion.day, conversion.baseline) == (0.02, 0.04)
    assert conversion.slice == DESKTOP and (conversion.slice_day, conversion.slice_baseline) == (0.0, 0.04)


def test_a_spike_names_the_slice_that_rose_most() -> None:
    found = {d.metric: d for d in compare(day((700, 900), (28, 36), (28, 36)), WEEKS, SETTINGS)}
    assert set(found) == {"sessions", "orders"}  # conversion unchanged at 4 %
    assert found["sessions"].slice == DESKTOP and found["sessions"].change == pytest.approx(0.6)


def test_small_baselines_are_not_judged() -> None:
    weeks = [day((50, 50), (5, 5), (5, 5))] * 3  # 100 sessions, 10 orders: under the minimums
    assert compare(day((5, 5), (0, 0), (0, 0)), weeks, SETTINGS) == []


def test_revenue_is_compared_per_currency() -> None:
    weeks = []
    for usd in (Decimal("5000"), Decimal("6000"), Decimal("4000")):
        week = day((500, 500), (20, 20), (20, 20))
        week[TOTAL].revenue = {"USD": usd, "EUR": Decimal("100")}
        week[TOTAL].orders_by_currency = {"USD": 40, "EUR": 3}
        week[DESKTOP].revenue = {"USD": usd}
        weeks.append(week)
    today = day((500, 500), (20, 20), (20, 20))
    today[TOTAL].revenue = {"USD": Decimal("15000"), "EUR": Decimal("1000")}
    today[DESKTOP].revenue = {"USD": Decimal("15000")}
    found = compare(today, weeks, SETTINGS)
    # USD tripled (against 5000); EUR's 3 orders a week are too few to judge
    assert [(d.metric, d.change, d.slice) for d in found] == [("revenue USD", 2.0, DESKTOP)]
