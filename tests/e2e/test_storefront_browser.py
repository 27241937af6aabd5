"""A shopper in Chromium on the demo storefront, through the local stack to the warehouse.

The storefront and POST /v1/events are served by ``clickstream up`` (the same
``handle_api_event`` the Lambda runs). The browser sends the header CloudFront
adds on AWS, ``CloudFront-Viewer-Country``. The shopper signs in (the demo's
opaque id), browses, searches, adds to the cart, checks out and buys; the
hour is closed through the state machine; then the warehouse, and the
dashboards when the stack serves them, must show exactly that visit.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from clickstream.core.lake import (
    RAW,
    floor_hour,
    hour_iso,
    last_closed_hour,
    partition_hour,
    partition_prefix,
)
from tests.support.stack import RunningStack

CHROMIUM = Path("/usr/bin/chromium")
# The shopper is a person: headless Chromium's own user agent says "HeadlessChrome", which the
# pipeline filters as a bot (docs/BOTS.md), so the pages are opened as a desktop Chrome would be.
SHOPPER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
COUNTRY = "DE"  # what CloudFront-Viewer-Country says on AWS
SEARCH = "ThinkPad"
QTY = 2
JOURNEY = {"view", "click", "search", "add_to_cart", "checkout", "purchase", "impression"}
DELIVERY_DEADLINE_S = 60  # how long to wait for the tracker's batches to reach the lake
UI_TIMEOUT_MS = 30_000
DASHBOARD_WAIT_MS = 60_000
EMAIL = r"[^\s@]+@[^\s@]+\.[a-z]{2,}"


@dataclass(frozen=True)
class Visit:
    """What the shopper did, as the browser saw it."""

    anonymous_id: str
    user_id: str  # the demo sign-in's opaque id (as Cognito's sub would be)
    product: dict[str, Any]  # the bought product, from the storefront's products.json
    lines: list[dict[str, Any]]  # the visit's raw lines in the lake
    hours: list[datetime]  # the receive hours those lines are in, each run through the pipeline

    @property
    def revenue(self) -> Decimal:
        return Decimal(str(self.product["price"])) * QTY


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/test-deps.d/40-chromium.sh (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def raw_lines(stack: RunningStack, anonymous_id: str, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """The visitor's lines in raw/ (or in the given objects)."""
    lines = []
    for key in keys if keys is not None else [obj.key for obj in stack.lake.list(RAW)]:
        for line in gzip.decompress(stack.lake.get_bytes(key)).splitlines():
            event = json.loads(line)
            if event["anonymous_id"] == anonymous_id:
                lines.append(event)
    return lines


def wait_for_lines(stack: RunningStack, anonymous_id: str) -> list[dict[str, Any]]:
    """The visit's lines once every step of the journey reached the lake (the tracker batches)."""
    deadline = time.monotonic() + DELIVERY_DEADLINE_S
    while True:
        lines = raw_lines(stack, anonymous_id)
        received = {line["event_type"] for line in lines}
        if received >= JOURNEY:
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"the tracker's events never reached the lake: got {sorted(received)}")
        time.sleep(0.25)


def shop(page: Page, url: str) -> tuple[str, str, str]:
    """Sign in, browse, search, open a product, add two to the cart, check out, buy.

    Returns the anonymous id, the signed-in user id and the bought product's id.
    """
    # the catalog
    page.goto(f"{url}/")
    expect(page.locator("article.card").first).to_be_visible()
    page.click("#account")  # "Sign in (demo)"
    expect(page.locator("#account")).to_contain_text("Sign out")
    user_id = page.evaluate("localStorage.getItem('bytebay_user')")
    anonymous_id = page.evaluate("window.clickstream.anonymousId")
    page.click("nav.cats a[href='index.html?category=monitors']")
    expect(page.locator("main h1")).to_have_text("Monitors")

    # search, and open a result
    page.fill("form.search input[name=q]", SEARCH)
    page.press("form.search input[name=q]", "Enter")
    page.wait_for_url("**/search.html?q=*")
    result = page.locator("article.card a").first
    expect(result).to_be_visible()
    result.click()
    page.wait_for_url("**/product.html?id=*")
    product_id = parse_qs(urlsplit(page.url).query)["id"][0]

    # add two to the cart, check out, buy
    page.select_option("#qty", str(QTY))
    page.click("#add-to-cart")
    expect(page.locator("p.status")).to_contain_text(f"Added {QTY}")
    page.click("p.status a[href='cart.html']")
    page.click("a[href='checkout.html']")
    page.click("#buy")
    expect(page.locator("#confirmation")).to_be_visible()

    # Leaving the shop fires pagehide, which flushes whatever the tracker still holds.
    page.goto("about:blank")
    return anonymous_id, user_id, product_id


