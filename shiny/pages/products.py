"""Products: views, add-to-cart and purchase rates, units and revenue, by product and category.

Rates are per visitor (DESIGN.md "Product"): add-to-cart rate = visitors who
added the product / visitors who viewed it, purchase rate likewise. Revenue is
sum(price x qty) of purchases, per currency (amounts in different currencies
are never added together). Products are named as the tracker saw them
(ecom.name, dim_product.product_name; the id when no event carried a name),
with their id as SKU and their category, as dim_product has them. List CTR
(GA4's item-list click-through rate) = list clicks / impressions: how often a
product shown in a list (a category page, search results, recommendations; the
tracker's impression events) was clicked from one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from htmltools import Tag
from plotly.subplots import make_subplots
from shiny import module, reactive, ui

import charts
import formatting as fmt
import queries
from components import (
    Kpi,
    chart_card,
    has_current,
    page,
    register_chart,
    register_kpis,
    register_table,
    revenue_kpi,
    table_card,
)
from context import PageContext
from frames import percent, revenue_by_currency, revenue_columns, share

TOP_N = 10
LIST_COLUMNS = ["Impressions", "List clicks", "CTR %"]


def list_ctr_kpi(lists: pd.DataFrame) -> Kpi:
    """List click-through rate of the period: list clicks / impressions, its change in points."""
    t = queries.by_period(lists)
    cur, prev = t.get("current") or {}, t.get("previous") or {}
    value = share(cur.get("list_clicks"), cur.get("impressions"))
    before = share(prev.get("list_clicks"), prev.get("impressions"))
    help = "list clicks / impressions of products shown in lists (category pages, search, recommendations)"
    return Kpi("list_ctr", "List CTR", value, fmt.percent(value), fmt.change(value, before, "points"), help)


def headline(totals: pd.DataFrame, revenue: pd.DataFrame, lists: pd.DataFrame | None = None) -> list[Kpi]:
    t = queries.by_period(totals)
    cur, prev = t.get("current") or {}, t.get("previous") or {}
    revenue_now, revenue_before = (
        revenue_by_currency(revenue, "current"),
        revenue_by_currency(revenue, "previous"),
    )

    def count(key: str, title: str, help: str = "") -> Kpi:
        value = cur.get(key)
        return Kpi(key, title, value, fmt.compact(value), fmt.change(value, prev.get(key)), help)

    def rate(key: str, title: str, num: str, help: str) -> Kpi:
        value, before = share(cur.get(num), cur.get("viewers")), share(prev.get(num), prev.get("viewers"))
        return Kpi(key, title, value, fmt.percent(value), fmt.change(value, before, "points"), help)

    return [
        count("views", "Product views"),
        count("viewers", "Viewers", "visitors who viewed a product"),
        rate("add_to_cart_rate", "Add-to-cart rate", "adders", "visitors who added / visitors who viewed"),
        rate("purchase_rate", "Purchase rate", "buyers", "visitors who bought / visitors who viewed"),
        count("units", "Units sold"),
        revenue_kpi(revenue_now, revenue_before),
        *([list_ctr_kpi(lists)] if lists is not None else []),
    ]


def _rates_and_revenue(frame: pd.DataFrame, label_columns: dict[str, str]) -> pd.DataFrame:
    """Product or category rows with readable columns: rates in %, revenue one column per currency."""
    out = pd.DataFrame({label: frame[column] for column, label in label_columns.items()})
    out["Views"] = frame["views"]
    out["Viewers"] = frame["viewers"]
    out["Add-to-cart %"] = percent(frame["adders"], frame["viewers"])
    out["Purchase %"] = percent(frame["buyers"], frame["viewers"])
    out["Units"] = frame["units"]
    out = revenue_columns(out, frame["revenue"])
    if "impressions" in frame:
        out["Impressions"] = frame["impressions"]
        out["List clicks"] = frame["list_clicks"]
        out["CTR %"] = percent(frame["list_clicks"], frame["impressions"])
    return out


def product_frame(products: pd.DataFrame) -> pd.DataFrame:
    """Products by name (the id when the tracker sent none) with their id as SKU."""
    if products.empty:
        return pd.DataFrame(
            columns=["Product", "SKU", "Category", "Views", "Viewers", "Units", *LIST_COLUMNS]
        )
    named = products.assign(
        product_name=products["product_name"].where(products["product_name"] != "", products["product_id"])
    )
    return _rates_and_revenue(named, {"product_name": "Product", "product_id": "SKU", "category": "Category"})


# the columns of the half-width product tables (top and bottom sellers, viewed often, rarely bought):
# the whole row does not fit beside another table at 1440 px (the Products table has them all)
SIDE_COLUMNS = ("Product", "Viewers", "Purchase %", "Units")


def side_table(table: pd.DataFrame) -> pd.DataFrame:
    """A half-width product table: its name, viewers, purchase rate and units (the SKU, revenue
    and list CTR are in the Products table)."""
    return table[[c for c in table.columns if c in SIDE_COLUMNS]]


def category_frame(categories: pd.DataFrame) -> pd.DataFrame:
    """Half the page wide: impressions and CTR, the list clicks left to the Products table."""
    if categories.empty:
        return pd.DataFrame(columns=["Category", "Views", "Viewers", "Units", "Impressions", "CTR %"])
    return _rates_and_revenue(categories, {"category": "Category"}).drop(columns=["List clicks"])


def _without_lists(table: pd.DataFrame) -> pd.DataFrame:
    """A half-width table's columns: the list columns stay in the Products and Categories tables."""
    return table.drop(columns=[c for c in LIST_COLUMNS if c in table.columns])


