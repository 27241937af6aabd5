"""The dashboards in Chromium, on the whole local stack loaded through the state machine.

Two days of generated shop traffic go into the lake and are backfilled (the
last hours one execution each); the dashboards are the ones ``clickstream up`` started (stack.json's
dashboard_url). A person's checks: every page draws its charts; changing the
dates and a filter changes the headline numbers to what an independent query
on fact_sessions / fact_events says; a failed hour shows on the Reliability
page and its Redrive button turns it green.

``make screenshots`` runs this module with DASHBOARD_SCREENSHOTS=docs/screenshots
(and a week of busier traffic: DASHBOARD_E2E_DAYS, _HOURLY, _EVENTS_PER_DAY) to
regenerate the pictures in the README.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from shiny.playwright import controller

from clickstream.core import sqlfiles
from clickstream.core.lake import hour_iso
from clickstream.local.process import ROOT
from clickstream.tools.generate import GeneratorConfig, generate_to_dir
from tests.support.browser import chromium
from tests.support.stack import RunningStack

sys.path.insert(0, str(ROOT / "shiny"))
import formatting as fmt  # the app's own formats, from shiny/

TEST_SQL = Path(__file__).resolve().parents[1] / "sql"
START = datetime(2025, 10, 13, tzinfo=UTC)  # a Monday
DAYS = int(os.environ.get("DASHBOARD_E2E_DAYS", "2"))
# The backfill catches up day by day (an execution takes every partition received since the
# watermark, as ListNew does), then runs the last HOURLY hours one execution each.
HOURLY = int(os.environ.get("DASHBOARD_E2E_HOURLY", "4"))
EVENTS_PER_DAY = int(os.environ.get("DASHBOARD_E2E_EVENTS_PER_DAY", "3000"))
LAST_DAY = (START + timedelta(days=DAYS - 1)).date()
DAY_BEFORE = LAST_DAY - timedelta(days=1)
FAILED_HOUR = START + timedelta(days=DAYS)  # the hour after the backfill
PAGES = ("traffic", "funnel", "products", "acquisition", "retention", "paths", "search", "reliability")
SCREENSHOTS = os.environ.get("DASHBOARD_SCREENSHOTS")
WAIT_MS = 60_000
expect.set_options(timeout=WAIT_MS)  # a page waits for its queries; generous on a busy 2-core machine


def put_traffic(stack: RunningStack, out: Path, **config: Any) -> None:
    """Generate traffic into a folder, then put every object into the stack's lake at its key."""
    generate_to_dir(GeneratorConfig(**config), out)
    paths = sorted((out / "raw").rglob("*.ndjson.gz"))
    with ThreadPoolExecutor(max_workers=8) as pool:  # a few hundred small objects
        list(pool.map(lambda p: stack.lake.put_bytes(p.relative_to(out).as_posix(), p.read_bytes()), paths))