@pytest.fixture(scope="module")
def visit(stack: RunningStack, browser: Browser) -> Visit:
    url = stack.info.ingest_url
    assert url, "clickstream up wrote no ingest_url to stack.json"
    with urllib.request.urlopen(f"{url}/products.json") as response:
        catalog = {p["id"]: p for p in json.load(response)}

    # Given a shopper's visit in Chromium, with the header CloudFront adds on AWS
    context = browser.new_context(
        user_agent=SHOPPER_USER_AGENT, extra_http_headers={"CloudFront-Viewer-Country": COUNTRY}
    )
    try:
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        anonymous_id, user_id, product_id = shop(page, url)
        lines = wait_for_lines(stack, anonymous_id)
    finally:
        context.close()

    # When the hours that received it are closed through the state machine. An hour runs only once
    # it has ended: the objects received in the hour still open are moved into the last closed
    # hour's partition (the lines keep their received_at), so the test need not wait for it to end.
    closed = last_closed_hour()
    for obj in list(stack.lake.list(RAW)):
        if partition_hour(obj.key) > closed:
            stack.lake.put_bytes(
                f"{partition_prefix(closed)}{obj.key.rsplit('/', 1)[-1]}", stack.lake.get_bytes(obj.key)
            )
            stack.lake.client.delete_object(Bucket=stack.lake.bucket, Key=obj.key)
    hours = sorted({min(floor_hour(datetime.fromisoformat(line["received_at"])), closed) for line in lines})
    for hour in hours:
        stack.cli("run", "--hour", hour_iso(hour))
    return Visit(anonymous_id, user_id, catalog[product_id], lines, hours)


def facts(stack: RunningStack, anonymous_id: str) -> list[dict[str, Any]]:
    rows = stack.query(
        "select row_to_json(f)::text from fact_events f where anonymous_id = %s order by ts, event_id",
        (anonymous_id,),
    )
    return [json.loads(text) for (text,) in rows]


# -- the lake -------------------------------------------------------------------------------------
def test_ingest_stored_the_visit_with_the_country_and_the_user_id_hashed(visit: Visit) -> None:
    assert {line["event_type"] for line in visit.lines} >= JOURNEY
    # The purchase is flushed while its page is live, with the browser's extra header. Batches
    # sent by pagehide (keepalive beacons of a page being left) go without Playwright's extra
    # headers, so those lines have no country here; on AWS, CloudFront adds it to every request.
    (purchase,) = [line for line in visit.lines if line["event_type"] == "purchase"]
    assert purchase["geo"] == {"country": COUNTRY}
    assert {line["geo"].get("country") for line in visit.lines} <= {COUNTRY, None}
    assert all(line["user_id"].startswith("h1:") for line in visit.lines if line["user_id"] is not None)
    assert any(line["user_id"] is not None for line in visit.lines)
    assert not any(visit.user_id in json.dumps(line) for line in visit.lines)


# -- the warehouse ----------------------------------------------------------------------------------
def test_the_purchase_is_in_fact_events_with_product_price_qty_and_revenue(
    stack: RunningStack, visit: Visit
) -> None:
    rows = facts(stack, visit.anonymous_id)
    (purchase,) = [r for r in rows if r["event_type"] == "purchase"]
    assert purchase["product_id"] == visit.product["id"]
    assert purchase["category"] == visit.product["category"]
    assert purchase["currency"] == visit.product["currency"]
    assert Decimal(str(purchase["price"])) == Decimal(str(visit.product["price"]))
    assert purchase["qty"] == QTY
    assert Decimal(str(purchase["revenue"])) == visit.revenue
    assert purchase["country"] == COUNTRY
    assert purchase["page_path"].endswith("checkout.html")


def test_the_rest_of_the_journey_is_there_for_the_same_visitor(stack: RunningStack, visit: Visit) -> None:
    rows = facts(stack, visit.anonymous_id)
    assert {r["event_type"] for r in rows} == JOURNEY
    # every line of the objects the runs processed became exactly one fact
    processed = [key for (key,) in stack.query("select object_key from etl_processed_objects")]
    lines = raw_lines(stack, visit.anonymous_id, processed)
    assert sorted(r["event_id"] for r in rows) == sorted(line["event_id"] for line in lines)
    (search,) = [r for r in rows if r["event_type"] == "search"]
    assert search["search_query"] == SEARCH
    (cart,) = [r for r in rows if r["event_type"] == "add_to_cart"]
    assert (cart["product_id"], cart["qty"]) == (visit.product["id"], QTY)
    assert cart["revenue"] is None  # revenue is on purchases only
    (checkout,) = [r for r in rows if r["event_type"] == "checkout"]
    assert checkout["page_path"].endswith("checkout.html")
    product_views = [r for r in rows if r["event_type"] == "view" and r["product_id"] == visit.product["id"]]
    assert product_views, "the product page view carries the product"
    assert len({r["client_session_id"] for r in rows}) == 1


