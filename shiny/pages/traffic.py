"""Traffic and engagement: sessions, visitors, DAU / MAU, stickiness, depth, duration, engagement.

Definitions (DESIGN.md): pages per session = view events / sessions; average
duration = mean(end - start); engagement rate = engaged sessions / sessions
and bounce rate = 1 - that; DAU = distinct visitors with an event that day,
MAU = distinct visitors over the 30 days ending that day. For a period the
headline DAU is the mean over its days with activity, MAU is that of its last
day, and stickiness is the one divided by the other, the ratio the two cards
show (per day in the table: that day's DAU / MAU). New visitors are those whose
first-ever session starts in the period, returning visitors the others.
"""

from __future__ import annotations

from datetime import date
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
from queries import Filters

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def period_metrics(
    totals: dict[str, Any] | None,
    visitors: dict[str, Any] | None,
    active: pd.DataFrame,
    start: date,
    end: date,
) -> dict[str, float | None]:
    """The headline numbers of one period from its rows of the three queries."""
    totals = totals or {}
    sessions = int(totals.get("sessions") or 0)
    days = active[(active["day"] >= start) & (active["day"] <= end)] if not active.empty else active
    active_days = days[days["dau"] > 0] if not days.empty else days
    last_day = days[days["day"] == end] if not days.empty else days
    dau = float(active_days["dau"].mean()) if not active_days.empty else None
    mau = int(last_day["mau"].iloc[0]) if not last_day.empty else None
    visitor_count = int((visitors or {}).get("visitors") or 0)
    new_visitors = int((visitors or {}).get("new_visitors") or 0)
    return {
        "sessions": sessions,
        "visitors": visitor_count,
        "new_visitors": new_visitors if visitors else None,
        "returning_visitors": visitor_count - new_visitors if visitors else None,
        "dau": dau,
        "mau": mau,
        "stickiness": share(dau, mau),  # the DAU card / the MAU card
        "pages_per_session": share(totals.get("page_views"), sessions),
        "avg_duration_s": share(totals.get("sum_duration_s"), sessions),
        "engagement_rate": share(totals.get("engaged_sessions"), sessions),
        "bounce_rate": (
            1 - float(totals["engaged_sessions"]) / sessions
            if sessions and "engaged_sessions" in totals
            else None
        ),
    }


def headline(totals: pd.DataFrame, visitors: pd.DataFrame, active: pd.DataFrame, f: Filters) -> list[Kpi]:
    t, v = queries.by_period(totals), queries.by_period(visitors)
    cur = period_metrics(t.get("current"), v.get("current"), active, f.start, f.end)
    prev = period_metrics(t.get("previous"), v.get("previous"), active, f.previous_start, f.previous_end)

    def kpi(
        key: str, title: str, text: str, kind: str = "relative", better: bool = True, help: str = ""
    ) -> Kpi:
        return Kpi(key, title, cur[key], text, fmt.change(cur[key], prev[key], kind, better), help)

    return [
        kpi("sessions", "Sessions", fmt.compact(cur["sessions"])),
        kpi("visitors", "Visitors", fmt.compact(cur["visitors"]), help="distinct visitors with an event"),
        kpi(
            "new_visitors",
            "New visitors",
            fmt.compact(cur["new_visitors"]),
            help="visitors whose first-ever session starts in these dates",
        ),
        kpi(
            "returning_visitors",
            "Returning visitors",
            fmt.compact(cur["returning_visitors"]),
            help="visitors with a session before these dates",
        ),
        kpi("dau", "DAU (daily avg)", fmt.compact(cur["dau"]), help="mean daily active visitors"),
        kpi("mau", "MAU", fmt.compact(cur["mau"]), help="distinct visitors in the 30 days to the last day"),
        kpi(
            "stickiness",
            "Stickiness",
            fmt.percent(cur["stickiness"]),
            "points",
            help="DAU (daily avg) / MAU, the two cards beside it",
        ),
        kpi("pages_per_session", "Pages / session", fmt.decimal(cur["pages_per_session"])),
        kpi("avg_duration_s", "Avg session", fmt.duration(cur["avg_duration_s"])),
        kpi("engagement_rate", "Engaged", fmt.percent(cur["engagement_rate"]), "points"),
        kpi("bounce_rate", "Bounce rate", fmt.percent(cur["bounce_rate"]), "points", better=False),
    ]


def daily_frame(
    daily: pd.DataFrame, active: pd.DataFrame, coverage: queries.Coverage | None = None
) -> pd.DataFrame:
    """One row per day of the selected dates: the trend chart's data and the downloadable table.

    "Partial" says which part of a day the data covers when it is not the whole day (the first
    day of collection, the day the pipeline is in, days without data yet; DESIGN.md "Partial
    days"), '' for a whole day.
    """
    frame = daily.merge(active, on="day", how="left") if not daily.empty else daily
    if frame.empty:
        return pd.DataFrame(
            columns=[
                "Date",
                "Partial",
                "Sessions",
                "Engaged %",
                "Pages / session",
                "Avg duration s",
                "DAU",
                "MAU",
                "Stickiness %",
            ]
        )
    sessions = frame["sessions"].replace(0, float("nan"))
    return pd.DataFrame(
        {
            "Date": frame["day"].map(lambda d: d.isoformat()),
            "Partial": frame["day"].map(coverage.partial if coverage else lambda _: queries.NO_DATA_YET),
            "Sessions": frame["sessions"].astype(int),
            "Engaged %": percent(frame["engaged_sessions"], frame["sessions"]),
            "Pages / session": (frame["page_views"] / sessions).round(2),
            "Avg duration s": (frame["sum_duration_s"] / sessions).round(0),
            "DAU": frame["dau"].fillna(0).astype(int),
            "MAU": frame["mau"].fillna(0).astype(int),
            "Stickiness %": percent(frame["dau"], frame["mau"]),
        }
    )


