"""The analysis pages (Retention, Site search, Paths) in Chromium, on the hand-countable history of
tests/support/analyses_sample.py loaded through SessionizeAndUpsert in its three runs (the late
events included), with the dashboards started as ``clickstream up`` starts them
(``python -m shiny run shiny/app.py``) on that warehouse. A person's checks: each page draws its
chart and table, shows the numbers counted by hand, and follows the dates and a slice filter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect
from shiny.playwright import controller

from clickstream.core.storage import Lake
from clickstream.local.process import ROOT
from tests.support.analyses_sample import RUNS, Runs
from tests.support.browser import chromium
from tests.support.staged import Stager

WAIT_MS = 60_000
expect.set_options(timeout=WAIT_MS)


@pytest.fixture
def dashboard(database_url: str, lake: Lake, stager: Stager, tmp_path: Path) -> Iterator[str]:
    runs = Runs(database_url, lake, stager)
    for events in RUNS:
        runs.run(events)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    env.pop("CLICKSTREAM_DATA_DIR", None)
    log = (tmp_path / "dashboard.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "shiny", "run", str(ROOT / "shiny" / "app.py"), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "dashboard.log").read_text()
            try:
                if requests.get(url, timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the dashboards did not answer"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def page(dashboard: str) -> Iterator[Page]:
    errors: list[str] = []
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(WAIT_MS)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(dashboard)
        yield tab
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def show(page: Page, title: str, name: str) -> None:
    page.get_by_role("tab", name=title, exact=True).click()
    expect(page.locator(f"#{name}-kpis [data-kpi]").first).to_be_visible()


def expect_kpi(page: Page, name: str, key: str, raw: str, text: str) -> None:
    box = page.locator(f'#{name}-kpis [data-kpi="{key}"]')
    expect(box).to_have_attribute("data-value", raw)
    expect(box.locator(".kpi-value")).to_have_text(text)


def grid_rows(page: Page, table: str) -> Any:
    return page.locator(f"#{table} tbody tr")


def no_output_errors(page: Page) -> None:
    expect(page.locator(".shiny-output-error:not(.shiny-output-error-validation)")).to_have_count(0)


def test_retention_shows_the_hand_counted_cohorts_and_follows_the_filters(page: Page) -> None:
    # Given every date of the sample (the app opens on the last 7 days, which hold no first visit)
    controller.InputDateRange(page, "dates").set(("2025-10-06", "2025-10-29"))
    show(page, "Retention", "retention")

    # Then: 4 new visitors (a, b, d in the week of 6 Oct, c in the week of 13 Oct), 3 of 4 back in week 1
    expect_kpi(page, "retention", "new_visitors", "4", "4")
    expect_kpi(page, "retention", "visitor_week1", "0.75", "75.0%")
    expect_kpi(page, "retention", "new_customers", "2", "2")
    expect_kpi(page, "retention", "customer_week1", "0.5", "50.0%")
    expect(page.locator('#retention-heatmap [data-chart="retention"] .js-plotly-plot')).to_be_visible()
    rows = grid_rows(page, "retention-cohorts")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("6 Oct 2025")
    cells = rows.nth(0).locator("td")
    expect(cells.nth(1)).to_have_text("3")  # size
    expect(cells.nth(2)).to_have_text("2")  # week 1: a, b
    expect(cells.nth(4)).to_have_text("1")  # week 2: d

    # When the customers' cohorts are chosen: a in the week of 6 Oct (back in week 3), c (back in week 1)
    controller.InputRadioButtons(page, "retention-kind").set("purchase")
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("1")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("1")

    # When only Direct traffic is selected: c alone (its first session came in directly)
    controller.InputSelectize(page, "channels").set(["Direct"])
    expect_kpi(page, "retention", "new_visitors", "1", "1")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("13 Oct 2025")
    no_output_errors(page)


def test_site_search_shows_the_hand_counted_queries_and_follows_a_filter(page: Page) -> None:
    # Given the week of every search (13 - 19 Oct)
    controller.InputDateRange(page, "dates").set(("2025-10-13", "2025-10-19"))
    show(page, "Search", "search")

    # Then: 4 searches; one each followed by a product view, a purchase, leaving, searching again
    expect_kpi(page, "search", "searches", "4", "4")
    for key in ("product_views", "purchases", "exits", "searched_again", "no_results"):
        expect_kpi(page, "search", key, "0.25", "25.0%")
    expect(page.locator('#search-top_chart [data-chart="search-top"] .js-plotly-plot')).to_be_visible()
    expect(
        page.locator('#search-missing_chart [data-chart="search-missing"] .js-plotly-plot')
    ).to_be_visible()
    queries = grid_rows(page, "search-queries")
    expect(queries).to_have_count(3)
    expect(queries.nth(0).locator("td").nth(0)).to_have_text("laptop")
    expect(queries.nth(0).locator("td").nth(1)).to_have_text("2")
    missing = grid_rows(page, "search-missing")
    expect(missing).to_have_count(2)
    expect(missing.nth(0).locator("td").nth(0)).to_have_text("labtop")

    # When only desktop sessions are selected: a's "mouse" and c's "Laptop "
    controller.InputSelectize(page, "devices").set(["desktop"])
    expect_kpi(page, "search", "searches", "2", "2")
    expect(queries).to_have_count(2)
    expect(missing).to_have_count(1)
    expect(missing.nth(0).locator("td").nth(0)).to_have_text("mouse")
    no_output_errors(page)


def test_paths_show_the_hand_counted_flow_and_follow_a_filter(page: Page) -> None:
    # Given every date of the sample
    controller.InputDateRange(page, "dates").set(("2025-10-06", "2025-10-29"))
    show(page, "Paths", "paths")

    # Then: 9 sessions with a page view, 6 of them left after their landing page, 4 purchased
    expect_kpi(page, "paths", "sessions", "9", "9")
    expect_kpi(page, "paths", "left_after_landing", repr(round(6 / 9, 6)), "66.7%")
    expect_kpi(page, "paths", "purchased", repr(round(4 / 9, 6)), "44.4%")
    flow = page.locator('#paths-flow [data-chart="paths"] .js-plotly-plot')
    expect(flow).to_be_visible()
    # the nodes: /, product: mice; (left), /c/laptops, product: laptops; product: laptops, (left)
    expect(flow.locator(".sankey-node")).to_have_count(7)
    next_pages = grid_rows(page, "paths-next_pages")
    expect(next_pages).to_have_count(4)
    expect(next_pages.nth(0)).to_contain_text("(left)")
    bought = grid_rows(page, "paths-purchase_paths")
    expect(bought).to_have_count(3)
    expect(bought.nth(0).locator("td").nth(0)).to_have_text("/ → (left)")

    # When only mobile sessions are selected: a's first (its late start on mobile), b's two, d's first
    controller.InputSelectize(page, "devices").set(["mobile"])
    expect_kpi(page, "paths", "sessions", "4", "4")
    expect(bought).to_have_count(1)
    expect(bought.nth(0).locator("td").nth(0)).to_have_text("/ → /c/laptops → product: laptops")
    no_output_errors(page)
