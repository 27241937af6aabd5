"""The analysis pages (Retention, Site search, Paths) on the hand-countable history of
tests/support/analyses_sample.py, loaded through SessionizeAndUpsert in its three runs: what their
queries return and what their view functions make of it, counted by hand from that module's table."""

from __future__ import annotations

import math
from datetime import date

import analysis_queries as aq
import pandas as pd
import pytest

import queries
from clickstream.core.storage import Lake
from pages import paths, retention, search
from queries import Database, Filters
from tests.support.analyses_sample import RUNS, Runs
from tests.support.staged import Stager

W0, W1 = date(2025, 10, 6), date(2025, 10, 13)
ALL = Filters(date(2025, 10, 6), date(2025, 11, 2))
NAN = float("nan")


@pytest.fixture
def loaded(database_url: str, lake: Lake, stager: Stager) -> Database:
    runs = Runs(database_url, lake, stager)
    for events in RUNS:
        runs.run(events)
    return Database(database_url)


def cells(grid: pd.DataFrame) -> list[list[float]]:
    return [[float(v) for v in row] for row in grid.drop(columns=["cohort_week"]).to_numpy()]


def same(a: list[list[float]], b: list[list[float]]) -> bool:
    return all(
        len(x) == len(y)
        and all((math.isnan(p) and math.isnan(q)) or p == q for p, q in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True)
    ) and len(a) == len(b)


# ----------------------------------------------------------------- retention


def test_visitor_cohorts_count_each_visitor_in_the_week_of_its_first_session(loaded: Database) -> None:
    last_day = queries.data_bounds(loaded)[1]
    assert last_day == date(2025, 10, 29)
    grid = retention.cohort_grid(aq.retention_cohorts(loaded, ALL, "visit"), last_day)
    assert list(grid["cohort_week"]) == [W0, W1]
    # W0: a (6 Oct), b (8 Oct), d (9 Oct, its late first visit); back in W1: a, b; W2: d; W3: a.
    # W1: c; back in W2; nothing in W3 (27 Oct, seen) ; W4 has not started on 29 Oct.
    assert same(cells(grid), [[3, 2, 1, 1], [1, 1, 0, NAN]])


def test_customer_cohorts_count_each_customer_in_the_week_of_its_first_purchase(loaded: Database) -> None:
    grid = retention.cohort_grid(aq.retention_cohorts(loaded, ALL, "purchase"), date(2025, 10, 29))
    # a buys on 6 Oct and again on 29 Oct (W3); c on 14 Oct and 21 Oct (W2, its week 1)
    assert list(grid["cohort_week"]) == [W0, W1]
    assert same(cells(grid), [[1, 0, 0, 1], [1, 1, 0, NAN]])


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        # the slice of a visitor's first session: a (mobile after its late event), b, d (mobile, late)
        (Filters(ALL.start, ALL.end, devices=("mobile",)), [[3, 2, 1, 1]]),
        (Filters(ALL.start, ALL.end, channels=("Direct",)), [[1, 1, 0]]),  # c: weeks up to 29 Oct
        (Filters(ALL.start, ALL.end, countries=("FR",)), [[1, 0, 1, 0]]),
        # the dates pick the cohorts by their first visit; returns are counted after them
        (Filters(date(2025, 10, 13), date(2025, 10, 19)), [[1, 1, 0]]),
        (Filters(date(2025, 10, 8), date(2025, 10, 8)), [[1, 1, 0, 0]]),
    ],
)
def test_cohorts_follow_the_filters(loaded: Database, f: Filters, expected: list[list[float]]) -> None:
    grid = retention.cohort_grid(aq.retention_cohorts(loaded, f, "visit"), date(2025, 10, 29))
    assert same(cells(grid), expected)