PARTIAL_PATTERN = "/"  # the hatching of a partial day's bar


def partial_days_note(table: pd.DataFrame) -> str:
    """The line under the trend that names the partial days and what of them the data covers."""
    partial = table[table["Partial"] != ""] if "Partial" in table else table.head(0)
    if partial.empty:
        return ""
    days = "; ".join(f"{row.Date} {row.Partial}" for row in partial.itertuples())
    return f"Hatched bars are partial days, not drops: {days}."


def trend_figure(table: pd.DataFrame) -> go.Figure:
    """Sessions as bars, DAU and MAU as lines; a partial day's bar is hatched and its points hollow,
    so a day the data covers only in part does not read as a collapse."""
    fig = charts.figure(300)
    x = pd.to_datetime(table["Date"])
    partial = table["Partial"] != "" if "Partial" in table else pd.Series(False, index=table.index)
    # a day the data does not reach has no visitor numbers to draw (a gap, not a fall to zero)
    reached = (
        ~table["Partial"].isin((queries.BEFORE_DATA, queries.NO_DATA_YET)) if "Partial" in table else ~partial
    )
    note = [f" (partial day: {p})" if p else "" for p in table["Partial"]] if partial.any() else None
    fig.add_bar(
        x=x,
        y=table["Sessions"],
        name="Sessions",
        marker={
            "color": ["#e2e8f0" if p else "#bfdbfe" for p in partial],
            "pattern": {"shape": [PARTIAL_PATTERN if p else "" for p in partial], "fgcolor": "#64748b"},
        },
        customdata=note,
        hovertemplate="%{y:,} sessions%{customdata}" if note else "%{y:,} sessions",
    )
    fig.add_scatter(
        x=x,
        y=table["DAU"].where(reached),
        name="Visitors (DAU)",
        mode="lines+markers",
        line_color=charts.BLUE,
        marker={"symbol": ["circle-open" if p else "circle" for p in partial], "size": 7},
        hovertemplate="%{y:,} visitors",
    )
    fig.add_scatter(
        x=x,
        y=table["MAU"].where(reached),
        name="MAU (right axis)",
        mode="lines",
        yaxis="y2",
        line={"color": charts.PURPLE, "dash": "dot"},
        hovertemplate="%{y:,} in 30 days",
    )
    fig.update_layout(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "rangemode": "tozero",
            "tickmode": "auto",
        },
        yaxis={"rangemode": "tozero"},
        margin={"r": 56},
    )
    if partial.any():  # a legend entry that says what the hatching means
        fig.add_bar(
            x=[None],
            y=[None],
            name="Partial day",
            marker={"color": "#e2e8f0", "pattern": {"shape": PARTIAL_PATTERN, "fgcolor": "#64748b"}},
            hoverinfo="skip",
        )
    fig.update_layout(hovermode="x unified", bargap=0.3, barmode="overlay")
    fig.update_xaxes(tickformat="%d %b", dtick=86_400_000 if len(table) <= 31 else None)
    return fig


def heatmap_figure(frame: pd.DataFrame) -> go.Figure:
    grid = [[0] * 24 for _ in WEEKDAYS]
    for row in frame.itertuples():
        grid[int(row.iso_dow) - 1][int(row.start_hour)] = int(row.sessions)
    fig = charts.figure(300)
    fig.add_heatmap(
        z=grid,
        x=[f"{h:02d}" for h in range(24)],
        y=list(WEEKDAYS),
        colorscale=charts.HEAT_SCALE,
        hovertemplate="%{y} %{x}:00 UTC: %{z:,} sessions<extra></extra>",
        colorbar={"thickness": 10, "title": {"text": "sessions", "side": "right"}},
        xgap=2,
        ygap=2,
    )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(title_text="start hour (UTC)", showgrid=False)
    return fig


@module.ui
def page_ui() -> Tag:
    return page(
        ui.layout_columns(
            chart_card("Daily trend", "trend"),
            chart_card("Sessions by weekday and start hour", "heatmap"),
            col_widths=(7, 5),
        ),
        table_card("By day", "daily", "Rates and averages per day; DAU / MAU over the same slice."),
    )


@module.server
def page_server(input: Any, output: Any, session: Any, ctx: PageContext) -> None:
    totals = ctx.query(queries.session_totals)
    visitors = ctx.query(queries.visitor_totals)
    active = ctx.query(queries.active_users_daily)
    by_weekday_hour = ctx.query(queries.sessions_by_weekday_hour)

    @reactive.calc
    def daily() -> pd.DataFrame:
        coverage = queries.data_coverage(ctx.db)
        return daily_frame(queries.sessions_daily(ctx.db, ctx.filters()), active(), coverage)

    def has_sessions() -> bool:
        return has_current(totals(), "sessions")

    register_kpis(
        output,
        has_sessions,
        lambda: headline(totals(), visitors(), active(), ctx.filters()),
        ctx.compared_with,
        "No sessions in these dates",
        "Choose other dates or filters; new hours arrive as the pipeline runs (see Reliability).",
    )

    @render.ui
    def trend() -> Tag:
        if not has_sessions():
            return empty_state(NOTHING_TO_CHART)
        table = daily()
        note = partial_days_note(table)
        return ui.div(
            charts.to_html(trend_figure(table), "traffic-trend"),
            ui.p(note, class_="table-note partial-days") if note else None,
            data_partial_days=",".join(table.loc[table["Partial"] != "", "Date"]),
        )

    register_chart(output, "heatmap", by_weekday_hour, heatmap_figure, "traffic-heatmap")
    register_table(output, "daily", daily, ctx.file_name("traffic_by_day"))
