"""Funnel: view -> add to cart -> checkout -> purchase, ordered within a session.

Sessions at each step come from agg_daily_sessions (a session counts at step k
when its ordered funnel reached k). Step conversion = sessions at step k+1 /
sessions at step k; drop-off = 1 - step conversion; conversion rate =
purchasing sessions / all sessions (the same number as on Acquisition).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from htmltools import Tag
from shiny import module, reactive, render, ui

import charts
import formatting as fmt
import queries
from components import (
    NOTHING_TO_CHART,
    Kpi,
    chart_card,
    choice_buttons,
    empty_state,
    has_current,
    page,
    register_chart,
    register_kpis,
    register_table,
    table_card,
)
from context import PageContext
from frames import percent, share

STEPS = (
    ("funnel_view", "View"),
    ("funnel_cart", "Add to cart"),
    ("funnel_checkout", "Checkout"),
    ("funnel_purchase", "Purchase"),
)
UNKNOWN = "(unknown)"


def headline(totals: pd.DataFrame) -> list[Kpi]:
    t = queries.by_period(totals)
    cur, prev = t.get("current") or {}, t.get("previous") or {}

    def count(key: str, title: str) -> Kpi:
        return Kpi(
            key, title, cur.get(key), fmt.compact(cur.get(key)), fmt.change(cur.get(key), prev.get(key))
        )

    def rate(key: str, title: str, num: str, den: str, better: bool = True, help: str = "") -> Kpi:
        value, before = share(cur.get(num), cur.get(den)), share(prev.get(num), prev.get(den))
        return Kpi(key, title, value, fmt.percent(value), fmt.change(value, before, "points", better), help)

    return [
        count("sessions", "Sessions"),
        count("funnel_view", "Viewed"),
        count("funnel_cart", "Added to cart"),
        count("funnel_checkout", "Checked out"),
        count("funnel_purchase", "Purchased"),
        rate(
            "conversion_rate",
            "Conversion rate",
            "funnel_purchase",
            "sessions",
            help="purchasing / all sessions",
        ),
        rate(
            "cart_to_purchase", "Cart to purchase", "funnel_purchase", "funnel_cart", help="purchased / added"
        ),
    ]


def steps_frame(totals: pd.DataFrame) -> pd.DataFrame:
    """The steps of the current period: sessions, step conversion, drop-off, share of sessions."""
    cur = queries.by_period(totals).get("current") or {}
    rows = []
    previous_step = None
    for key, label in STEPS:
        sessions = int(cur.get(key) or 0)
        step_conversion = share(sessions, previous_step) if previous_step is not None else None
        rows.append(
            {
                "Step": label,
                "Sessions": sessions,
                "Step conversion %": None if step_conversion is None else round(step_conversion * 100, 1),
                "Drop-off %": None if step_conversion is None else round((1 - step_conversion) * 100, 1),
                "Of all sessions %": round((share(sessions, cur.get("sessions")) or 0) * 100, 1),
            }
        )
        previous_step = sessions
    return pd.DataFrame(rows)


def segment_frame(split: pd.DataFrame, by: str) -> pd.DataFrame:
    """One row per device / channel / country: sessions at each step and the step conversions."""
    label = queries.SEGMENTS[by]
    if split.empty:
        return pd.DataFrame(columns=[label, "Sessions"])
    out = pd.DataFrame({label: split["segment"].replace("", UNKNOWN), "Sessions": split["sessions"]})
    for key, step in STEPS:
        out[step] = split[key]
    for (a_key, a), (b_key, b) in pairwise(STEPS):
        out[f"{a} → {b} %"] = percent(split[b_key], split[a_key])
    out["Conversion %"] = percent(split["funnel_purchase"], split["sessions"])
    return out


def funnel_figure(steps: pd.DataFrame) -> go.Figure:
    fig = charts.figure(300)
    fig.add_funnel(
        y=steps["Step"],
        x=steps["Sessions"],
        textinfo="value+percent previous",
        marker={"color": [charts.BLUE, charts.TEAL, charts.ORANGE, charts.PURPLE]},
        connector={"line": {"color": "#cbd5e1"}},
        hovertemplate="%{y}: %{x:,} sessions<br>%{percentPrevious:.1%} of the step before<extra></extra>",
    )
    fig.update_layout(margin={"l": 90})
    return fig


def segment_figure(table: pd.DataFrame, by: str) -> go.Figure:
    """Share of each segment's sessions that reached each step (segments of any size side by side)."""
    label = queries.SEGMENTS[by]
    fig = charts.figure(300)
    for _, row in table.head(8).iterrows():
        sessions = row["Sessions"] or 1
        fig.add_bar(
            x=[step for _, step in STEPS],
            y=[row[step] / sessions for _, step in STEPS],
            name=str(row[label]),
            hovertemplate=f"{row[label]}: %{{y:.1%}} of its sessions<extra></extra>",
        )
    fig.update_yaxes(tickformat=".0%", title_text="share of sessions")
    fig.update_layout(barmode="group", bargap=0.25)
    return fig


@module.ui
def page_ui() -> Tag:
    return page(
        ui.layout_columns(
            chart_card("Funnel", "funnel"),
            chart_card("By segment", "split_chart", choice_buttons("by", queries.SEGMENTS)),
            col_widths=(5, 7),
        ),
        # one above the other: side by side, the split's ten columns would not fit at 1440 px
        table_card(
            "Steps", "steps", "Step conversion = sessions at this step / sessions at the step before."
        ),
        table_card("By segment", "segments"),
    )


@module.server
def page_server(input: Any, output: Any, session: Any, ctx: PageContext) -> None:
    totals = ctx.query(queries.session_totals)
    steps = reactive.calc(lambda: steps_frame(totals()))

    @reactive.calc
    def segments() -> pd.DataFrame:
        return segment_frame(queries.funnel_by_segment(ctx.db, ctx.filters(), input.by()), input.by())

    def has_sessions() -> bool:
        return has_current(totals(), "sessions")

    register_kpis(
        output, has_sessions, lambda: headline(totals()), ctx.compared_with, "No sessions in these dates"
    )

    @render.ui
    def funnel() -> Tag:
        if not has_sessions():
            return empty_state(NOTHING_TO_CHART)
        return charts.to_html(funnel_figure(steps()), "funnel")

    register_chart(
        output, "split_chart", segments, lambda t: segment_figure(t, input.by()), "funnel-segments"
    )
    register_table(output, "steps", steps, ctx.file_name("funnel_steps"))
    register_table(output, "segments", segments, ctx.file_name(lambda: f"funnel_by_{input.by()}"))