def top_sellers(table: pd.DataFrame) -> pd.DataFrame:
    """The most units sold (ties: more viewers first)."""
    if table.empty:
        return _without_lists(table)
    sold = _without_lists(table[table["Units"] > 0])
    return sold.sort_values(["Units", "Viewers"], ascending=[False, False]).head(TOP_N).reset_index(drop=True)


def bottom_sellers(table: pd.DataFrame) -> pd.DataFrame:
    """The fewest units sold among products that were viewed (ties: more viewers first, the worse case)."""
    if table.empty:
        return _without_lists(table)
    viewed = _without_lists(table[table["Viewers"] > 0])
    return (
        viewed.sort_values(["Units", "Viewers"], ascending=[True, False]).head(TOP_N).reset_index(drop=True)
    )


def viewed_not_bought(table: pd.DataFrame, overall_purchase_rate: float | None) -> pd.DataFrame:
    """The most viewed products whose purchase rate is below the shop's overall purchase rate."""
    if table.empty or overall_purchase_rate is None:
        return _without_lists(table.head(0))
    below = _without_lists(
        table[(table["Viewers"] > 0) & (table["Purchase %"].fillna(0) < overall_purchase_rate * 100)]
    )
    return (
        below.sort_values(["Viewers", "Views"], ascending=[False, False]).head(TOP_N).reset_index(drop=True)
    )


def category_figure(table: pd.DataFrame) -> go.Figure:
    """Views and units side by side (they differ by orders of magnitude, so not on one axis)."""
    ordered = table.sort_values("Views", kind="stable")  # the most viewed on top
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, subplot_titles=("Views", "Units sold"), horizontal_spacing=0.04
    )
    fig.update_layout(template=charts.TEMPLATE, height=300, showlegend=False, margin={"l": 100, "t": 28})
    fig.add_bar(
        y=ordered["Category"],
        x=ordered["Views"],
        orientation="h",
        marker_color="#93c5fd",
        hovertemplate="%{y}: %{x:,} views<extra></extra>",
        row=1,
        col=1,
    )
    fig.add_bar(
        y=ordered["Category"],
        x=ordered["Units"],
        orientation="h",
        marker_color=charts.BLUE,
        hovertemplate="%{y}: %{x:,} units<extra></extra>",
        row=1,
        col=2,
    )
    fig.update_annotations(font_size=12)
    return fig