def test_the_lists_shown_and_the_click_from_the_search_results_count_for_the_list_ctr(
    stack: RunningStack, visit: Visit
) -> None:
    impressions = [line for line in visit.lines if line["event_type"] == "impression"]
    # the home grid, the monitors page, the search results, the bought product's recommendations
    names = {line["item_list"]["name"] for line in impressions}
    assert names == {"home", "category:monitors", "search_results", "recommendations"}
    (from_search,) = [line for line in visit.lines if line["event_type"] == "click" and "item_list" in line]
    assert from_search["item_list"] == {"name": "search_results"}
    assert from_search["ecom"]["product_id"] == visit.product["id"]
    (results,) = [line for line in impressions if line["item_list"]["name"] == "search_results"]
    assert visit.product["id"] in results["item_list"]["product_ids"]
    # the warehouse counts, per product, the impressions that showed it and the one list click
    shown: dict[str, int] = {}
    for line in impressions:
        for product_id in set(line["item_list"]["product_ids"]):
            shown[product_id] = shown.get(product_id, 0) + 1
    rows = stack.query(
        "select product_id, sum(count_impressions)::int, sum(count_list_clicks)::int"
        " from agg_daily_product_lists group by product_id"
    )
    counted = {product_id: (impressions, clicks) for product_id, impressions, clicks in rows}
    expected = {p: (n, int(p == visit.product["id"])) for p, n in shown.items()}
    assert counted == expected


def test_nothing_personal_is_stored(stack: RunningStack, visit: Visit) -> None:
    rows = facts(stack, visit.anonymous_id)
    hashes = {r["user_hash"] for r in rows if r["user_hash"] is not None}
    assert len(hashes) == 1 and next(iter(hashes)).startswith("h1:")
    assert visit.user_id not in json.dumps(rows)
    assert not any(re.search(EMAIL, json.dumps(r)) for r in rows)
    everywhere = stack.scalar(
        "select count(*) from fact_events f where f::text like %s", (f"%{visit.user_id}%",)
    )
    assert everywhere == 0


def test_the_visit_is_one_session_that_reached_the_purchase(stack: RunningStack, visit: Visit) -> None:
    rows = facts(stack, visit.anonymous_id)
    sessions = {r["session_id"] for r in rows}
    assert None not in sessions and len(sessions) == 1
    (session_id,) = sessions
    (session,) = stack.query(
        "select anonymous_id, user_hash, reached_cart, reached_checkout, reached_purchase, count_purchases,"
        " country from fact_sessions where session_id = %s",
        (session_id,),
    )
    # the session's country is its first event's
    assert session == (visit.anonymous_id, rows[-1]["user_hash"], True, True, True, 1, rows[0]["country"])
    revenue = stack.query(
        "select currency, orders, units, revenue from fact_session_revenue where session_id = %s",
        (session_id,),
    )
    assert revenue == [(visit.product["currency"], 1, QTY, visit.revenue)]


# -- the dashboards ----------------------------------------------------------------------------------
def test_the_purchase_shows_on_the_products_dashboard(
    stack: RunningStack, visit: Visit, browser: Browser
) -> None:
    assert stack.info.dashboard_url, "clickstream up must serve the dashboards (dashboard_url in stack.json)"
    context = browser.new_context(user_agent=SHOPPER_USER_AGENT)
    try:
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(stack.info.dashboard_url)
        page.click("a[data-value='products']")
        panel = page.locator(".tab-pane.active")
        revenue = panel.locator("[data-kpi='revenue']")
        amount = float(visit.revenue)
        currency = visit.product["currency"]
        # a page waits for its queries: generous on a busy 2-core machine (as test_dashboards_browser.py)
        expect(revenue).to_have_attribute(
            "data-value", json.dumps({currency: amount}), timeout=DASHBOARD_WAIT_MS
        )
        expect(panel).to_contain_text(visit.product["id"], timeout=DASHBOARD_WAIT_MS)
        # the list CTR of the visit: one list click over the impressions the browser sent
        shown = sum(
            len(set(line["item_list"]["product_ids"]))
            for line in visit.lines
            if line["event_type"] == "impression"
        )
        ctr = panel.locator("[data-kpi='list_ctr']")
        expect(ctr).to_have_attribute("data-value", repr(round(1 / shown, 6)), timeout=DASHBOARD_WAIT_MS)
    finally:
        context.close()
