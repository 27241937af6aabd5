"""Plotly figures as HTML fragments: one look for every chart, plotly.js loaded once per page.

Charts are rendered with ``render.ui`` as ``fig.to_html(include_plotlyjs=False)``;
the page loads ``plotly.min.js`` from the app's static files (served from the
plotly package itself, so nothing comes from a CDN and the version matches).
"""

from __future__ import annotations

from pathlib import Path

import plotly
import plotly.graph_objects as go
from htmltools import HTML, Tag, tags

PLOTLY_JS_DIR = Path(plotly.__file__).parent / "package_data"
PLOTLY_JS_URL = "plotly/plotly.min.js"

# A calm palette with one accent; status colours match the badges in styles.css.
BLUE, TEAL, ORANGE, PURPLE, GREY = "#2563eb", "#0d9488", "#ea580c", "#7c3aed", "#94a3b8"
COLORWAY = [BLUE, TEAL, ORANGE, PURPLE, "#db2777", "#65a30d", "#0891b2", "#a16207", GREY]
STATUS_COLORS = {
    "SUCCEEDED": "#16a34a",
    "RUNNING": "#d97706",
    "FAILED": "#dc2626",
    "TIMED_OUT": "#dc2626",
    "ABORTED": "#6b7280",
    "PENDING_REDRIVE": "#d97706",
}
HEAT_SCALE = [[0.0, "#f1f5f9"], [0.25, "#bfdbfe"], [0.6, "#3b82f6"], [1.0, "#1e3a8a"]]

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "size": 12,
            "color": "#334155",
        },
        colorway=COLORWAY,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 48, "r": 16, "t": 16, "b": 40},
        hoverlabel={"font": {"size": 12}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        xaxis={"gridcolor": "#e2e8f0", "linecolor": "#cbd5e1", "zeroline": False, "automargin": True},
        yaxis={"gridcolor": "#e2e8f0", "linecolor": "#cbd5e1", "zeroline": False, "automargin": True},
    )
)
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"],
}


def figure(height: int = 320) -> go.Figure:
    """An empty figure with the shared look."""
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, height=height)
    return fig


def to_html(fig: go.Figure, chart_id: str) -> Tag:
    """The figure as a fragment (a div and the script that draws it), marked for tests by chart_id."""
    html = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{chart_id}",
        config=CONFIG,
        default_width="100%",
        default_height=f"{fig.layout.height or 320}px",
    )
    return tags.div(HTML(html), class_="chart", data_chart=chart_id)


def plotly_script() -> Tag:
    return tags.script(src=PLOTLY_JS_URL)
