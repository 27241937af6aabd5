"""What each page's outputs show, from the same functions the render functions call.

Every output of a page is a render function that calls one of these view
functions on its query results: headline numbers (value, text and change),
figures (traces and their data), tables (columns and rows) and empty states.
Expected values are counted by hand from tests/support/dashboard_sample.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

import components
import formatting as fmt
import queries
from components import Kpi
from pages import acquisition, funnel, products, traffic
from queries import Database, Filters
from tests.support.dashboard_sample import D1, D2


@pytest.fixture
def db(sample_url: str) -> Database:
    return Database(sample_url)


def by_key(kpis: list[Kpi]) -> dict[str, Kpi]:
    return {k.key: k for k in kpis}


# ----------------------------------------------------------------- traffic


def test_traffic_headline_with_the_change_against_the_day_before(db: Database) -> None:
    f = Filters(D2, D2)
    kpis = by_key(
        traffic.headline(
            queries.session_totals(db, f), queries.visitor_totals(db, f), queries.active_users_daily(db, f), f
        )
    )
    assert list(kpis) == [
        "sessions",
        "visitors",
        "new_visitors",
        "returning_visitors",
        "dau",
        "mau",
        "stickiness",
        "pages_per_session",
        "avg_duration_s",
        "engagement_rate",
        "bounce_rate",
    ]
    expected = {
        # key: (value, text, change text, tone)
        "sessions": (5, "5", "+66.7%", "good"),  # 5 vs 3
        "visitors": (4, "4", "+33.3%", "good"),  # 4 vs 3
        "new_visitors": (2, "2", "-33.3%", "bad"),  # C, D vs B, E, A (all first seen on D1)
        "returning_visitors": (2, "2", "new", "neutral"),  # A, B vs none
        "dau": (4, "4", "+33.3%", "good"),
        "mau": (5, "5", "+66.7%", "good"),
        "stickiness": (0.8, "80.0%", "-20.0 pp", "bad"),  # 4/5 vs 3/3
        "pages_per_session": (2.0, "2.00", "+20.0%", "good"),  # 10/5 vs 5/3
        "avg_duration_s": (98.0, "1m 38s", "+18.5%", "good"),  # 490/5 vs 248/3
        "engagement_rate": (0.6, "60.0%", "-6.7 pp", "bad"),  # 3/5 vs 2/3
        "bounce_rate": (0.4, "40.0%", "+6.7 pp", "bad"),  # a higher bounce rate is bad news
    }
    for key, (value, text, change, tone) in expected.items():
        kpi = kpis[key]
        assert kpi.value == pytest.approx(value), key
        assert (kpi.text, kpi.change and kpi.change.text, kpi.change and kpi.change.tone) == (
            text,
            change,
            tone,
        )


def test_traffic_headline_with_a_filter_and_no_previous_data(db: Database) -> None:
    f = Filters(D1, D2, devices=("desktop",))  # s8, s7, s1, s4; nothing on 11 - 12 Oct
    kpis = by_key(
        traffic.headline(
            queries.session_totals(db, f), queries.visitor_totals(db, f), queries.active_users_daily(db, f), f
        )
    )
    assert kpis["sessions"].value == 4
    assert kpis["visitors"].value == 2  # A, E
    assert kpis["dau"].value == pytest.approx(1.5)  # 2 on D1 (A, E), 1 on D2 (A)
    assert kpis["mau"].value == 2
    assert kpis["avg_duration_s"].text == "2m 22s"  # (200 + 8 + 300 + 60) / 4
    assert kpis["sessions"].change == fmt.Change("new", "none", "neutral")
    assert kpis["stickiness"].change == fmt.Change("–", "none", "neutral")
    assert (kpis["new_visitors"].value, kpis["returning_visitors"].value) == (2, 0)  # A and E start on D1


def test_stickiness_is_the_dau_card_over_the_mau_card(db: Database) -> None:
    f = Filters(D1, D2)
    kpis = by_key(
        traffic.headline(
            queries.session_totals(db, f), queries.visitor_totals(db, f), queries.active_users_daily(db, f), f
        )
    )
    # DAU 3 on D1, 4 on D2: the card shows 3.5; MAU on D2 (the last day) is 5 (A..E)
    assert (kpis["dau"].value, kpis["mau"].value) == (pytest.approx(3.5), 5)
    assert kpis["stickiness"].value == pytest.approx(3.5 / 5)  # not the mean of 3/3 and 4/5 (0.9)
    assert kpis["stickiness"].text == "70.0%"


def test_traffic_trend_heatmap_and_daily_table(db: Database) -> None:
    f = Filters(D1, D2)
    coverage = queries.data_coverage(db)  # D1 09:00 (s6) to D2 22:00 (the watermark's hour, 21:00, ended)
    table = traffic.daily_frame(queries.sessions_daily(db, f), queries.active_users_daily(db, f), coverage)
    assert table.to_dict("records") == [
        {
            "Date": "2025-10-13",
            "Partial": "from 09:00 UTC",
            "Sessions": 3,
            "Engaged %": 66.7,
            "Pages / session": 1.67,
            "Avg duration s": 83.0,
            "DAU": 3,
            "MAU": 3,
            "Stickiness %": 100.0,
        },
        {
            "Date": "2025-10-14",
            "Partial": "until 22:00 UTC",
            "Sessions": 5,
            "Engaged %": 60.0,
            "Pages / session": 2.0,
            "Avg duration s": 98.0,
            "DAU": 4,
            "MAU": 5,
            "Stickiness %": 80.0,
        },
    ]
    trend = traffic.trend_figure(table)
    assert [t.name for t in trend.data] == ["Sessions", "Visitors (DAU)", "MAU (right axis)", "Partial day"]
    assert trend.data[2].yaxis == "y2"
    assert list(trend.data[0].y) == [3, 5]
    # both days are partial: hatched bars, hollow DAU points, said in the hover and under the chart
    assert list(trend.data[0].marker.pattern.shape) == ["/", "/"]
    assert list(trend.data[1].marker.symbol) == ["circle-open", "circle-open"]
    assert list(trend.data[0].customdata) == [
        " (partial day: from 09:00 UTC)",
        " (partial day: until 22:00 UTC)",
    ]
    assert traffic.partial_days_note(table) == (
        "Hatched bars are partial days, not drops: 2025-10-13 from 09:00 UTC; 2025-10-14 until 22:00 UTC."
    )
    # a wider range: the days around the data are not collected (yet), the whole days in between are whole
    wide = Filters(date(2025, 10, 12), date(2025, 10, 15))
    around = traffic.daily_frame(
        queries.sessions_daily(db, wide), queries.active_users_daily(db, wide), coverage
    )
    assert around["Partial"].tolist() == [
        "before the data starts",
        "from 09:00 UTC",
        "until 22:00 UTC",
        "no data yet",
    ]
    # the chart draws no visitors on the days the data does not reach (a gap, not a fall to zero)
    wide_trend = traffic.trend_figure(around)
    assert list(wide_trend.data[0].y) == [0, 3, 5, 0]
    assert [None if pd.isna(v) else v for v in wide_trend.data[1].y] == [None, 3, 4, None]
    whole = queries.Coverage(datetime(2025, 10, 13, tzinfo=UTC), datetime(2025, 10, 15, tzinfo=UTC))
    complete = traffic.daily_frame(queries.sessions_daily(db, f), queries.active_users_daily(db, f), whole)
    assert complete["Partial"].tolist() == ["", ""]
    plain = traffic.trend_figure(complete)
    assert [t.name for t in plain.data] == ["Sessions", "Visitors (DAU)", "MAU (right axis)"]
    assert list(plain.data[0].marker.pattern.shape) == ["", ""]
    assert traffic.partial_days_note(complete) == ""
    heat = traffic.heatmap_figure(queries.sessions_by_weekday_hour(db, f))
    grid = heat.data[0].z
    assert (grid[0][9], grid[0][12], grid[1][10], grid[1][20], grid[1][21]) == (1, 1, 2, 2, 1)  # Mon, Tue
    assert sum(map(sum, grid)) == 8
    assert traffic.daily_frame(queries.sessions_daily(db, f).head(0), pd.DataFrame()).empty


# ----------------------------------------------------------------- funnel


def test_funnel_headline_steps_and_segments(db: Database) -> None:
    f = Filters(D2, D2)
    totals = queries.session_totals(db, f)
    kpis = by_key(funnel.headline(totals))
    assert [(k, kpis[k].text) for k in kpis] == [
        ("sessions", "5"),
        ("funnel_view", "5"),
        ("funnel_cart", "3"),
        ("funnel_checkout", "2"),
        ("funnel_purchase", "2"),
        ("conversion_rate", "40.0%"),  # 2 / 5
        ("cart_to_purchase", "66.7%"),  # 2 / 3
    ]
    assert kpis["conversion_rate"].change == fmt.Change("+6.7 pp", "up", "good")  # 1/3 on D1
    steps = funnel.steps_frame(totals)
    assert steps.fillna(-1).to_dict("list") == {
        "Step": ["View", "Add to cart", "Checkout", "Purchase"],
        "Sessions": [5, 3, 2, 2],
        "Step conversion %": [-1, 60.0, 66.7, 100.0],  # none before the first step
        "Drop-off %": [-1, 40.0, 33.3, 0.0],
        "Of all sessions %": [100.0, 60.0, 40.0, 40.0],
    }
    figure = funnel.funnel_figure(steps)
    assert list(figure.data[0].x) == [5, 3, 2, 2]

    segments = funnel.segment_frame(queries.funnel_by_segment(db, f, "country"), "country")
    assert segments["Country"].tolist() == ["US", "(unknown)", "DE"]  # by sessions, then name
    us = segments.iloc[0]
    assert (us["Sessions"], us["View → Add to cart %"], us["Conversion %"]) == (3, 100.0, 66.7)  # s1, s3, s4
    bars = funnel.segment_figure(segments, "country")
    assert [t.name for t in bars.data] == ["US", "(unknown)", "DE"]
    assert list(bars.data[0].y) == pytest.approx([1, 1, 2 / 3, 2 / 3])


# ----------------------------------------------------------------- products


def test_products_headline(db: Database) -> None:
    f = Filters(D2, D2)
    kpis = by_key(products.headline(queries.product_totals(db, f), queries.revenue_totals(db, f)))
    assert {k: kpis[k].text for k in kpis} == {
        "views": "7",
        "viewers": "3",
        "add_to_cart_rate": "66.7%",  # A, C of A, C, D
        "purchase_rate": "33.3%",  # A
        "units": "4",
        "revenue": "$1,025.00",
    }
    # revenue in two currencies: the larger one big with its change, named; the other beside it
    assert kpis["revenue"].value == {"USD": 1025.0, "EUR": 160.0}
    assert kpis["revenue"].detail == "+ €160.00"
    assert kpis["revenue"].change == fmt.Change("+1950.0% in USD", "up", "good")


def test_product_tables(db: Database) -> None:
    f = Filters(D2, D2)
    table = products.product_frame(queries.product_table(db, f))
    assert list(table.columns) == [
        "Product",
        "SKU",
        "Category",
        "Views",
        "Viewers",
        "Add-to-cart %",
        "Purchase %",
        "Units",
        "Revenue USD",
        "Revenue EUR",
        "Impressions",
        "List clicks",
        "CTR %",
    ]
    # the sample has no list impressions (tests/dashboards/test_product_lists.py has): no CTR to show
    assert table["Impressions"].sum() == table["List clicks"].sum() == 0 and table["CTR %"].isna().all()
    assert table[table["SKU"] == "MOU-200"].iloc[0].tolist()[:10] == [
        "Logitech MX Master 3S Wireless Mouse",  # the name the tracker sent (dim_product.product_name)
        "MOU-200",
        "mice",
        2,
        2,
        100.0,
        50.0,
        1,
        25.0,
        0.0,
    ]
    # MON-400's events carried no name: the id stands in
    assert table[table["SKU"] == "MON-400"]["Product"].tolist() == ["MON-400"]
    assert products.top_sellers(table)["SKU"].tolist() == ["KEY-300", "MOU-200", "LAP-100"]
    assert products.bottom_sellers(table)["SKU"].tolist() == ["MON-400", "MOU-200", "LAP-100", "KEY-300"]
    # the shop's purchase rate is 1 / 3: only MON-400 (0 %) is below it
    assert products.viewed_not_bought(table, 1 / 3)["SKU"].tolist() == ["MON-400"]
    # the half-width tables keep the name, viewers, purchase rate and units
    assert products.side_table(products.top_sellers(table)).to_dict("records")[0] == {
        "Product": "Keychron K2 Pro Mechanical Keyboard",
        "Viewers": 2,  # A (s4) and C (s3) viewed KEY-300
        "Purchase %": 50.0,  # A bought it
        "Units": 2,
    }
    categories = products.category_frame(queries.category_table(db, f))
    assert categories["Category"].tolist() == ["keyboards", "mice", "laptops", "monitors"]
    chart = products.category_figure(categories)
    assert list(chart.data[0].y) == ["laptops", "keyboards", "mice", "monitors"]  # most viewed on top
    assert [list(t.x) for t in chart.data] == [[1, 2, 2, 2], [1, 2, 1, 0]]
    scatter = products.scatter_figure(table, 1 / 3)
    assert list(scatter.data[0].x) == table["Viewers"].tolist()


def test_product_tables_when_empty() -> None:
    empty = products.product_frame(pd.DataFrame())
    assert empty.empty
    assert products.top_sellers(empty).empty
    assert products.viewed_not_bought(empty, None).empty


# ----------------------------------------------------------------- acquisition


def test_acquisition_headline_agrees_with_the_other_pages(db: Database) -> None:
    f = Filters(D2, D2)
    totals, revenue = queries.session_totals(db, f), queries.revenue_totals(db, f)
    visitors = queries.visitor_totals(db, f)
    kpis = by_key(acquisition.headline(totals, revenue, visitors))
    assert {k: kpis[k].text for k in kpis} == {
        "sessions": "5",
        "engagement_rate": "60.0%",
        "conversion_rate": "40.0%",
        "orders": "2",  # s1's and s4's (three purchase lines)
        "revenue": "$1,025.00",
        "order_value": "$1,025.00",  # USD: $1,025 of s1's order and s4's mouse line / 1 order (s1's)
        "revenue_per_visitor": "$256.25",  # $1,025 / 4 visitors (A, B, C, D)
    }
    assert kpis["orders"].change == fmt.Change("+100.0%", "up", "good")  # 2 vs s8's 1
    assert kpis["orders"].detail == "3 lines · 4 units"  # s1 LAP x1; s4 KEY x2, MOU x1
    assert kpis["order_value"].value == {"USD": 1025.0, "EUR": 160.0}  # EUR: s4's order, its first line
    assert kpis["order_value"].detail == "+ €160.00"
    assert kpis["order_value"].change == fmt.Change("+1950.0% in USD", "up", "good")  # vs $50 / 1 order
    assert kpis["revenue_per_visitor"].value == {"USD": 256.25, "EUR": 40.0}
    assert kpis["revenue_per_visitor"].change == fmt.Change("+1437.5% in USD", "up", "good")  # vs $50 / 3
    funnel_kpis = by_key(funnel.headline(totals))
    traffic_kpis = by_key(traffic.headline(totals, visitors, queries.active_users_daily(db, f), f))
    assert kpis["revenue_per_visitor"].value["USD"] == 1025.0 / traffic_kpis["visitors"].value
    product_kpis = by_key(products.headline(queries.product_totals(db, f), revenue))
    assert kpis["conversion_rate"].value == funnel_kpis["conversion_rate"].value
    assert kpis["sessions"].value == traffic_kpis["sessions"].value == funnel_kpis["sessions"].value
    assert kpis["engagement_rate"].value == traffic_kpis["engagement_rate"].value
    assert kpis["revenue"].value == product_kpis["revenue"].value


def test_acquisition_tables(db: Database) -> None:
    f = Filters(D2, D2)
    breakdown = acquisition.breakdown_frame(queries.acquisition_breakdown(db, f, "device"), "device")
    assert breakdown[["Device", "Sessions", "Share %", "Conversion %", "Orders"]].values.tolist() == [
        ["desktop", 2, 40.0, 100.0, 2],  # s1's order, s4's
        ["mobile", 2, 40.0, 0.0, 0],
        ["tablet", 1, 20.0, 0.0, 0],
    ]
    assert breakdown.iloc[0][["Revenue USD", "Revenue EUR"]].tolist() == [1025.0, 160.0]
    chart = acquisition.breakdown_figure(breakdown, "device")
    assert list(chart.data[1].y) == [1.0, 0.0, 0.0]  # conversion, on the second axis
    referrers = acquisition.referrer_frame(queries.referrer_table(db, f))
    assert set(referrers["Referrer"]) == {"(none)", "www.google.com", "techblog.example"}
    campaigns = acquisition.campaign_frame(queries.campaign_table(db, f))
    assert campaigns[["Campaign", "Sessions", "Conversion %"]].values.tolist() == [
        ["autumn_sale", 1, 0.0],
        ["newsletter_oct", 1, 100.0],
    ]


# ----------------------------------------------------------------- shared pieces


def test_a_headline_number_carries_its_raw_value_for_a_reader() -> None:
    kpi = Kpi(
        "revenue", "Revenue", {"USD": 1025.0, "EUR": 160.0}, "$1,025.00 · €160.00", fmt.change(1025, 50)
    )
    html = str(components.kpi_row([kpi], "13 Oct 2025"))
    assert 'data-kpi="revenue"' in html
    assert 'data-value="{&quot;EUR&quot;: 160.0, &quot;USD&quot;: 1025.0}"' in html
    assert "▲ +1950.0%" in html
    assert "vs 13 Oct 2025" in html
    assert "kpi-detail" not in html
    # without comparison there is no change line; with nothing to compare, it says so
    assert "vs 13 Oct" not in str(components.kpi_row([kpi], None))
    missing = Kpi("dau", "DAU", 4.0, "4", fmt.change(4, None))
    assert "no data for 13 Oct 2025" in str(components.kpi_row([missing], "13 Oct 2025"))


def test_revenue_in_one_or_several_currencies() -> None:
    one = components.revenue_kpi({"USD": 12_345.0}, {"USD": 10_000.0})
    assert (one.text, one.detail, one.change) == ("$12.3k", "", fmt.Change("+23.4%", "up", "good"))
    several = components.revenue_kpi({"EUR": 1_645.91, "USD": 445_400.0, "GBP": 73.98}, {})
    assert (several.text, several.detail) == ("$445.4k", "+ €1.6k · + £73.98")
    assert several.change == fmt.Change("new in USD", "none", "neutral")
    assert "kpi-detail" in str(components.kpi_row([several], None))
    assert components.revenue_kpi({}, {"USD": 5.0}).text == "–"


def test_period_labels() -> None:
    assert components.period_label(D2, D2) == "14 Oct 2025"
    assert components.period_label(D1, D2) == "13 – 14 Oct 2025"
    assert components.period_label(date(2025, 9, 28), D2) == "28 Sep – 14 Oct 2025"
    assert components.period_label(date(2024, 12, 30), date(2025, 1, 5)) == "30 Dec 2024 – 5 Jan 2025"


def test_empty_state() -> None:
    html = str(components.empty_state("No sessions in these dates", "Choose other dates"))
    assert "No sessions in these dates" in html
    assert "empty-state" in html
