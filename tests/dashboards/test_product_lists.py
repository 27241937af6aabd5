"""Product list CTR (sql/011, DESIGN.md "Product"): impressions and list clicks through SessionizeAndUpsert,
hand-counted after every run (a late event moving a session's slice included), equal to the from-scratch
reference and to rebuild_product_lists(); and what the Products page's queries make of them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from clickstream.core.storage import Lake
from clickstream.tools import reference
from tests.support.staged import Stager, staged_event
from tests.support.upsert import UpsertRuns

D0 = datetime(2025, 10, 1, 9, tzinfo=UTC)
DAY0, DAY1 = date(2025, 10, 1), date(2025, 10, 2)
TABLES = ("agg_daily_product_list_slices", "agg_daily_product_lists")


def at(day: int, minute: int = 0) -> datetime:
    return D0 + timedelta(days=day, minutes=minute)


def impression(name: str, ts: datetime, visitor: str, listed: str, products: list[str], **more: Any):
    props = json.dumps({"item_list": {"name": listed, "product_ids": products}})
    return _event(name, ts, visitor, event_type="impression", props=props, **more)


def click(name: str, ts: datetime, visitor: str, product: str, listed: str | None, **more: Any):
    props = json.dumps({"item_list": {"name": listed}} if listed else {"element": "nav"})
    return _event(name, ts, visitor, event_type="click", product_id=product, props=props, **more)


def _event(name: str, ts: datetime, visitor: str, **columns: Any) -> dict[str, Any]:
    product = columns.get("product_id")
    if product is not None:
        columns.update(
            category="laptops" if product.startswith("L") else "mice", currency="USD", price="10.00", qty=1
        )
    return staged_event(
        uuid.uuid5(uuid.NAMESPACE_URL, f"lists/{name}"), ts=ts, anonymous_id=visitor, **columns
    )


class Runs(UpsertRuns):
    PREFIX, HOUR = "lists", at(2)

    def tables(self) -> dict[str, dict[tuple[Any, ...], tuple[int, int]]]:
        """Both tables as {key: (impressions, list clicks)}, after checking them against the reference
        and rebuild_product_lists()."""
        with psycopg.connect(self.url) as conn:
            assert reference.compare(conn) == []
            read = "select * from {}"
            incremental = {t: sorted(conn.execute(read.format(t)).fetchall()) for t in TABLES}
            with conn.transaction(force_rollback=True):
                conn.execute("select rebuild_product_lists()")
                rebuilt = {t: sorted(conn.execute(read.format(t)).fetchall()) for t in TABLES}
        assert incremental == rebuilt
        return {t: {tuple(r[:-2]): tuple(r[-2:]) for r in rows} for t, rows in incremental.items()}


DESKTOP = ("desktop", "DE", "Direct")
MOBILE_EMAIL = ("mobile", "DE", "Email")
TABLET = ("tablet", "DE", "Direct")


def test_list_counts_are_hand_counted_after_every_run(database_url: str, lake: Lake, stager: Stager) -> None:
    runs = Runs(database_url, lake, stager)
    # a (desktop, Direct) sees L1 L2 L3 on a category page and clicks L2 from it;
    # b (tablet) sees L1 twice and M1 in search results (L1 counts once) and clicks M1
    runs.run(
        [
            impression("a-imp", at(0), "a", "category:laptops", ["L1", "L2", "L3"]),
            click("a-click", at(0, 1), "a", "L2", "category:laptops"),
            _event("a-view", at(0, 1), "a", product_id="L2"),
            impression("b-imp", at(0, 60), "b", "search_results", ["L1", "L1", "M1"], device_type="tablet"),
            click("b-click", at(0, 61), "b", "M1", "search_results", device_type="tablet"),
        ]
    )
    tables = runs.tables()
    assert tables["agg_daily_product_list_slices"] == {
        (DAY0, "L1", *DESKTOP): (1, 0),
        (DAY0, "L2", *DESKTOP): (1, 1),
        (DAY0, "L3", *DESKTOP): (1, 0),
        (DAY0, "L1", *TABLET): (1, 0),
        (DAY0, "M1", *TABLET): (1, 1),
    }
    assert tables["agg_daily_product_lists"] == {
        (DAY0, "L1"): (2, 0),
        (DAY0, "L2"): (1, 1),
        (DAY0, "L3"): (1, 0),
        (DAY0, "M1"): (1, 1),
    }

    # a late event of a, 10 minutes earlier on mobile from an e-mail: a's session now starts there,
    # so its impression and click move to that slice (the per-day totals stay); a click that names
    # no list is no list click; c sees M1 and L3 on day 1
    runs.run(
        [
            _event("a-early", at(0, -10), "a", device_type="mobile", channel="Email"),
            click("a-nav", at(0, 5), "a", "L1", None),
            impression("c-imp", at(1), "c", "recommendations", ["M1", "L3"]),
        ]
    )
    tables = runs.tables()
    assert tables["agg_daily_product_list_slices"] == {
        (DAY0, "L1", *MOBILE_EMAIL): (1, 0),
        (DAY0, "L2", *MOBILE_EMAIL): (1, 1),
        (DAY0, "L3", *MOBILE_EMAIL): (1, 0),
        (DAY0, "L1", *TABLET): (1, 0),
        (DAY0, "M1", *TABLET): (1, 1),
        (DAY1, "M1", *DESKTOP): (1, 0),
        (DAY1, "L3", *DESKTOP): (1, 0),
    }
    assert tables["agg_daily_product_lists"] == {
        (DAY0, "L1"): (2, 0),
        (DAY0, "L2"): (1, 1),
        (DAY0, "L3"): (1, 0),
        (DAY0, "M1"): (1, 1),
        (DAY1, "M1"): (1, 0),
        (DAY1, "L3"): (1, 0),
    }

    # b comes back 20 minutes later (one session) and clicks L1 from the same results; the same
    # events again change nothing
    runs.run([click("b-click2", at(0, 80), "b", "L1", "search_results", device_type="tablet")])
    runs.run([impression("c-imp", at(1), "c", "recommendations", ["M1", "L3"])])
    tables = runs.tables()
    assert tables["agg_daily_product_list_slices"][(DAY0, "L1", *TABLET)] == (1, 1)
    assert tables["agg_daily_product_lists"][(DAY0, "L1")] == (2, 1)
    assert sum(v[0] for v in tables["agg_daily_product_lists"].values()) == 7  # 3 + 2 + 2 shown products
    assert sum(v[1] for v in tables["agg_daily_product_lists"].values()) == 3


def test_products_page_ctr_per_product_category_and_period(
    database_url: str, lake: Lake, stager: Stager
) -> None:
    import queries
    from pages import products as page

    runs = Runs(database_url, lake, stager)
    runs.run(
        [
            impression("a-imp", at(0), "a", "category:laptops", ["L1", "L2", "L3"]),
            click("a-click", at(0, 1), "a", "L2", "category:laptops"),
            impression("a-imp2", at(0, 2), "a", "category:laptops", ["L1", "L2"]),
            impression("b-imp", at(0, 60), "b", "search_results", ["L1", "M1"], device_type="tablet"),
            click("b-click", at(0, 61), "b", "M1", "search_results", device_type="tablet"),
            _event("b-view", at(0, 61), "b", product_id="M1", device_type="tablet"),
            impression("c-imp", at(1), "c", "recommendations", ["M1"]),
            # dim_product learns a product's category from events that carry it (ecom)
            _event("d-view1", at(1, 30), "d", product_id="L1"),
            _event("d-view3", at(1, 31), "d", product_id="L3"),
        ]
    )
    database = queries.Database(database_url)
    day0 = queries.Filters(start=DAY0, end=DAY0)
    # L1: shown 3 times, never clicked; L2: 2 impressions, 1 click; L3: 1, 0; M1: 1, 1 on day 0
    table = page.product_frame(queries.product_table(database, day0)).set_index("Product")
    assert table.loc[["L1", "L2", "L3", "M1"], ["Impressions", "List clicks"]].values.tolist() == [
        [3, 0],
        [2, 1],
        [1, 0],
        [1, 1],
    ]
    assert (
        table.loc["L2", "CTR %"] == 50.0
        and table.loc["M1", "CTR %"] == 100.0
        and table.loc["L1", "CTR %"] == 0
    )
    assert table.loc["L1", "Views"] == 0  # shown in lists, never viewed: still a row
    # laptops: 6 impressions, 1 click; mice: 1 and 1
    categories = page.category_frame(queries.category_table(database, day0)).set_index("Category")
    assert categories.loc["laptops", ["Impressions", "CTR %"]].tolist() == [6, round(100 / 6, 1)]
    assert categories.loc["mice", ["Impressions", "CTR %"]].tolist() == [1, 100.0]
    # tablets only: b's search results
    tablets = queries.Filters(start=DAY0, end=DAY0, devices=("tablet",))
    sliced = queries.product_table(database, tablets).set_index("product_id")
    assert sliced.loc[["L1", "M1"], ["impressions", "list_clicks"]].values.tolist() == [[1, 0], [1, 1]]
    assert "L2" not in sliced.index
    # the KPI: day 1 (1 impression, no click); day 0 (7 impressions, 2 clicks)
    kpi = page.list_ctr_kpi(queries.list_totals(database, queries.Filters(start=DAY1, end=DAY1)))
    assert kpi.value == 0.0 and kpi.text == "0.0%"
    kpi = page.list_ctr_kpi(queries.list_totals(database, day0))
    assert kpi.value == 2 / 7