def test_retention_headline_and_table(loaded: Database) -> None:
    visits = retention.cohort_grid(aq.retention_cohorts(loaded, ALL, "visit"), date(2025, 10, 29))
    purchases = retention.cohort_grid(aq.retention_cohorts(loaded, ALL, "purchase"), date(2025, 10, 29))
    kpis = {k.key: k for k in retention.headline(visits, purchases)}
    assert (kpis["new_visitors"].value, kpis["new_visitors"].text) == (4, "4")
    assert kpis["visitor_week1"].value == pytest.approx(3 / 4)  # a, b of W0's 3 and c of W1's 1
    assert kpis["visitor_week1"].text == "75.0%"
    assert kpis["new_customers"].value == 2
    assert kpis["customer_week1"].value == pytest.approx(1 / 2)
    table = retention.table_frame(visits)
    assert list(table.columns[:4]) == ["Cohort (week of)", "Size", "Week 1", "Week 1 %"]
    assert table.iloc[0].tolist()[:4] == ["6 Oct 2025", 3, 2, pytest.approx(66.7)]
    assert pd.isna(table.iloc[1]["Week 3"])
    fig = retention.heatmap_figure(visits, "visitors")
    assert list(fig.data[0].x) == ["Week 0", "Week 1", "Week 2", "Week 3"]
    assert list(fig.data[0].text[0][:2]) == ["100%<br>3", "67%<br>2"]
    assert fig.data[0].text[1][3] == ""  # the week of 3 Nov has not started on 29 Oct


def test_no_cohort_in_dates_without_first_visits(loaded: Database) -> None:
    f = Filters(date(2025, 10, 27), date(2025, 11, 2))  # only a's return on 29 Oct
    assert aq.retention_cohorts(loaded, f, "visit").empty
    assert retention.cohort_grid(aq.retention_cohorts(loaded, f, "visit"), date(2025, 10, 29)).empty
    with pytest.raises(ValueError, match="unknown cohort kind"):
        aq.retention_cohorts(loaded, f, "bogus")


# ----------------------------------------------------------------- site search


def test_search_queries_and_what_followed_them(loaded: Database) -> None:
    rows = aq.search_queries(loaded, ALL)
    by_query = {r["search_query"]: r for r in rows.to_dict("records")}
    assert list(rows["search_query"]) == ["laptop", "labtop", "mouse"]  # most searched first, then by name
    outcomes = ("searches", "no_results", "product_views", "purchases", "exits", "searched_again")
    # c's "Laptop " (then /p/l1 and a purchase) and b's "laptop" (then /c/laptops, no product)
    assert [by_query["laptop"][k] for k in outcomes] == [2, 0, 1, 1, 0, 0]
    # b's "labtop": no results, and the next thing b did was another search
    assert [by_query["labtop"][k] for k in outcomes] == [1, 1, 0, 0, 0, 1]
    # a's "mouse": nothing after it in the session
    assert [by_query["mouse"][k] for k in outcomes] == [1, 0, 0, 0, 1, 0]

    table = search.query_frame(rows)
    assert table.iloc[0].tolist() == ["laptop", 2, 0, 50.0, 50.0, 0.0, 0.0]
    missing = search.missing_frame(rows)
    assert list(missing["Query"]) == ["labtop", "mouse"]
    assert missing.iloc[0][["Left", "Searched again", "No results"]].tolist() == [0, 1, 1]
    fig = search.missing_figure(missing)
    assert [t.name for t in fig.data] == ["Left", "Searched again"]


def test_search_headline_against_the_previous_period(loaded: Database) -> None:
    f = Filters(date(2025, 10, 13), date(2025, 10, 19))  # every search; none in the week before
    kpis = {k.key: k for k in search.headline(aq.search_totals(loaded, f))}
    assert list(kpis) == [
        "searches",
        "product_views",
        "purchases",
        "exits",
        "searched_again",
        "no_results",
    ]
    assert (kpis["searches"].value, kpis["searches"].text) == (4, "4")
    for key in ("product_views", "purchases", "exits", "searched_again", "no_results"):
        assert kpis[key].value == pytest.approx(1 / 4), key
        assert kpis[key].text == "25.0%"


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        # a search counts in its session's slice: a's and c's sessions of 14 Oct are desktop
        (Filters(ALL.start, ALL.end, devices=("desktop",)), {"laptop": 1, "mouse": 1}),
        (Filters(ALL.start, ALL.end, countries=("US",)), {"laptop": 1, "labtop": 1}),
        (Filters(date(2025, 10, 15), date(2025, 10, 15)), {"laptop": 1, "labtop": 1}),
        (Filters(date(2025, 10, 20), date(2025, 10, 26)), {}),
    ],
)
def test_searches_follow_the_filters(loaded: Database, f: Filters, expected: dict[str, int]) -> None:
    rows = aq.search_queries(loaded, f)
    assert dict(zip(rows["search_query"], rows["searches"], strict=True)) == expected


