"""Acquisition: sessions, conversion and revenue by channel, device and country (aggregates), and by
landing referrer and UTM campaign (fact_sessions).

Conversion rate = sessions whose funnel reached purchase / sessions, the same
number as the Funnel page's. Orders are distinct order ids (DESIGN.md "Order":
props.order_id of the purchase events, a purchase without one an order of its
own), not purchase lines; revenue is all purchases of the sessions, per
currency. Average order value = revenue / orders and revenue per visitor =
revenue / distinct visitors (the Traffic page's Visitors), per currency.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from htmltools import Tag
from shiny import module, reactive

import charts
import formatting as fmt
import queries
from components import (
    Kpi,
    chart_card,
    choice_buttons,
    has_current,
    money_kpi,
    page,
    register_chart,
    register_kpis,
    register_table,
    revenue_kpi,
    table_card,
)
from context import PageContext
from frames import order_value, percent, revenue_by_currency, revenue_columns, revenue_per_visitor, share

UNKNOWN = "(unknown)"
NONE = "(none)"


def headline(totals: pd.DataFrame, revenue: pd.DataFrame, visitors: pd.DataFrame) -> list[Kpi]:
    t, v = queries.by_period(totals), queries.by_period(visitors)
    cur, prev = t.get("current") or {}, t.get("previous") or {}
    visitors_now = (v.get("current") or {}).get("visitors")
    visitors_before = (v.get("previous") or {}).get("visitors")

    def orders(period: str, column: str = "orders") -> int:
        """Orders (or lines, or units) of a period, over every currency (each order in one)."""
        rows = revenue[revenue["period"] == period] if not revenue.empty else revenue
        return int(rows[column].sum()) if not rows.empty else 0

    now, before = revenue_by_currency(revenue, "current"), revenue_by_currency(revenue, "previous")
    lines, units = orders("current", "lines"), orders("current", "units")
    lines_and_units = f"{fmt.compact(lines)} lines · {fmt.compact(units)} units" if lines else ""
    conversion = share(cur.get("funnel_purchase"), cur.get("sessions"))
    engaged = share(cur.get("engaged_sessions"), cur.get("sessions"))
    return [
        Kpi(
            "sessions",
            "Sessions",
            cur.get("sessions"),
            fmt.compact(cur.get("sessions")),
            fmt.change(cur.get("sessions"), prev.get("sessions")),
        ),
        Kpi(
            "engagement_rate",
            "Engaged",
            engaged,
            fmt.percent(engaged),
            fmt.change(engaged, share(prev.get("engaged_sessions"), prev.get("sessions")), "points"),
        ),
        Kpi(
            "conversion_rate",
            "Conversion rate",
            conversion,
            fmt.percent(conversion),
            fmt.change(conversion, share(prev.get("funnel_purchase"), prev.get("sessions")), "points"),
            "sessions that reached purchase / sessions",
        ),
        Kpi(
            "orders",
            "Orders",
            orders("current"),
            fmt.compact(orders("current")),
            fmt.change(orders("current"), orders("previous")),
            "distinct order ids (props.order_id) of the purchases; lines and units are counted apart",
            detail=lines_and_units,
        ),
        revenue_kpi(now, before),
        money_kpi(
            "order_value",
            "Avg order value",
            order_value(revenue, "current"),
            order_value(revenue, "previous"),
            "revenue / orders, per currency",
            order=now,
        ),
        money_kpi(
            "revenue_per_visitor",
            "Revenue / visitor",
            revenue_per_visitor(revenue, "current", visitors_now),
            revenue_per_visitor(revenue, "previous", visitors_before),
            "revenue / distinct visitors (Traffic's Visitors), per currency",
            order=now,
        ),
    ]


def breakdown_frame(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    label = queries.SEGMENTS[by]
    if frame.empty:
        return pd.DataFrame(columns=[label, "Sessions"])
    sessions = frame["sessions"]
    out = pd.DataFrame(
        {
            label: frame["segment"].replace("", UNKNOWN),
            "Sessions": sessions,
            "Share %": (sessions / sessions.sum() * 100).round(1),
            "Engaged %": percent(frame["engaged_sessions"], sessions),
            "Bounce %": percent(sessions - frame["engaged_sessions"], sessions),
            "Pages / session": (frame["page_views"] / sessions.replace(0, float("nan"))).round(2),
            "Conversion %": percent(frame["purchase_sessions"], sessions),
            "Orders": frame["orders"],
        }
    )
    return revenue_columns(out, frame["revenue"])


def _landing_frame(frame: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Referrer or campaign rows: their ``labels`` (column: title, '' shown as none), the channel, the
    sessions and their rates, revenue one column per currency."""
    if frame.empty:
        return pd.DataFrame(columns=[*labels.values(), "Channel", "Sessions"])
    out = pd.DataFrame(
        {
            **{title: frame[column].replace("", NONE) for column, title in labels.items()},
            "Channel": frame["channel"],
            "Sessions": frame["sessions"],
            "Engaged %": percent(frame["engaged_sessions"], frame["sessions"]),
            "Conversion %": percent(frame["purchase_sessions"], frame["sessions"]),
        }
    )
    return revenue_columns(out, frame["revenue"])


