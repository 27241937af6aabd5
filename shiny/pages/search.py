"""Site search: the top search queries, how often a search led to a product view and to a purchase
in the same session, and the queries after which visitors left or searched again (what the shop
is missing).

DESIGN.md "Site search": a search is a ``search`` event (its query lower-cased,
trimmed, inner spaces collapsed); it is followed by a product view (a later
view of a product in its session), by a purchase (a later purchase in its
session); visitors left after it when the session has no later page view or
search, and searched again when the session's next page view or search is a
search. No results: the tracker reported ``results: 0``. A search counts on
its event's date, in its session's slice.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from htmltools import Tag
from shiny import module, reactive, ui

import analysis_queries as aq
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
    table_card,
)
from context import PageContext
from frames import percent, share

NO_QUERY = "(no query)"
TOP = 15
OUTCOMES = (
    ("product_views", "Followed by a product view", True),
    ("purchases", "Followed by a purchase", True),
    ("exits", "Left after searching", False),
    ("searched_again", "Searched again", False),
    ("no_results", "No results", False),
)


def headline(totals: pd.DataFrame) -> list[Kpi]:
    t = queries.by_period(totals)
    cur, prev = t.get("current") or {}, t.get("previous") or {}
    searches = cur.get("searches")
    kpis = [
        Kpi(
            "searches",
            "Searches",
            searches,
            fmt.compact(searches),
            fmt.change(searches, prev.get("searches")),
        )
    ]
    for key, title, better in OUTCOMES:
        value, before = share(cur.get(key), searches), share(prev.get(key), prev.get("searches"))
        kpis.append(
            Kpi(
                key,
                title,
                value,
                fmt.percent(value),
                fmt.change(value, before, "points", better),
                "of searches",
            )
        )
    return kpis


def query_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per query, the most searched first: searches and the share of each outcome."""
    if rows.empty:
        return pd.DataFrame(columns=["Query", "Searches"])
    out = pd.DataFrame({"Query": rows["search_query"].replace("", NO_QUERY), "Searches": rows["searches"]})
    out["No results"] = rows["no_results"]
    out["Product view %"] = percent(rows["product_views"], rows["searches"])
    out["Purchase %"] = percent(rows["purchases"], rows["searches"])
    out["Left %"] = percent(rows["exits"], rows["searches"])
    out["Searched again %"] = percent(rows["searched_again"], rows["searches"])
    return out


def missing_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The queries after which visitors left or searched again, the most such searches first."""
    if rows.empty:
        return pd.DataFrame(columns=["Query", "Left or searched again"])
    unmet = rows["exits"] + rows["searched_again"]
    out = pd.DataFrame(
        {
            "Query": rows["search_query"].replace("", NO_QUERY),
            "Left or searched again": unmet,
            "Left": rows["exits"],
            "Searched again": rows["searched_again"],
            "No results": rows["no_results"],
            "Searches": rows["searches"],
            "Unmet %": percent(unmet, rows["searches"]),
        }
    )
    out = out[out["Left or searched again"] > 0]
    return out.sort_values(["Left or searched again", "Query"], ascending=[False, True]).reset_index(
        drop=True
    )


def top_figure(table: pd.DataFrame) -> go.Figure:
    top = table.head(TOP).iloc[::-1]
    fig = charts.figure(max(260, 24 * len(top) + 60))
    fig.add_bar(
        y=top["Query"],
        x=top["Searches"],
        orientation="h",
        marker_color=charts.BLUE,
        customdata=top[["Product view %", "Purchase %"]].fillna(0).to_numpy(),
        hovertemplate="%{y}: %{x:,} searches<br>%{customdata[0]}% viewed a product, "
        "%{customdata[1]}% bought<extra></extra>",
    )
    fig.update_xaxes(title_text="searches")
    return fig


def missing_figure(table: pd.DataFrame) -> go.Figure:
    top = table.head(TOP).iloc[::-1]
    fig = charts.figure(max(260, 24 * len(top) + 60))
    fig.add_bar(y=top["Query"], x=top["Left"], orientation="h", name="Left", marker_color=charts.ORANGE)
    fig.add_bar(
        y=top["Query"],
        x=top["Searched again"],
        orientation="h",
        name="Searched again",
        marker_color=charts.PURPLE,
    )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="searches")
    return fig


@module.ui
def page_ui() -> Tag:
    return page(
        ui.layout_columns(
            chart_card("Top queries", "top_chart"),
            chart_card("What the shop is missing", "missing_chart"),
            col_widths=(6, 6),
        ),
        ui.layout_columns(
            table_card(
                "Queries",
                "queries",
                "Shares of the query's searches followed, in the same session, by a product view or a "
                "purchase; left: nothing viewed or searched after it; searched again: the next page or "
                "search was a search.",
            ),
            table_card("Queries after which visitors left or searched again", "missing"),
            col_widths=(6, 6),
        ),
    )


@module.server
def page_server(input: Any, output: Any, session: Any, ctx: PageContext) -> None:
    totals = ctx.query(aq.search_totals)
    rows = ctx.query(aq.search_queries)
    table = reactive.calc(lambda: query_frame(rows()))
    missing = reactive.calc(lambda: missing_frame(rows()))

    register_kpis(
        output,
        lambda: has_current(totals(), "searches"),
        lambda: headline(totals()),
        ctx.compared_with,
        "No searches in these dates",
    )
    register_chart(output, "top_chart", table, top_figure, "search-top")
    register_chart(
        output,
        "missing_chart",
        missing,
        missing_figure,
        "search-missing",
        "Every search led somewhere",
        "No query was followed by leaving or searching again.",
    )
    register_table(output, "queries", table, ctx.file_name("search_queries"))
    register_table(output, "missing", missing, ctx.file_name("search_missing"))
