"""Every query against the hand-countable sample (tests/support/dashboard_sample.py), and an empty warehouse.

Expected numbers are counted from the sample's table, not recomputed: on
2025-10-14 (D2) there are sessions s1..s5, on 2025-10-13 (D1) s6..s8.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import queries
from queries import Database, Filters
from tests.support.dashboard_sample import D1, D2


@pytest.fixture
def db(sample_url: str) -> Database:
    return Database(sample_url)


def test_filters_compare_with_as_many_days_just_before() -> None:
    week = Filters(date(2025, 10, 8), date(2025, 10, 14))
    assert week.days == 7
    assert (week.previous_start, week.previous_end) == (date(2025, 10, 1), date(2025, 10, 7))
    assert week.previous() == Filters(date(2025, 10, 1), date(2025, 10, 7))
    params = Filters(D2, D2, devices=("mobile",)).params()
    assert params["devices"] == ["mobile"]
    assert params["countries"] is None  # empty = all
    assert params["mau_start"] == date(2025, 9, 14)  # 29 days before the previous period


def test_data_bounds(db: Database, empty_url: str) -> None:
    assert queries.data_bounds(db) == (D1, D2)
    assert queries.data_bounds(Database(empty_url)) == (None, None)


def test_data_coverage(db: Database, empty_url: str) -> None:
    # from s6's start hour (D1 09:00) to the end of the watermark's hour (D2 21:00, also s4's)
    assert queries.data_coverage(db) == queries.Coverage(
        datetime(2025, 10, 13, 9, tzinfo=UTC), datetime(2025, 10, 14, 22, tzinfo=UTC)
    )
    assert queries.data_coverage(Database(empty_url)) is None
    # a day is partial unless wholly inside; a day wholly outside says so
    coverage = queries.Coverage(datetime(2025, 10, 13, 9, tzinfo=UTC), datetime(2025, 10, 13, 16, tzinfo=UTC))
    assert coverage.partial(date(2025, 10, 13)) == "09:00 to 16:00 UTC only"
    assert coverage.partial(date(2025, 10, 12)) == "before the data starts"
    assert coverage.partial(date(2025, 10, 14)) == "no data yet"
    assert (
        queries.Coverage(datetime(2025, 10, 13, tzinfo=UTC), datetime(2025, 10, 14, tzinfo=UTC)).partial(
            date(2025, 10, 13)
        )
        == ""
    )


def test_session_totals_per_period(db: Database) -> None:
    totals = queries.by_period(queries.session_totals(db, Filters(D2, D2)))
    current = {k: totals["current"][k] for k in totals["current"] if k != "period"}
    assert current == {
        "sessions": 5,
        "engaged_sessions": 3,  # s1 (300 s), s3 (125 s), s4 (60 s)
        "page_views": 10,  # 3 + 1 + 2 + 3 + 1
        "events": 19,
        "sum_duration_s": 490.0,  # 300 + 5 + 125 + 0 + 60
        "funnel_view": 5,
        "funnel_cart": 3,  # s1, s3, s4
        "funnel_checkout": 2,  # s1, s4
        "funnel_purchase": 2,
    }
    assert totals["previous"]["sessions"] == 3
    assert totals["previous"]["engaged_sessions"] == 2  # s6, s8
    assert totals["previous"]["funnel_purchase"] == 1  # s8


@pytest.mark.parametrize(
    ("filters", "current", "previous"),
    [
        (Filters(D2, D2, devices=("mobile",)), 2, 1),  # s2, s3 | s6
        (Filters(D2, D2, devices=("mobile", "tablet")), 3, 1),
        (Filters(D2, D2, countries=("",)), 1, None),  # s5 has no country
        (Filters(D2, D2, channels=("Direct",)), 1, 2),  # s1 | s7, s8
        (Filters(D2, D2, devices=("desktop",), countries=("US",), channels=("Email",)), 1, None),
        (Filters(D1, D2), 8, None),
    ],
)
def test_slice_filters(db: Database, filters: Filters, current: int, previous: int | None) -> None:
    totals = queries.by_period(queries.session_totals(db, filters))
    assert totals["current"]["sessions"] == current
    assert (totals["previous"]["sessions"] if "previous" in totals else None) == previous


def test_visitors_and_active_users(db: Database) -> None:
    visitors = queries.by_period(queries.visitor_totals(db, Filters(D2, D2)))
    assert visitors["current"]["visitors"] == 4  # A, B, C, D
    assert visitors["previous"]["visitors"] == 3  # B, E, A
    active = queries.active_users_daily(db, Filters(D2, D2))
    assert active.to_dict("records") == [
        {"day": D1, "dau": 3, "mau": 3},
        {"day": D2, "dau": 4, "mau": 5},  # A..E over the 30 days to D2
    ]
    mobile = queries.active_users_daily(db, Filters(D2, D2, devices=("mobile",)))
    assert mobile.to_dict("records") == [{"day": D1, "dau": 1, "mau": 1}, {"day": D2, "dau": 2, "mau": 2}]


@pytest.mark.parametrize(
    ("filters", "current", "previous"),
    [
        # (visitors, new visitors) per period; first sessions: A, B, E on D1, C, D on D2
        (Filters(D2, D2), (4, 2), (3, 3)),  # A, B, C, D: C and D new | B, E, A all new on D1
        (Filters(D1, D2), (5, 5), None),
        (Filters(D2, D2, devices=("mobile",)), (2, 1), (1, 1)),  # B, C: C new | B
        # A's only Email session is on D2, its first session (Direct) on D1: new in D1..D2, not in D2
        (Filters(D2, D2, channels=("Email",)), (1, 0), None),
        (Filters(D1, D2, channels=("Email",)), (1, 1), None),
        (Filters(date(2025, 10, 15), date(2025, 10, 15)), None, (4, 2)),
    ],
)
def test_new_visitors_are_those_whose_first_session_is_in_the_period(
    db: Database, filters: Filters, current: tuple[int, int] | None, previous: tuple[int, int] | None
) -> None:
    visitors = queries.by_period(queries.visitor_totals(db, filters))
    got = {p: (int(r["visitors"]), int(r["new_visitors"])) for p, r in visitors.items()}
    assert got.get("current") == current
    assert got.get("previous") == previous


def test_mau_is_a_30_day_window(db: Database) -> None:
    # D1 + 29 = 2025-11-11 is the last day whose window holds D1; from 11-12 only D2's visitors
    active = queries.active_users_daily(db, Filters(date(2025, 11, 11), date(2025, 11, 13)))
    by_day = {r["day"]: (r["dau"], r["mau"]) for r in active.to_dict("records")}
    assert by_day[date(2025, 11, 11)] == (0, 5)
    assert by_day[date(2025, 11, 12)] == (0, 4)  # A, B, C, D (E was active on D1 only)
    assert by_day[date(2025, 11, 13)] == (0, 0)
    assert by_day[date(2025, 11, 8)] == (0, 5)  # the previous period is there too


def test_sessions_daily_has_every_day(db: Database) -> None:
    daily = queries.sessions_daily(db, Filters(D1, date(2025, 10, 15)))
    assert daily[["day", "sessions", "engaged_sessions"]].to_dict("records") == [
        {"day": D1, "sessions": 3, "engaged_sessions": 2},
        {"day": D2, "sessions": 5, "engaged_sessions": 3},
        {"day": date(2025, 10, 15), "sessions": 0, "engaged_sessions": 0},
    ]


def test_sessions_by_weekday_and_hour(db: Database) -> None:
    frame = queries.sessions_by_weekday_hour(db, Filters(D1, D2))
    assert [tuple(r) for r in frame.itertuples(index=False)] == [
        (1, 9, 1),
        (1, 12, 1),
        (1, 19, 1),
        (2, 10, 2),
        (2, 20, 2),
        (2, 21, 1),
    ]


def test_funnel_by_segment(db: Database) -> None:
    by_device = queries.funnel_by_segment(db, Filters(D2, D2), "device")
    assert [tuple(r) for r in by_device.itertuples(index=False)] == [
        ("desktop", 2, 2, 2, 2, 2),  # s1, s4
        ("mobile", 2, 2, 1, 0, 0),  # s2, s3
        ("tablet", 1, 1, 0, 0, 0),  # s5
    ]
    by_country = queries.funnel_by_segment(db, Filters(D2, D2), "country")
    assert dict(zip(by_country["segment"], by_country["sessions"], strict=True)) == {"US": 3, "DE": 1, "": 1}
    with pytest.raises(ValueError, match="unknown segment"):
        queries.funnel_by_segment(db, Filters(D2, D2), "city")


def test_revenue_per_currency(db: Database) -> None:
    frame = queries.revenue_totals(db, Filters(D2, D2))
    assert [tuple(r) for r in frame.itertuples(index=False)] == [
        # (period, currency, orders, lines, units, revenue)
        ("current", "EUR", 1, 1, 2, 160.0),  # s4's order (its first line KEY-300 x2 is in EUR)
        ("current", "USD", 1, 2, 2, 1025.0),  # s1's order; lines: s1 LAP-100, s4 MOU-200 (s4's order is EUR)
        ("previous", "USD", 1, 1, 2, 50.0),  # s8: MOU-200 x2
    ]


def test_product_totals(db: Database) -> None:
    totals = queries.by_period(queries.product_totals(db, Filters(D2, D2)))
    assert {k: v for k, v in totals["current"].items() if k != "period"} == {
        "views": 7,
        "viewers": 3,  # A, C, D
        "adders": 2,  # A, C
        "buyers": 1,  # A
        "units": 4,
    }
    assert totals["previous"]["views"] == 4  # s6 LAP, s8 LAP + MOU, s7 MON


def test_product_table(db: Database) -> None:
    table = queries.product_table(db, Filters(D2, D2))
    rows = {r["product_id"]: r for r in table.to_dict("records")}
    assert list(table["product_id"]) == ["KEY-300", "MOU-200", "LAP-100", "MON-400"]  # units, views
    assert rows["MOU-200"] == {
        "product_id": "MOU-200",
        "product_name": "Logitech MX Master 3S Wireless Mouse",
        "category": "mice",
        "views": 2,
        "viewers": 2,  # C, A
        "adders": 2,
        "buyers": 1,
        "orders": 1,
        "units": 1,
        "impressions": 0,  # the sample has no list impressions (tests/dashboards/test_product_lists.py)
        "list_clicks": 0,
        "revenue": {"USD": 25.0},
    }
    assert rows["KEY-300"]["revenue"] == {"EUR": 160.0}
    assert (rows["MON-400"]["viewers"], rows["MON-400"]["adders"], rows["MON-400"]["revenue"]) == (2, 0, {})


def test_category_table_counts_a_visitor_once_per_category(db: Database) -> None:
    table = queries.category_table(db, Filters(D1, D2))
    rows = {r["category"]: r for r in table.to_dict("records")}
    # A viewed LAP-100 on both days (s8, s1), B on D1 (s6): two viewers, three views
    assert (rows["laptops"]["views"], rows["laptops"]["viewers"], rows["laptops"]["units"]) == (3, 2, 1)
    assert rows["mice"]["revenue"] == {"USD": 75.0}


def test_acquisition_breakdown(db: Database) -> None:
    frame = queries.acquisition_breakdown(db, Filters(D2, D2), "channel")
    rows = {r["segment"]: r for r in frame.to_dict("records")}
    assert set(rows) == {"Direct", "Email", "Organic Search", "Paid Search", "Referral"}
    assert rows["Email"]["orders"] == 1  # s4: one order of two lines
    assert rows["Email"]["revenue"] == {"EUR": 160.0, "USD": 25.0}
    assert rows["Paid Search"]["purchase_sessions"] == 0
    assert rows["Paid Search"]["revenue"] == {}
    by_device = queries.acquisition_breakdown(db, Filters(D2, D2, channels=("Direct", "Email")), "device")
    assert by_device[["segment", "sessions", "orders"]].to_dict("records") == [
        {"segment": "desktop", "sessions": 2, "orders": 2}  # s1, s4 (three lines)
    ]


def test_acquisition_breakdown_by_browser_and_os(db: Database) -> None:
    # D2: s1 and s4 Chrome / Windows (both bought, one order each: s1 LAP x1, s4 KEY x2 and MOU x1),
    # s2 Chrome Mobile / Android, s3 Mobile Safari / iOS, s5 unknown
    columns = ["segment", "sessions", "engaged_sessions", "purchase_sessions", "orders"]
    by_browser = queries.acquisition_breakdown(db, Filters(D2, D2), "browser")
    assert by_browser[columns].to_dict("records") == [
        {"segment": "Chrome", "sessions": 2, "engaged_sessions": 2, "purchase_sessions": 2, "orders": 2},
        {"segment": "", "sessions": 1, "engaged_sessions": 0, "purchase_sessions": 0, "orders": 0},
        {
            "segment": "Chrome Mobile",
            "sessions": 1,
            "engaged_sessions": 0,
            "purchase_sessions": 0,
            "orders": 0,
        },
        {
            "segment": "Mobile Safari",
            "sessions": 1,
            "engaged_sessions": 1,
            "purchase_sessions": 0,
            "orders": 0,
        },
    ]
    assert by_browser["revenue"].iloc[0] == {"USD": 1025.0, "EUR": 160.0}
    by_os = queries.acquisition_breakdown(db, Filters(D2, D2), "os")
    assert dict(zip(by_os["segment"], by_os["sessions"], strict=True)) == {
        "Windows": 2,
        "Android": 1,
        "iOS": 1,
        "": 1,
    }
    # with a slice filter (agg_daily_tech): mobile sessions of both days, s6 and s2 Chrome Mobile, s3
    both_days_mobile = queries.acquisition_breakdown(db, Filters(D1, D2, devices=("mobile",)), "browser")
    assert both_days_mobile[["segment", "sessions"]].to_dict("records") == [
        {"segment": "Chrome Mobile", "sessions": 2},
        {"segment": "Mobile Safari", "sessions": 1},
    ]
    # both days, every slice: s8 is Chrome too (one order), s7 Safari
    both_days = queries.acquisition_breakdown(db, Filters(D1, D2), "browser")
    rows = {r["segment"]: r for r in both_days.to_dict("records")}
    assert (rows["Chrome"]["sessions"], rows["Chrome"]["orders"], rows["Safari"]["sessions"]) == (3, 3, 1)
    funnel = queries.funnel_by_segment(db, Filters(D2, D2), "os")
    windows = funnel[funnel["segment"] == "Windows"].iloc[0]
    assert [windows[c] for c in ("funnel_view", "funnel_cart", "funnel_checkout", "funnel_purchase")] == [
        2,
        2,
        2,
        2,
    ]


def test_referrers_and_campaigns(db: Database) -> None:
    referrers = queries.referrer_table(db, Filters(D2, D2))
    keyed = {(r["referrer_host"], r["channel"]): r["sessions"] for r in referrers.to_dict("records")}
    assert keyed == {
        ("", "Direct"): 1,
        ("", "Email"): 1,
        ("techblog.example", "Referral"): 1,
        ("www.google.com", "Organic Search"): 1,
        ("www.google.com", "Paid Search"): 1,
    }
    campaigns = queries.campaign_table(db, Filters(D1, D2))
    columns = ["campaign", "source", "medium", "sessions", "purchase_sessions"]
    assert [tuple(r) for r in campaigns[columns].itertuples(index=False)] == [
        ("autumn_sale", "google", "cpc", 1, 0),
        ("newsletter_oct", "newsletter", "email", 1, 1),
    ]
    assert campaigns.iloc[1]["revenue"] == {"EUR": 160.0, "USD": 25.0}


def test_pipeline_bookkeeping(db: Database) -> None:
    first, last = datetime(2025, 10, 14, tzinfo=UTC), datetime(2025, 10, 14, 23, tzinfo=UTC)
    runs = queries.runs_in_range(db, first, last)
    assert list(runs["execution_name"]) == ["hour-2025-10-14T10", "hour-2025-10-14T20", "hour-2025-10-14T21"]
    assert queries.runs_in_range(db, first, datetime(2025, 10, 14, 19, tzinfo=UTC))["loaded"].tolist() == [10]
    wm = queries.watermark(db)
    assert wm is not None
    assert wm["watermark_hour"] == datetime(2025, 10, 14, 21, tzinfo=UTC)
    rejects = queries.rejects_by_reason(db, first, last)
    assert [tuple(r) for r in rejects.itertuples(index=False)] == [("malformed", 4, 2), ("violation", 2, 1)]
    assert queries.processed_totals(db, first, last) == {
        "objects": 3,
        "lines_read": 32,
        "loaded": 23,
        "duplicates": 3,
        "rejected": 6,
        "quarantined": 0,
    }


def test_every_query_answers_on_an_empty_warehouse(empty_url: str) -> None:
    db, f = Database(empty_url), Filters(D2, D2)
    hours = (datetime(2025, 10, 14, tzinfo=UTC), datetime(2025, 10, 14, 23, tzinfo=UTC))
    for frame in (
        queries.session_totals(db, f),
        queries.visitor_totals(db, f),
        queries.sessions_by_weekday_hour(db, f),
        queries.funnel_by_segment(db, f, "channel"),
        queries.revenue_totals(db, f),
        queries.product_totals(db, f),
        queries.product_table(db, f),
        queries.category_table(db, f),
        queries.acquisition_breakdown(db, f, "country"),
        queries.referrer_table(db, f),
        queries.campaign_table(db, f),
        queries.runs_in_range(db, *hours),
        queries.rejects_by_reason(db, *hours),
    ):
        assert frame.empty
    assert queries.active_users_daily(db, f)["mau"].tolist() == [0, 0]
    assert queries.sessions_daily(db, f)["sessions"].tolist() == [0]
    assert queries.watermark(db) is None
    assert queries.processed_totals(db, *hours)["objects"] == 0


def test_the_connection_is_read_only(db: Database) -> None:
    import psycopg

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        db.frame("delete from fact_sessions")