def scatter_figure(table: pd.DataFrame, overall_purchase_rate: float | None) -> go.Figure:
    """Viewers against purchase rate: bottom right is 'viewed often, rarely bought'."""
    fig = charts.figure(300)
    rate = table["Purchase %"].fillna(0) / 100
    fig.add_scatter(
        x=table["Viewers"],
        y=rate,
        mode="markers",
        text=table["Product"] + " (" + table["Category"] + ")",
        marker={"size": 6 + (table["Units"].clip(upper=50) / 3), "color": charts.TEAL, "opacity": 0.7},
        hovertemplate="%{text}<br>%{x:,} viewers, %{y:.1%} bought<extra></extra>",
        name="products",
    )
    if overall_purchase_rate is not None:
        fig.add_hline(
            y=overall_purchase_rate,
            line={"dash": "dot", "color": charts.ORANGE},
            annotation_text=f"shop average {fmt.percent(overall_purchase_rate)}",
        )
    fig.update_xaxes(title_text="visitors who viewed")
    fig.update_yaxes(title_text="purchase rate", tickformat=".0%")
    fig.update_layout(showlegend=False)
    return fig


@module.ui
def page_ui() -> Tag:
    return page(
        ui.layout_columns(
            chart_card("Views and units by category", "categories_chart"),
            chart_card("Viewed often, bought rarely?", "scatter"),
            col_widths=(6, 6),
        ),
        table_card(
            "Products",
            "products",
            "Rates per visitor; revenue per currency; CTR = list clicks / impressions in lists.",
        ),
        ui.layout_columns(
            table_card("Top sellers", "top", "Most units sold."),
            table_card("Bottom sellers", "bottom", "Fewest units among products that were viewed."),
            col_widths=(6, 6),
        ),
        ui.layout_columns(
            table_card(
                "Viewed often, rarely bought",
                "viewed_not_bought",
                "Most viewed products whose purchase rate is below the shop's.",
            ),
            table_card("Categories", "categories", "A visitor counts once per category; CTR in lists."),
            col_widths=(4, 8),  # the categories' eleven columns need the room at 1440 px
        ),
    )


@module.server
def page_server(input: Any, output: Any, session: Any, ctx: PageContext) -> None:
    totals = ctx.query(queries.product_totals)
    revenue = ctx.query(queries.revenue_totals)
    lists = ctx.query(queries.list_totals)
    products = ctx.query(queries.product_table, product_frame)
    categories = ctx.query(queries.category_table, category_frame)

    @reactive.calc
    def overall_purchase_rate() -> float | None:
        current = queries.by_period(totals()).get("current") or {}
        return share(current.get("buyers"), current.get("viewers"))

    register_kpis(
        output,
        lambda: has_current(totals(), "views"),
        lambda: headline(totals(), revenue(), lists()),
        ctx.compared_with,
        "No product activity in these dates",
    )
    register_chart(output, "categories_chart", categories, category_figure, "products-categories")
    register_chart(
        output, "scatter", products, lambda t: scatter_figure(t, overall_purchase_rate()), "products-scatter"
    )
    register_table(output, "products", products, ctx.file_name("products"), height="420px")
    register_table(output, "top", lambda: side_table(top_sellers(products())), ctx.file_name("top_sellers"))
    register_table(
        output, "bottom", lambda: side_table(bottom_sellers(products())), ctx.file_name("bottom_sellers")
    )
    register_table(
        output,
        "viewed_not_bought",
        lambda: side_table(viewed_not_bought(products(), overall_purchase_rate())),
        ctx.file_name("viewed_not_bought"),
    )
    register_table(output, "categories", categories, ctx.file_name("categories"))
