"""Paths: where sessions go from their landing page, and the paths that most often end in a purchase.

DESIGN.md "Paths": a session's path is its first three pages viewed (a
product's page shown as "product: <its category>", a page viewed again right
after itself counted once); it left after its last page.
A session without a page view has no path. Sessions count on the date they
start, in their slice. The flow chart shows the landing pages, the next page
and the one after (the most visited of each step, the rest as "Other pages");
the tables give every landing page's next pages and the paths of the
sessions that purchased.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from htmltools import Tag
from shiny import module, ui

import analysis_queries as aq
import charts
import formatting as fmt
from components import (
    Kpi,
    chart_card,
    page,
    register_chart,
    register_kpis,
    register_table,
    table_card,
)
from context import PageContext
from frames import percent, share

LEFT = "(left)"
OTHER = "Other pages"
TOP_PAGES = 8  # per step of the flow chart
TOP_NEXT = 6  # next pages per landing page in the table
ARROW = " → "


def headline(paths: pd.DataFrame) -> list[Kpi]:
    sessions = int(paths["sessions"].sum()) if not paths.empty else 0
    left = int(paths.loc[paths["step2"] == "", "sessions"].sum()) if not paths.empty else 0
    bought = int(paths["purchase_sessions"].sum()) if not paths.empty else 0
    landings = int(paths["step1"].nunique()) if not paths.empty else 0
    left_share, bought_share = share(left, sessions), share(bought, sessions)
    return [
        Kpi("sessions", "Sessions with a page view", sessions, fmt.compact(sessions)),
        Kpi("landing_pages", "Landing pages", landings, fmt.compact(landings), help="distinct first pages"),
        Kpi(
            "left_after_landing",
            "Left after the landing page",
            left_share,
            fmt.percent(left_share),
            help="sessions that viewed no other page",
        ),
        Kpi(
            "purchased",
            "Ended in a purchase",
            bought_share,
            fmt.percent(bought_share),
            help="of these sessions",
        ),
    ]


def path_label(step1: str, step2: str, step3: str) -> str:
    steps = [step1] + ([step2] if step2 else [LEFT]) + ([step3 or LEFT] if step2 else [])
    return ARROW.join(steps)


def next_pages_frame(paths: pd.DataFrame) -> pd.DataFrame:
    """Per landing page (most sessions first): its most common next pages and leaving, with their share."""
    columns = ["Landing page", "Next page", "Sessions", "Of the landing page's sessions %"]
    if paths.empty:
        return pd.DataFrame(columns=columns)
    pairs = paths.groupby(["step1", "step2"], as_index=False)["sessions"].sum()
    landing = pairs.groupby("step1")["sessions"].sum()
    pairs["landing_sessions"] = pairs["step1"].map(landing)
    pairs = pairs.sort_values(
        ["landing_sessions", "step1", "sessions", "step2"], ascending=[False, True, False, True]
    )
    pairs = pairs.groupby("step1", sort=False).head(TOP_NEXT)
    return pd.DataFrame(
        {
            columns[0]: pairs["step1"],
            columns[1]: pairs["step2"].replace("", LEFT),
            columns[2]: pairs["sessions"],
            columns[3]: percent(pairs["sessions"], pairs["landing_sessions"]),
        }
    ).reset_index(drop=True)


def purchase_paths_frame(paths: pd.DataFrame) -> pd.DataFrame:
    """The paths of sessions that purchased, the most purchases first, with the path's conversion."""
    columns = ["Path", "Purchasing sessions", "Sessions", "Conversion %"]
    bought = paths[paths["purchase_sessions"] > 0] if not paths.empty else paths
    if bought.empty:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(
        {
            columns[0]: [
                path_label(a, b, c)
                for a, b, c in zip(bought["step1"], bought["step2"], bought["step3"], strict=True)
            ],
            columns[1]: bought["purchase_sessions"],
            columns[2]: bought["sessions"],
            columns[3]: percent(bought["purchase_sessions"], bought["sessions"]),
        }
    )
    return out.sort_values([columns[1], columns[0]], ascending=[False, True]).reset_index(drop=True)


def _top(pages: pd.Series, weights: pd.Series) -> set[str]:
    totals = weights.groupby(pages).sum().sort_values(ascending=False)
    return set(totals.index[:TOP_PAGES])


