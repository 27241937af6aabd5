"""Clickstream dashboards: five pages over the warehouse, with global filters in a sidebar.

Run: ``python -m shiny run shiny/app.py`` with DATABASE_URL set (and, for the
Reliability page's executions and Redrive button, CLICKSTREAM_DATA_DIR or
CLICKSTREAM_STATE_MACHINE_ARN; see config.py). ``clickstream up`` starts it
for the local stack (clickstream/local/dashboard.py).

Reading order: queries.py (every SQL statement), formatting.py (numbers for
humans), components.py and charts.py (shared UI), pages/*.py (one module per
page: view functions, then the Shiny UI and server).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from htmltools import Tag, tags
from shiny import App, Inputs, Outputs, Session, reactive, render, req, ui
from starlette.requests import Request

import charts
import queries
from clickstream.core.errors import ClickstreamError
from clickstream.local.stack import StackNotRunning, read_stack
from components import period_label
from config import get_settings
from context import PageContext
from pages import acquisition, funnel, paths, products, reliability, retention, search, traffic
from pipeline import Pipeline, connect_pipeline

APP_DIR = Path(__file__).resolve().parent
DEFAULT_DAYS = 7
UNKNOWN_COUNTRY = "(unknown)"

_pipeline: Pipeline | None = None


def database_url() -> str:
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    if settings.clickstream_data_dir:
        return read_stack(Path(settings.clickstream_data_dir)).database_url
    raise StackNotRunning("no warehouse: set DATABASE_URL (or CLICKSTREAM_DATA_DIR of a running local stack)")


def pipeline_clients() -> Pipeline:
    """The Step Functions and S3 clients, made once per process (retried while not configured)."""
    global _pipeline
    if _pipeline is None or _pipeline.operator is None:
        _pipeline = connect_pipeline(get_settings())
    return _pipeline


def _choices(values: set[str], blank: str | None = None) -> dict[str, str]:
    return {v: (v if v or blank is None else blank) for v in sorted(values)}


def sidebar(db: queries.Database) -> tuple[ui.Sidebar, Tag | None]:
    first, last = queries.data_bounds(db)
    if first is None or last is None:
        today = date.today()
        start, end, slices = today - timedelta(days=DEFAULT_DAYS - 1), today, None
        banner = tags.div(
            tags.strong("No data yet. "),
            "The warehouse has no sessions: load traffic (clickstream lake put / backfill, or make demo) "
            "and the pipeline fills these pages hour by hour. The Reliability page shows its progress.",
            class_="alert alert-info no-data",
        )
    else:
        end = last
        start = max(first, end - timedelta(days=DEFAULT_DAYS - 1))
        slices = queries.slice_values(db, last - timedelta(days=90))
        banner = None
    devices = set(slices["device_type"]) if slices is not None else set()
    countries = set(slices["country"]) if slices is not None else set()
    channels = set(slices["channel"]) if slices is not None else set()
    bar = ui.sidebar(
        ui.input_date_range("dates", "Dates (UTC)", start=start, end=end, weekstart=1),
        ui.output_ui("previous_period"),
        ui.input_selectize(
            "devices", "Device", _choices(devices), multiple=True, options={"placeholder": "All devices"}
        ),
        ui.input_selectize(
            "countries",
            "Country",
            _choices(countries, UNKNOWN_COUNTRY),
            multiple=True,
            options={"placeholder": "All countries"},
        ),
        ui.input_selectize(
            "channels", "Channel", _choices(channels), multiple=True, options={"placeholder": "All channels"}
        ),
        ui.input_switch("compare", "Compare with the previous period", value=True),
        tags.p(
            "Data through ",
            tags.strong(period_label(last, last)) if last else "—",
            ".",
            class_="text-muted small data-through",
        ),
        width=270,
        id="filters",
    )
    return bar, banner


def app_ui(request: Request) -> Tag:
    head = ui.head_content(
        tags.link(rel="stylesheet", href="assets/styles.css"),
        charts.plotly_script(),
        tags.meta(name="viewport", content="width=device-width, initial-scale=1"),
    )
    try:
        db = queries.Database(database_url())
        bar, banner = sidebar(db)
    except (psycopg.Error, ClickstreamError, StackNotRunning) as exc:
        return ui.page_fluid(
            head,
            tags.div(
                tags.h3("The dashboards cannot reach the warehouse"),
                tags.p(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__),
                tags.p("Check DATABASE_URL and that PostgreSQL runs, then reload this page."),
                class_="alert alert-danger m-4 warehouse-error",
            ),
            title="Clickstream dashboards",
        )
    return ui.page_navbar(
        ui.nav_panel("Traffic", traffic.page_ui("traffic"), value="traffic"),
        ui.nav_panel("Funnel", funnel.page_ui("funnel"), value="funnel"),
        ui.nav_panel("Products", products.page_ui("products"), value="products"),
        ui.nav_panel("Acquisition", acquisition.page_ui("acquisition"), value="acquisition"),
        ui.nav_panel("Retention", retention.page_ui("retention"), value="retention"),
        ui.nav_panel("Paths", paths.page_ui("paths"), value="paths"),
        ui.nav_panel("Search", search.page_ui("search"), value="search"),
        ui.nav_panel("Reliability", reliability.page_ui("reliability"), value="reliability"),
        title=tags.span(tags.span("◆", class_="brand-mark"), " Clickstream"),
        id="page",
        sidebar=bar,
        header=ui.TagList(head, banner),
        window_title="Clickstream dashboards",
        fillable=False,
    )


def server(input: Inputs, output: Outputs, session: Session) -> None:
    db = queries.Database(database_url())

    @reactive.calc
    def filters() -> queries.Filters:
        dates = input.dates()
        req(dates and dates[0] and dates[1])
        start, end = sorted((dates[0], dates[1]))
        return queries.Filters(
            start=start,
            end=end,
            devices=tuple(input.devices() or ()),
            countries=tuple(input.countries() or ()),
            channels=tuple(input.channels() or ()),
        )

    @reactive.calc
    def compare() -> bool:
        return bool(input.compare())

    @render.ui
    def previous_period() -> Any:
        f = filters()
        if not compare():
            return None
        return tags.p(
            f"Compared with {period_label(f.previous_start, f.previous_end)} ({f.days} days before).",
            class_="text-muted small previous-period",
        )

    ctx = PageContext(db, filters, compare)
    traffic.page_server("traffic", ctx=ctx)
    funnel.page_server("funnel", ctx=ctx)
    products.page_server("products", ctx=ctx)
    acquisition.page_server("acquisition", ctx=ctx)
    retention.page_server("retention", ctx=ctx)
    paths.page_server("paths", ctx=ctx)
    search.page_server("search", ctx=ctx)
    reliability.page_server("reliability", ctx=ctx, connect=pipeline_clients)


app = App(
    app_ui,
    server,
    static_assets={"/assets": APP_DIR / "www", "/plotly": charts.PLOTLY_JS_DIR},
)