def referrer_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return _landing_frame(frame, {"referrer_host": "Referrer"})


def campaign_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return _landing_frame(frame, {"campaign": "Campaign", "source": "Source", "medium": "Medium"})


def breakdown_figure(table: pd.DataFrame, by: str) -> go.Figure:
    """Sessions as bars, conversion rate as dots on a second axis."""
    label = queries.SEGMENTS[by]
    shown = table.head(12)
    fig = charts.figure(320)
    fig.add_bar(
        x=shown[label],
        y=shown["Sessions"],
        name="Sessions",
        marker_color="#93c5fd",
        hovertemplate="%{x}: %{y:,} sessions<extra></extra>",
    )
    fig.add_scatter(
        x=shown[label],
        y=shown["Conversion %"] / 100,
        name="Conversion rate",
        yaxis="y2",
        mode="markers",
        marker={"size": 11, "color": charts.ORANGE, "symbol": "diamond"},
        hovertemplate="%{x}: %{y:.1%} converted<extra></extra>",
    )
    fig.update_layout(
        yaxis={"title": {"text": "sessions"}},
        yaxis2={
            "title": {"text": "conversion"},
            "overlaying": "y",
            "side": "right",
            "tickformat": ".1%" if (shown["Conversion %"].max() or 0) < 10 else ".0%",
            "tickmode": "auto",
            "showgrid": False,
            "rangemode": "tozero",
        },
        margin={"r": 56},
    )
    return fig


@module.ui
def page_ui() -> Tag:
    return page(
        chart_card(
            "Sessions and conversion",
            "chart",
            choice_buttons(
                "by",
                {
                    "channel": "Channel",
                    "device": "Device",
                    "country": "Country",
                    "browser": "Browser",
                    "os": "OS",
                },
            ),
        ),
        table_card(
            "Breakdown",
            "breakdown",
            "Conversion = sessions that reached purchase / sessions; orders = distinct order ids.",
        ),
        # one above the other: side by side, their columns would not fit at 1440 px
        table_card("Landing referrers", "referrers", "The referrer of each session's first page."),
        table_card("Campaigns (UTM)", "campaigns", "Tagged sessions only."),
    )


@module.server
def page_server(input: Any, output: Any, session: Any, ctx: PageContext) -> None:
    totals = ctx.query(queries.session_totals)
    revenue = ctx.query(queries.revenue_totals)
    visitors = ctx.query(queries.visitor_totals)
    referrers = ctx.query(queries.referrer_table, referrer_frame)
    campaigns = ctx.query(queries.campaign_table, campaign_frame)

    @reactive.calc
    def breakdown() -> pd.DataFrame:
        return breakdown_frame(queries.acquisition_breakdown(ctx.db, ctx.filters(), input.by()), input.by())

    register_kpis(
        output,
        lambda: has_current(totals(), "sessions"),
        lambda: headline(totals(), revenue(), visitors()),
        ctx.compared_with,
        "No sessions in these dates",
    )
    register_chart(output, "chart", breakdown, lambda t: breakdown_figure(t, input.by()), "acquisition")
    register_table(output, "breakdown", breakdown, ctx.file_name(lambda: f"acquisition_by_{input.by()}"))
    register_table(output, "referrers", referrers, ctx.file_name("referrers"))
    register_table(output, "campaigns", campaigns, ctx.file_name("campaigns"))