def flow_links(paths: pd.DataFrame) -> pd.DataFrame:
    """The flow chart's links: (source, target, sessions), nodes named 'step: page' (3 steps, '(left)')."""
    if paths.empty:
        return pd.DataFrame(columns=["source", "target", "sessions"])
    frame = paths.copy()
    for step in ("step1", "step2", "step3"):
        pages = frame[step][frame[step] != ""]
        keep = _top(pages, frame.loc[pages.index, "sessions"]) | {""}
        frame[step] = frame[step].where(frame[step].isin(keep), OTHER)
    first = frame.assign(source="1: " + frame["step1"], target="2: " + frame["step2"].replace("", LEFT))
    onward = frame[frame["step2"] != ""]
    second = onward.assign(source="2: " + onward["step2"], target="3: " + onward["step3"].replace("", LEFT))
    links = pd.concat([first, second])[["source", "target", "sessions"]]
    return links.groupby(["source", "target"], as_index=False)["sessions"].sum()


def node_positions(links: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """(x, y) of each node: one column per step (else plotly puts a step-2 '(left)' in the last column),
    the busiest node of a column on top."""
    into = links.groupby("target")["sessions"].sum()
    out_of = links.groupby("source")["sessions"].sum()
    size = into.combine(out_of, max, fill_value=0)
    positions: dict[str, tuple[float, float]] = {}
    for step, x in (("1", 0.001), ("2", 0.5), ("3", 0.999)):
        column = size[[name.startswith(f"{step}: ") for name in size.index]]
        column = column.sort_values(ascending=False, kind="stable")
        total, done = float(column.sum()) or 1.0, 0.0
        for name, value in column.items():
            positions[str(name)] = (x, 0.02 + 0.96 * (done + value / 2) / total)
            done += value
    return positions


def flow_figure(links: pd.DataFrame) -> go.Figure:
    nodes = sorted(set(links["source"]) | set(links["target"]))
    index = {name: i for i, name in enumerate(nodes)}
    positions = node_positions(links)
    fig = charts.figure(460)
    fig.add_sankey(
        arrangement="snap",
        node={
            "x": [positions[name][0] for name in nodes],
            "y": [positions[name][1] for name in nodes],
            "label": [name.split(": ", 1)[1] for name in nodes],
            "color": [charts.GREY if name.endswith(LEFT) else charts.BLUE for name in nodes],
            "pad": 12,
            "thickness": 14,
            "customdata": [f"step {name.split(':', 1)[0]}" for name in nodes],
            "hovertemplate": "%{label} (%{customdata}): %{value:,} sessions<extra></extra>",
        },
        link={
            "source": [index[s] for s in links["source"]],
            "target": [index[t] for t in links["target"]],
            "value": links["sessions"].tolist(),
            "color": "rgba(148, 163, 184, 0.35)",
            "hovertemplate": "%{source.label} → %{target.label}: %{value:,} sessions<extra></extra>",
        },
    )
    return fig


@module.ui
def page_ui() -> Tag:
    return page(
        chart_card("First steps of a session", "flow"),
        ui.layout_columns(
            table_card(
                "Next pages from each landing page",
                "next_pages",
                "A session's pages in order (a product's page as its category's; a page viewed again "
                "right after itself counts once); (left): the session viewed no other page.",
            ),
            table_card(
                "Paths to purchase",
                "purchase_paths",
                "The first three pages of the sessions that purchased; conversion: of all sessions on "
                "that path.",
            ),
            col_widths=(6, 6),
        ),
    )


@module.server
def page_server(input: Any, output: Any, session: Any, ctx: PageContext) -> None:
    paths = ctx.query(aq.session_paths)

    register_kpis(
        output,
        lambda: not paths().empty,
        lambda: headline(paths()),
        lambda: None,
        "No sessions in these dates",
    )
    register_chart(output, "flow", paths, lambda rows: flow_figure(flow_links(rows)), "paths")
    register_table(output, "next_pages", lambda: next_pages_frame(paths()), ctx.file_name("next_pages"))
    register_table(
        output, "purchase_paths", lambda: purchase_paths_frame(paths()), ctx.file_name("purchase_paths")
    )
