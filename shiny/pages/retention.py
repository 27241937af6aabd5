"""Retention: weekly cohorts of new visitors (by the week of their first visit) and of new customers
(by the week of their first purchase), and the share of each cohort active again in each week after.

DESIGN.md "Retention": a visitor's first visit is its first session ever (the
selected dates pick the cohorts whose first visit, or first purchase, falls in
them; the slice filters pick them by the slice of that session); it returns
in week k when it starts a session (for customers: a session with a purchase)
in the k-th week after its cohort's week. Weeks run Monday to Sunday, UTC.
Returns are counted through the last loaded day, whatever the selected end:
a cell of a week that has not started yet is left empty.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from htmltools import Tag
from shiny import module, reactive

import analysis_queries as aq
import charts
import formatting as fmt
import queries
from components import (
    OTHER_DATES,
    Kpi,
    chart_card,
    choice_buttons,
    page,
    register_chart,
    register_kpis,
    register_table,
    table_card,
)
from context import PageContext
from frames import share

SIZE = "Size"


def week_label(week: date) -> str:
    """'6 Oct 2025': the Monday a cohort's week starts on."""
    return f"{week.day} {week:%b %Y}"


def cohort_grid(cohorts: pd.DataFrame, last_day: date | None) -> pd.DataFrame:
    """One row per cohort week: its size and the visitors active in each week after it (columns 1..n).

    A week that starts after ``last_day`` (the last loaded day) has not been seen yet: its cell is
    empty (NaN), not 0.
    """
    if cohorts.empty:
        return pd.DataFrame(columns=["cohort_week", SIZE])
    weeks = sorted(set(cohorts["cohort_week"]))
    last_offset = max(int(cohorts["week_offset"].max()), 0)
    if last_day is not None:
        last_offset = max(last_offset, max((last_day - w).days // 7 for w in weeks))
    counts = {(r.cohort_week, int(r.week_offset)): int(r.visitors) for r in cohorts.itertuples()}
    rows = []
    for week in weeks:
        row: dict[Any, Any] = {"cohort_week": week, SIZE: counts.get((week, 0), 0)}
        for k in range(1, last_offset + 1):
            seen = last_day is None or week + timedelta(weeks=k) <= last_day
            row[k] = counts.get((week, k), 0) if seen else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def week_one(grid: pd.DataFrame) -> tuple[int, float | None]:
    """(cohort size, share active in week 1) over the cohorts whose week 1 has been seen."""
    size = int(grid[SIZE].sum()) if not grid.empty else 0
    if grid.empty or 1 not in grid.columns:
        return size, None
    seen = grid[grid[1].notna()]
    return size, share(seen[1].sum(), seen[SIZE].sum())


def headline(visits: pd.DataFrame, purchases: pd.DataFrame) -> list[Kpi]:
    visitors, returned = week_one(visits)
    customers, again = week_one(purchases)
    return [
        Kpi(
            "new_visitors", "New visitors", visitors, fmt.compact(visitors), help="first visit in these dates"
        ),
        Kpi(
            "visitor_week1",
            "Returned in week 1",
            returned,
            fmt.percent(returned),
            help="share of new visitors with a session in the week after their first visit's week "
            "(cohorts whose week 1 has started)",
        ),
        Kpi(
            "new_customers",
            "New customers",
            customers,
            fmt.compact(customers),
            help="first purchase in these dates",
        ),
        Kpi(
            "customer_week1",
            "Bought again in week 1",
            again,
            fmt.percent(again),
            help="share of new customers with a purchase in the week after their first purchase's week",
        ),
    ]


def table_frame(grid: pd.DataFrame) -> pd.DataFrame:
    """The numbers under the heatmap: per cohort its size and the visitors active each week after."""
    if grid.empty:
        return pd.DataFrame(columns=["Cohort (week of)", SIZE])
    out = pd.DataFrame({"Cohort (week of)": grid["cohort_week"].map(week_label), SIZE: grid[SIZE]})
    for k in [c for c in grid.columns if isinstance(c, int)]:
        out[f"Week {k}"] = grid[k]  # a float column: empty (not <NA>) for a week not started yet
        out[f"Week {k} %"] = (grid[k] / grid[SIZE].replace(0, float("nan")) * 100).round(1)
    return out


def heatmap_figure(grid: pd.DataFrame, noun: str) -> go.Figure:
    """Share of each cohort active in each week after its own (week 0: the cohort itself, 100 %)."""
    grid = grid.assign(**{"0": grid[SIZE]}).rename(columns={"0": 0})
    weeks = sorted(c for c in grid.columns if isinstance(c, int))
    labels = [f"{week_label(w)} ({n:,})" for w, n in zip(grid["cohort_week"], grid[SIZE], strict=True)]
    shares = [[None if pd.isna(row[k]) else row[k] / row[SIZE] for k in weeks] for _, row in grid.iterrows()]
    text = [
        ["" if pd.isna(row[k]) else f"{row[k] / row[SIZE]:.0%}<br>{int(row[k]):,}" for k in weeks]
        for _, row in grid.iterrows()
    ]
    fig = charts.figure(max(260, 48 * len(grid) + 90))
    fig.add_heatmap(
        z=shares,
        x=[f"Week {k}" for k in weeks],
        y=labels,
        text=text,
        texttemplate="%{text}",
        colorscale=charts.HEAT_SCALE,
        zmin=0,
        zmax=1,
        hovertemplate=f"cohort %{{y}}, %{{x}}: %{{z:.1%}} of its {noun} active<extra></extra>",
        colorbar={"thickness": 10, "title": {"text": "returned", "side": "right"}, "tickformat": ".0%"},
        xgap=2,
        ygap=2,
    )
    fig.update_yaxes(autorange="reversed", showgrid=False, title_text="cohort (week of, size)")
    fig.update_xaxes(showgrid=False, side="top")
    return fig


@module.ui
def page_ui() -> Tag:
    return page(
        chart_card("Cohorts by week", "heatmap", choice_buttons("kind", aq.RETENTION_KINDS)),
        table_card(
            "Cohorts",
            "cohorts",
            "Visitors whose first visit (or purchase) is in the selected dates and slices, by its week "
            "(Monday to Sunday, UTC); week k: those with a session (with a purchase) in the k-th week after. "
            "Weeks not started yet are empty.",
        ),
    )


@module.server
def page_server(input: Any, output: Any, session: Any, ctx: PageContext) -> None:
    @reactive.calc
    def last_day() -> date | None:
        return queries.data_bounds(ctx.db)[1]

    @reactive.calc
    def grids() -> dict[str, pd.DataFrame]:
        f = ctx.filters()
        return {
            kind: cohort_grid(aq.retention_cohorts(ctx.db, f, kind), last_day())
            for kind in aq.RETENTION_KINDS
        }

    @reactive.calc
    def selected() -> pd.DataFrame:
        return grids()[input.kind()]

    def noun() -> str:
        return "visitors" if input.kind() == "visit" else "customers"

    register_kpis(
        output,
        lambda: not grids()["visit"].empty,
        lambda: headline(grids()["visit"], grids()["purchase"]),
        lambda: None,
        "No new visitors in these dates",
    )
    register_chart(
        output,
        "heatmap",
        selected,
        lambda grid: heatmap_figure(grid, noun()),
        "retention",
        "No cohort in these dates",
        OTHER_DATES,
    )
    register_table(
        output,
        "cohorts",
        lambda: table_frame(selected()),
        ctx.file_name(lambda: f"retention_{input.kind()}"),
    )
