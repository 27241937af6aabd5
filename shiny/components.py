"""UI pieces every page uses: headline numbers with their change, empty states, charts, tables with a
CSV button, and the outputs that show them (``register_kpis``, ``register_chart``, ``register_table``).

Headline numbers carry their raw value in ``data-value`` and a stable key in
``data-kpi``, so a browser test can read exactly what a person sees.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from htmltools import Tag, TagChild, tags
from shiny import render, ui

import charts
import formatting as fmt
import queries
from formatting import MISSING, Change
from frames import NO_CURRENCY

NOTHING_TO_CHART = "Nothing to chart yet"
OTHER_DATES = "Choose other dates or filters."


@dataclass(frozen=True)
class Kpi:
    """One headline number: what it is, its raw and formatted value, and how it moved."""

    key: str
    title: str
    value: Any  # a number, a {currency: amount} dict, or None
    text: str
    change: Change | None = None  # against the previous period, shown when comparing
    help: str = ""  # what the number means (a tooltip on the title)
    note: str = ""  # a line below the value when not comparing: "1,234 objects"
    detail: str = ""  # small, beside the value, always shown: "+ €1.6k · £74"
    tone: str = "neutral"  # of the note: "good", "bad" or "neutral"


def period_label(start: date, end: date) -> str:
    """'14 Oct 2025' or '8 – 14 Oct 2025' or '28 Sep – 4 Oct 2025'."""
    if start == end:
        return f"{start.day} {start:%b %Y}"
    if start.year != end.year:
        return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"
    if start.month != end.month:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day} – {end.day} {end:%b %Y}"


def _raw(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps({k: round(float(v), 2) for k, v in sorted(value.items())})
    return repr(round(float(value), 6)) if isinstance(value, float) else str(value)


def kpi_box(kpi: Kpi, compared_with: str | None) -> Tag:
    arrow = {"up": "▲", "down": "▼", "flat": "●"}.get(kpi.change.direction, "") if kpi.change else ""
    change_line: TagChild = None
    if kpi.change is not None and compared_with is not None and kpi.change.text == MISSING:
        change_line = tags.p(f"no data for {compared_with}", class_="kpi-footer")
    elif kpi.change is not None and compared_with is not None:
        change_line = tags.p(
            tags.span(f"{arrow} {kpi.change.text}".strip(), class_=f"kpi-change {kpi.change.tone}"),
            tags.span(f" vs {compared_with}", class_="kpi-previous"),
            class_="kpi-footer",
        )
    elif kpi.note:
        change_line = tags.p(tags.span(kpi.note, class_=f"kpi-change {kpi.tone}"), class_="kpi-footer")
    return ui.value_box(
        tags.span(kpi.title, title=kpi.help) if kpi.help else kpi.title,
        tags.span(
            tags.span(kpi.text, class_="kpi-value"),
            tags.span(kpi.detail, class_="kpi-detail") if kpi.detail else None,
        ),
        change_line,
        class_="kpi",
        **{"data-kpi": kpi.key, "data-value": _raw(kpi.value)},
    )


def revenue_kpi(now: dict[str, float], before: dict[str, float]) -> Kpi:
    """Revenue per currency: the largest currency big, with its change; the others small beside it."""
    if not now:
        return Kpi("revenue", "Revenue", None, MISSING, help="sum of price x qty of purchases, per currency")
    return money_kpi(
        "revenue",
        "Revenue",
        now,
        {c: before.get(c, 0.0) for c in now},  # none before: from 0, "new"
        "sum of price x qty of purchases, per currency (never added across currencies)",
    )


def money_kpi(
    key: str,
    title: str,
    now: dict[str, float],
    before: dict[str, float],
    help: str,
    order: dict[str, float] | None = None,
) -> Kpi:
    """An amount per currency: the first currency of ``order`` (default: the amounts; the largest
    first) big, with its change (none when ``before`` has no amount in it); the others small beside
    it (an empty dict: no value)."""
    if not now:
        return Kpi(key, title, None, MISSING, help=help)
    rank = order or now
    ordered = sorted(now, key=lambda c: (-rank.get(c, 0.0), c))
    main, others = ordered[0], ordered[1:]
    change = fmt.change(now[main], before.get(main))
    if others:
        change = Change(f"{change.text} in {main or NO_CURRENCY}", change.direction, change.tone)
    return Kpi(
        key,
        title,
        now,
        fmt.money_compact(now[main], main),
        change,
        help,
        detail=" · ".join(f"+ {fmt.money_compact(now[c], c, exact_below=1000)}" for c in others),
    )


def kpi_row(kpis: list[Kpi], compared_with: str | None) -> Tag:
    """One row of up to six numbers, else two even rows (narrow screens wrap them further)."""
    per_row = len(kpis) if len(kpis) <= 6 else math.ceil(len(kpis) / 2)
    return ui.layout_column_wrap(
        *(kpi_box(k, compared_with) for k in kpis), width=1 / max(per_row, 1), fill=False, class_="kpis"
    )


def empty_state(title: str, detail: str = "") -> Tag:
    return tags.div(
        tags.div("∅", class_="empty-icon"),
        tags.p(title, class_="empty-title"),
        tags.p(detail, class_="empty-detail") if detail else None,
        class_="empty-state",
    )


def page(*body: TagChild) -> Tag:
    """A page: its headline numbers (the output 'kpis', see ``register_kpis``) above ``body``."""
    return ui.div(ui.output_ui("kpis"), *body, class_="page")


def card(title: str, *body: TagChild, header_extra: TagChild = None, class_: str = "") -> Tag:
    return ui.card(
        ui.card_header(
            tags.span(title), header_extra, class_="d-flex justify-content-between align-items-center"
        ),
        *body,
        class_=class_,
        full_screen=True,
    )


def chart_card(title: str, chart_id: str, header_extra: TagChild = None) -> Tag:
    """A card with one chart (the output ``chart_id``, see ``register_chart``)."""
    return card(title, ui.output_ui(chart_id), header_extra=header_extra)


def choice_buttons(input_id: str, choices: dict[str, str]) -> Tag:
    """Inline radio buttons without a label, for a card's header: what a chart and table show."""
    return ui.input_radio_buttons(input_id, None, choices, inline=True)