@pytest.fixture(scope="module")
def loaded(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> RunningStack:
    """The stack with DAYS of traffic (some malformed and invalid lines), backfilled."""
    put_traffic(
        stack,
        tmp_path_factory.mktemp("traffic"),
        seed=21,
        start=START,
        hours=24 * DAYS,
        events_per_day=EVENTS_PER_DAY,
        malformed_rate=0.005,
        violation_rate=0.005,
        list_impressions=True,
    )
    last_hour = START + timedelta(hours=24 * DAYS - 1)
    hourly_from = max(START, last_hour - timedelta(hours=HOURLY - 1))
    day_end = START + timedelta(hours=23)
    while day_end < hourly_from:  # catching up: one execution takes in a whole day
        stack.cli("backfill", "--from", hour_iso(day_end), "--to", hour_iso(day_end))
        day_end += timedelta(days=1)
    stack.cli("backfill", "--from", hour_iso(hourly_from), "--to", hour_iso(last_hour))
    assert stack.info.dashboard_url, "clickstream up did not start the dashboards"
    return stack


@pytest.fixture(scope="module")
def failed_hour(loaded: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One more hour of traffic whose SessionizeAndUpsert fails for good (the fault drill), then lifted."""
    put_traffic(
        loaded,
        tmp_path_factory.mktemp("late_hour"),
        seed=22,
        start=FAILED_HOUR,
        hours=1,
        events_per_day=EVENTS_PER_DAY,
        list_impressions=True,
    )
    loaded.faults({"load": [{"error": "ConfigurationError", "action": "sessionize_and_upsert", "times": -1}]})
    result = loaded.cli("run", "--hour", hour_iso(FAILED_HOUR), check=False)
    loaded.faults({})
    assert result.returncode == 1, result.stdout + result.stderr
    return hour_iso(FAILED_HOUR)[:13]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, loaded: RunningStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    assert loaded.info.dashboard_url is not None
    tab.goto(loaded.info.dashboard_url)
    yield tab
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def show(page: Page, name: str) -> None:
    """Open a page of the dashboards and wait until its headline numbers are there."""
    page.get_by_role("tab", name=name.title(), exact=True).click()
    expect(page.locator(f"#{name}-kpis [data-kpi]").first).to_be_visible()


def kpi(page: Page, name: str, key: str) -> Any:
    return page.locator(f'#{name}-kpis [data-kpi="{key}"]')


def expect_kpi(page: Page, name: str, key: str, value: float, text: str) -> None:
    """The headline number shows `text` and carries `value` (floats to 6 decimals, as the app writes them)."""
    box = kpi(page, name, key)
    raw = str(value) if isinstance(value, int) else repr(round(float(value), 6))
    expect(box).to_have_attribute("data-value", raw)
    expect(box.locator(".kpi-value")).to_have_text(text)


def no_output_errors(page: Page) -> None:
    expect(page.locator(".shiny-output-error:not(.shiny-output-error-validation)")).to_have_count(0)


# ----------------------------------------------------------------- what a person checks


def test_every_page_renders_its_charts_and_tables(page: Page, loaded: RunningStack) -> None:
    for name in PAGES:
        show(page, name)
        charts = page.locator(".tab-pane.active [data-chart] .js-plotly-plot")
        expect(charts.first).to_be_visible()
        assert charts.count() >= (1 if name in {"acquisition", "reliability", "retention", "paths"} else 2), (
            name
        )
        expect(charts.first.locator(".main-svg").first).to_be_attached()
        grids = page.locator(".tab-pane.active shiny-data-frame tbody tr")
        expect(grids.first).to_be_visible()
        expect(page.locator(".tab-pane.active .shiny-download-link").first).to_be_visible()
        no_output_errors(page)
    # the default dates end on the last day with data
    expect(page.locator("#dates input").nth(1)).to_have_value(LAST_DAY.isoformat())


def test_dates_and_a_filter_change_the_headlines_to_what_the_facts_say(
    page: Page, loaded: RunningStack
) -> None:
    # Given the last day, mobile devices only
    show(page, "traffic")
    controller.InputDateRange(page, "dates").set((LAST_DAY.isoformat(), LAST_DAY.isoformat()))
    controller.InputSelectize(page, "devices").set(["mobile"])

    # Then Traffic shows what fact_sessions and fact_events say about it, and the change since the day before
    facts, before = traffic_facts(loaded, LAST_DAY), traffic_facts(loaded, DAY_BEFORE)
    assert facts["sessions"] > 0 and before["sessions"] > 0
    expect_kpi(page, "traffic", "sessions", facts["sessions"], fmt.compact(facts["sessions"]))
    expect_kpi(page, "traffic", "visitors", facts["visitors"], fmt.compact(facts["visitors"]))
    expect_kpi(
        page,
        "traffic",
        "pages_per_session",
        facts["page_views"] / facts["sessions"],
        fmt.decimal(facts["page_views"] / facts["sessions"]),
    )
    expect_kpi(
        page, "traffic", "avg_duration_s", facts["avg_duration_s"], fmt.duration(facts["avg_duration_s"])
    )
    engaged = facts["engaged"] / facts["sessions"]
    expect_kpi(page, "traffic", "engagement_rate", engaged, fmt.percent(engaged))
    new, returning = facts["new_visitors"], facts["visitors"] - facts["new_visitors"]
    assert new > 0 and returning > 0  # the day before brought visitors back
    expect_kpi(page, "traffic", "new_visitors", new, fmt.compact(new))
    expect_kpi(page, "traffic", "returning_visitors", returning, fmt.compact(returning))
    # stickiness is the DAU card / the MAU card, as they are shown beside it
    dau, mau = (float(kpi(page, "traffic", k).get_attribute("data-value") or "nan") for k in ("dau", "mau"))
    expect_kpi(page, "traffic", "stickiness", dau / mau, fmt.percent(dau / mau))
    change = fmt.change(facts["sessions"], before["sessions"])
    expect(kpi(page, "traffic", "sessions").locator(".kpi-change")).to_contain_text(change.text)
    expect(kpi(page, "traffic", "sessions")).to_contain_text(f"vs {DAY_BEFORE.day} {DAY_BEFORE:%b %Y}")

    # and the other pages agree with the facts too
    show(page, "funnel")
    expect_kpi(page, "funnel", "funnel_purchase", facts["purchased"], fmt.compact(facts["purchased"]))
    expect_kpi(page, "funnel", "sessions", facts["sessions"], fmt.compact(facts["sessions"]))
    show(page, "products")
    expect_kpi(page, "products", "views", facts["product_views"], fmt.compact(facts["product_views"]))
    assert facts["impressions"] > 0 and facts["list_clicks"] > 0
    ctr = facts["list_clicks"] / facts["impressions"]
    expect_kpi(page, "products", "list_ctr", ctr, fmt.percent(ctr))
    expect(page.locator(".tab-pane.active shiny-data-frame thead").first).to_contain_text("CTR %")
    show(page, "acquisition")
    expect_kpi(page, "acquisition", "orders", facts["orders"], fmt.compact(facts["orders"]))
    conversion = facts["purchased"] / facts["sessions"]
    expect_kpi(page, "acquisition", "conversion_rate", conversion, fmt.percent(conversion))
    # average order value and revenue per visitor, per currency (revenue / orders, / visitors)
    by_currency = facts["by_currency"]
    order_value = {
        c: float(revenue / orders)
        for c, (orders, revenue) in by_currency.items()
        if orders and (c or revenue)
    }
    per_visitor = {
        c: float(revenue) / facts["visitors"] for c, (_, revenue) in by_currency.items() if c or revenue
    }
    main = min(per_visitor, key=lambda c: (-by_currency[c][1], c))  # the largest revenue, shown big
    for key, amounts in (("order_value", order_value), ("revenue_per_visitor", per_visitor)):
        box = kpi(page, "acquisition", key)
        expect(box).to_have_attribute("data-value", money_value(amounts))
        expect(box.locator(".kpi-value")).to_have_text(fmt.money_compact(amounts[main], main))

    # When the filter is cleared, the numbers are the whole day's
    controller.InputSelectize(page, "devices").set([])
    day = traffic_facts(loaded, LAST_DAY, device=None)
    assert day["sessions"] > facts["sessions"]
    expect_kpi(page, "acquisition", "orders", day["orders"], fmt.compact(day["orders"]))
    show(page, "traffic")
    expect_kpi(page, "traffic", "sessions", day["sessions"], fmt.compact(day["sessions"]))
    show(page, "products")
    ctr = day["list_clicks"] / day["impressions"]
    expect_kpi(page, "products", "list_ctr", ctr, fmt.percent(ctr))
    no_output_errors(page)


def traffic_facts(stack: RunningStack, day: date, device: str | None = "mobile") -> dict[str, Any]:
    """The headline numbers of one day, from the facts (not from the aggregates the app reads)."""
    params = {"day": day, "device": device}
    sessions, engaged, purchased, avg_duration_s = stack.query(
        sqlfiles.text("dashboards_browser/day_sessions.sql", TEST_SQL), params
    )[0]
    page_views, orders = stack.query(
        sqlfiles.text("dashboards_browser/day_session_events.sql", TEST_SQL), params
    )[0]
    visitors, product_views = stack.query(
        sqlfiles.text("dashboards_browser/day_visitors.sql", TEST_SQL), params
    )[0]
    (new_visitors,) = stack.query(sqlfiles.text("dashboards_browser/day_new_visitors.sql", TEST_SQL), params)[
        0
    ]
    by_currency = stack.query(
        sqlfiles.text("dashboards_browser/day_orders_by_currency.sql", TEST_SQL), params
    )
    impressions, list_clicks = stack.query(
        sqlfiles.text("dashboards_browser/day_list_clicks.sql", TEST_SQL), params
    )[0]
    return {
        "sessions": sessions,
        "engaged": engaged,
        "purchased": purchased,
        "avg_duration_s": float(avg_duration_s or 0),
        "page_views": page_views,
        "orders": orders,
        "visitors": visitors,
        "new_visitors": new_visitors,
        "product_views": product_views,
        "by_currency": {currency: (orders, revenue) for currency, orders, revenue in by_currency},
        "impressions": impressions,
        "list_clicks": list_clicks,
    }


def money_value(amounts: dict[str, float]) -> str:
    """data-value of an amount per currency, as the app writes it (components._raw)."""
    return json.dumps({c: round(v, 2) for c, v in sorted(amounts.items())})


def test_every_page_renders_to_a_screenshot(page: Page, failed_hour: str, tmp_path: Path) -> None:
    """Each page as a PNG: into a temporary folder, or docs/screenshots with ``make screenshots``."""
    out = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    if not out.is_absolute():
        out = ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    default_dates = (
        page.locator("#dates input").nth(0).input_value(),
        page.locator("#dates input").nth(1).input_value(),
    )
    for name in PAGES:
        show(page, name)
        # weekly cohorts need weeks: Retention is pictured over every day loaded, the others over the default
        dates = (START.date().isoformat(), LAST_DAY.isoformat()) if name == "retention" else default_dates
        controller.InputDateRange(page, "dates").set(dates)
        expect(page.locator(".tab-pane.active [data-chart] .js-plotly-plot").first).to_be_visible()
        expect(page.locator("html.shiny-busy")).to_have_count(0)
        page.wait_for_timeout(800)  # let plotly finish its transitions before the picture
        height = page.evaluate(
            "() => document.querySelector('.bslib-sidebar-layout > .main').scrollHeight"
            " + document.querySelector('.navbar').getBoundingClientRect().height + 8"
        )
        page.set_viewport_size({"width": 1440, "height": int(height)})
        page.wait_for_timeout(800)
        page.screenshot(path=str(out / f"{name}.png"))
        page.set_viewport_size({"width": 1440, "height": 1000})
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 20_000, f"{name}.png looks empty"


def test_a_failed_hour_shows_and_its_redrive_turns_it_green(
    page: Page, loaded: RunningStack, failed_hour: str
) -> None:
    # Given an hour whose execution failed (the fault is lifted since)
    assert loaded.op.failed_hours() == [failed_hour]
    show(page, "reliability")
    row = page.locator(f'#reliability-attention tr[data-hour="{failed_hour}"]')
    expect(row).to_have_attribute("data-status", "FAILED")
    expect(row).to_contain_text("ConfigurationError")
    expect(kpi(page, "reliability", "failed_hours")).to_have_attribute("data-value", "1")

    # When the operator clicks Redrive and confirms
    row.get_by_role("button", name="Redrive").click()
    dialog = page.locator(".modal-dialog")
    expect(dialog).to_contain_text(f"Redrive {failed_hour}")
    dialog.get_by_role("button", name="Redrive", exact=True).click()

    # Then the hour runs again and turns green
    expect(row).to_have_attribute("data-status", "SUCCEEDED", timeout=120_000)
    expect(row.locator(".badge")).to_have_class(re.compile(r"\bstatus-succeeded\b"))
    expect(row).to_contain_text(f"hour-{failed_hour}-r2")
    expect(kpi(page, "reliability", "failed_hours")).to_have_attribute("data-value", "0")
    assert loaded.op.failed_hours() == []
    assert loaded.scalar("select watermark_hour from etl_watermark") == FAILED_HOUR


# ----------------------------------------------------------------- browser and OS, partial days, names

GRID_JS = """(id) => {
    const grid = document.getElementById(id);
    const text = (cell) => cell.innerText.trim();
    return {
        head: [...grid.querySelectorAll('thead tr:first-child th')].map(text),
        rows: [...grid.querySelectorAll('tbody tr')].map((r) => [...r.querySelectorAll('td')].map(text)),
    };
}"""


def grid(page: Page, table_id: str) -> list[dict[str, str]]:
    """The rows of a data grid as dicts by column title, as the page shows them (a long grid draws
    the rows in view, between spacer rows of one cell)."""
    shown = page.evaluate(GRID_JS, table_id)
    return [
        dict(zip(shown["head"], row, strict=True)) for row in shown["rows"] if len(row) == len(shown["head"])
    ]


@pytest.mark.parametrize(("by", "title"), [("browser", "Browser"), ("os", "OS")])
def test_acquisition_splits_sessions_by_browser_and_os_as_the_sessions_say(
    page: Page, loaded: RunningStack, by: str, title: str
) -> None:
    # Given the last day's sessions, split by the user agent's browser (or OS)
    show(page, "acquisition")
    controller.InputDateRange(page, "dates").set((LAST_DAY.isoformat(), LAST_DAY.isoformat()))
    controller.InputRadioButtons(page, "acquisition-by").set(by)
    expect(page.locator("#acquisition-breakdown thead th").first).to_have_text(title)
    # Then each row's sessions are fact_sessions' count of that browser (or OS), unknown ones apart
    counts = loaded.query(
        f"select coalesce({by}, ''), count(*) from fact_sessions where session_date = %(day)s group by 1",
        {"day": LAST_DAY},
    )
    expected = {(value or "(unknown)"): f"{n:,}" for value, n in counts}
    assert len(expected) >= 3  # the generator's visitors use several browsers and systems
    expect(page.locator("#acquisition-breakdown tbody tr")).to_have_count(len(expected))
    shown = {row[title]: row["Sessions"] for row in grid(page, "acquisition-breakdown")}
    assert shown == expected
    no_output_errors(page)


def test_partial_days_are_marked_in_the_daily_trend_and_table(page: Page, loaded: RunningStack) -> None:
    # Given the last two loaded days (whole: the generator starts at midnight and the backfill took
    # every hour) and the day after them, which the pipeline has not (wholly) taken yet
    show(page, "traffic")
    after = LAST_DAY + timedelta(days=1)
    controller.InputDateRange(page, "dates").set((DAY_BEFORE.isoformat(), after.isoformat()))
    # Then that day alone is marked partial: hatched in the chart, named under it and in the table
    trend = page.locator("#traffic-trend > div")
    expect(trend).to_have_attribute("data-partial-days", after.isoformat())
    expect(page.locator("#traffic-trend .partial-days")).to_contain_text(after.isoformat())
    expect(page.locator("#traffic-trend .legend")).to_contain_text("Partial day")
    # (the table re-renders after the chart: wait for the new range's rows, not only their count)
    expect(page.locator("#traffic-daily tbody")).to_contain_text(after.isoformat())
    expect(page.locator("#traffic-daily tbody tr")).to_have_count(3)
    partial = {row["Date"]: row["Partial"] for row in grid(page, "traffic-daily")}
    assert partial == {
        DAY_BEFORE.isoformat(): "",
        LAST_DAY.isoformat(): "",
        after.isoformat(): partial[after.isoformat()],
    }
    assert partial[after.isoformat()] in {"no data yet", "until 01:00 UTC"}  # before or after the redrive
    no_output_errors(page)


def test_products_are_named_as_the_tracker_saw_them(page: Page, loaded: RunningStack) -> None:
    # The generator sends each product's catalog name as ecom.name (the storefront does too)
    names = dict(loaded.query("select product_id, product_name from dim_product"))
    assert names and all(names.values())
    show(page, "products")
    expect(page.locator("#products-products tbody tr").first).to_be_visible()
    rows = grid(page, "products-products")
    assert rows and all(row["Product"] == names[row["SKU"]] for row in rows)
    top = grid(page, "products-top")  # the half-width tables show the name alone
    assert top and all(row["Product"] in names.values() for row in top)


def test_no_table_column_is_cut_off_at_1440_px(page: Page, loaded: RunningStack) -> None:
    """Every table of every page fits its card in a 1440 px wide window: nothing to scroll sideways to."""
    overflowing = """() => [...document.querySelectorAll('.tab-pane.active .card table')]
        .filter((table) => table.offsetParent !== null)
        .map((table) => {
            const card = table.closest('.card-body') || table.closest('.card');
            let box = table.parentElement;
            while (box !== card && box.scrollWidth <= box.clientWidth + 1) box = box.parentElement;
            const right = table.getBoundingClientRect().right, limit = card.getBoundingClientRect().right;
            const id = (table.closest('[id]') || {}).id;
            const wide = box !== card || right > limit + 1;
            return wide ? `${id}: ${Math.round(right - limit)} px too wide` : null;
        })
        .filter((problem) => problem !== null)"""
    for name in PAGES:
        show(page, name)
        expect(page.locator(".tab-pane.active .card table").first).to_be_visible()
        expect(page.locator("html.shiny-busy")).to_have_count(0)
        assert page.evaluate(overflowing) == [], name
    show(page, "acquisition")  # the widest split: by browser
    controller.InputRadioButtons(page, "acquisition-by").set("browser")
    expect(page.locator("#acquisition-breakdown thead th").first).to_have_text("Browser")
    assert page.evaluate(overflowing) == []