# ----------------------------------------------------------------- paths


def test_paths_count_each_session_by_its_first_three_pages(loaded: Database) -> None:
    rows = aq.session_paths(loaded, ALL)
    got = {
        (r["step1"], r["step2"], r["step3"]): (r["sessions"], r["purchase_sessions"])
        for r in rows.to_dict("records")
    }
    assert got == {
        ("/", "", ""): (4, 2),  # a 14 Oct, a 29 Oct (bought), c 21 Oct (bought), d 20 Oct
        ("product: mice", "", ""): (2, 0),  # b 8 Oct, d 9 Oct
        ("/", "/c/laptops", "product: laptops"): (
            1,
            1,
        ),  # a 6 Oct: / twice (its late view), /c/laptops twice, L1's page
        ("/", "/c/laptops", ""): (1, 0),  # b 15 Oct (its searches are no page views)
        ("/", "product: laptops", ""): (1, 1),  # c 14 Oct
    }
    kpis = {k.key: k for k in paths.headline(rows)}
    assert kpis["sessions"].value == 9
    assert kpis["landing_pages"].value == 2
    assert kpis["left_after_landing"].value == pytest.approx(6 / 9)
    assert kpis["purchased"].value == pytest.approx(4 / 9)


def test_next_pages_flow_and_paths_to_purchase(loaded: Database) -> None:
    rows = aq.session_paths(loaded, ALL)
    table = paths.next_pages_frame(rows)
    assert table.values.tolist() == [
        ["/", "(left)", 4, 57.1],
        ["/", "/c/laptops", 2, 28.6],
        ["/", "product: laptops", 1, 14.3],
        ["product: mice", "(left)", 2, 100.0],
    ]
    bought = paths.purchase_paths_frame(rows)
    assert bought.values.tolist() == [
        ["/ → (left)", 2, 4, 50.0],
        ["/ → /c/laptops → product: laptops", 1, 1, 100.0],
        ["/ → product: laptops → (left)", 1, 1, 100.0],
    ]
    links = paths.flow_links(rows)
    assert {(s, t): n for s, t, n in links.itertuples(index=False)} == {
        ("1: /", "2: (left)"): 4,
        ("1: /", "2: /c/laptops"): 2,
        ("1: /", "2: product: laptops"): 1,
        ("1: product: mice", "2: (left)"): 2,
        ("2: /c/laptops", "3: product: laptops"): 1,
        ("2: /c/laptops", "3: (left)"): 1,
        ("2: product: laptops", "3: (left)"): 1,
    }
    fig = paths.flow_figure(links)
    assert sum(fig.data[0].link.value) == 12


@pytest.mark.parametrize(
    ("f", "sessions"),
    [
        (Filters(ALL.start, ALL.end, devices=("mobile",)), 4),  # a 6 Oct (its late start), b twice, d 9 Oct
        (Filters(ALL.start, ALL.end, channels=("Direct",)), 4),  # a 14 and 29 Oct, c twice
        (Filters(date(2025, 10, 20), date(2025, 10, 26)), 2),  # c 21 Oct, d 20 Oct
    ],
)
def test_paths_follow_the_filters(loaded: Database, f: Filters, sessions: int) -> None:
    assert int(aq.session_paths(loaded, f)["sessions"].sum()) == sessions


def test_the_bench_times_every_query_of_the_analysis_pages(loaded: Database) -> None:
    from bench.dashboards import page_renders

    renders = page_renders(queries)
    assert [name for name, _ in renders["retention"]] == [
        "data_bounds",
        "retention_visit",
        "retention_purchase",
    ]
    for page in ("retention", "paths", "search"):
        for name, render in renders[page]:
            result = render(loaded, ALL)
            assert result is not None and len(result) > 0, (page, name)