def table_card(title: str, table_id: str, note: str = "") -> Tag:
    """A card with a sortable table and its 'CSV' download button (ids: table_id, table_id + '_csv')."""
    return card(
        title,
        tags.p(note, class_="table-note") if note else None,
        ui.output_data_frame(table_id),
        header_extra=ui.download_button(f"{table_id}_csv", "CSV", class_="btn-sm btn-outline-secondary"),
        class_="table-card",
    )


def register_table(
    output: Any,
    table_id: str,
    frame: Callable[[], pd.DataFrame],
    filename: Callable[[], str],
    height: str = "360px",
) -> None:
    """The sortable table and its CSV download for one frame (a reactive calc)."""

    @output(id=table_id)
    @render.data_frame
    def _table() -> render.DataGrid[Any]:
        data = frame()
        return render.DataGrid(data, width="100%", height=height if len(data) > 8 else None, summary=False)

    @output(id=f"{table_id}_csv")
    @render.download_button(filename=filename, media_type="text/csv")
    def _csv() -> Any:
        yield frame().to_csv(index=False)


def has_current(frame: pd.DataFrame, key: str) -> bool:
    """Whether the 'current' period of a headline frame (one row per period) has any ``key``."""
    current = queries.by_period(frame).get("current")
    return bool(current and current[key])


def register_kpis(
    output: Any,
    has_data: Callable[[], bool],
    kpis: Callable[[], list[Kpi]],
    compared_with: Callable[[], str | None],
    empty: str,
    empty_detail: str = OTHER_DATES,
) -> None:
    """The page's headline numbers (output id 'kpis'), or an empty state when there is no data."""

    @output(id="kpis")
    @render.ui
    def _kpis() -> Tag:
        if not has_data():
            return empty_state(empty, empty_detail)
        return kpi_row(kpis(), compared_with())


def register_chart(
    output: Any,
    chart_id: str,
    data: Callable[[], pd.DataFrame],
    figure: Callable[[pd.DataFrame], go.Figure],
    html_id: str,
    empty: str = NOTHING_TO_CHART,
    empty_detail: str = "",
) -> None:
    """The chart of one frame (a reactive calc), marked ``html_id``; an empty state when it has no rows."""

    @output(id=chart_id)
    @render.ui
    def _chart() -> Tag:
        frame = data()
        if frame.empty:
            return empty_state(empty, empty_detail)
        return charts.to_html(figure(frame), html_id)
