"""Reliability: is the data fresh and complete? Executions by hour, failed hours and their redrive,
the watermark's age, raw partitions waiting, rejected lines by reason, lines filtered as bot or
spam traffic by reason and bot family (docs/BOTS.md), and every raw object no
execution committed (by partition, with who takes it; late ones in red with the command that
takes them) and every quarantined object.

Freshness = now - the end of the watermark hour (the receive hour up to which
everything is committed); hours behind = closed hours since then. The Redrive
button asks for confirmation, then runs ``Operator.redrive_hour`` (what
``clickstream redrive --hour H`` runs, with its refusals) and follows the new
execution until it ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from botocore.exceptions import BotoCoreError, ClientError
from htmltools import Tag, TagList, tags
from shiny import module, reactive, render, ui

import bots
import charts
import formatting as fmt
import pipeline
import queries
from clickstream.core import lake as layout
from clickstream.ops import health, inventory
from clickstream.ops.operations import REFUSALS
from components import (
    Kpi,
    card,
    chart_card,
    empty_state,
    kpi_row,
    page,
    register_chart,
    register_table,
    table_card,
)
from context import PageContext
from pipeline import Backlog, Pipeline

POLL_S = 1.0  # while a redriven execution runs
REFRESH_S = 60.0


def hour_range(ctx_filters: queries.Filters) -> tuple[datetime, datetime]:
    """The hours of the selected dates: 00:00 of the first day to 23:00 of the last."""
    first = datetime(ctx_filters.start.year, ctx_filters.start.month, ctx_filters.start.day, tzinfo=UTC)
    last = datetime(ctx_filters.end.year, ctx_filters.end.month, ctx_filters.end.day, 23, tzinfo=UTC)
    return first, last


def headline(
    watermark: dict[str, Any] | None,
    now: datetime,
    backlog: Backlog | None,
    failed: list[str] | None,
    executions: pd.DataFrame,
    processed: dict[str, Any],
) -> list[Kpi]:
    if watermark is None:
        age, behind = None, None
    else:
        end_of_hour = watermark["watermark_hour"] + timedelta(hours=1)
        age = max(now - end_of_hour, timedelta(0))
        behind = int(age.total_seconds() // 3600)
    late = age is None or age > timedelta(hours=2)
    succeeded = int((executions["Status"] == "SUCCEEDED").sum()) if not executions.empty else 0
    lines, rejected = processed.get("lines_read") or 0, processed.get("rejected") or 0
    waiting = "–"
    if backlog is not None:
        waiting = f"{backlog.partitions}{'+' if backlog.capped else ''}"
    return [
        Kpi(
            "freshness",
            "Data freshness",
            None if age is None else age.total_seconds(),
            fmt.age(age) if age is not None else "no data yet",
            help="now - end of the watermark hour",
            note="stale" if late else "on time",
            tone="bad" if late else "good",
        ),
        Kpi(
            "hours_behind", "Hours behind", behind, fmt.integer(behind), help="closed hours not yet committed"
        ),
        Kpi(
            "backlog",
            "Raw partitions waiting",
            None if backlog is None else backlog.partitions,
            waiting,
            help="received after the watermark hour",
            note="" if backlog is None else f"{backlog.objects:,}{'+' if backlog.capped else ''} objects",
        ),
        Kpi(
            "failed_hours",
            "Failed hours",
            None if failed is None else len(failed),
            "–" if failed is None else str(len(failed)),
            help="hours whose latest execution failed",
            note="" if failed is None else ("need a redrive" if failed else "none"),
            tone="bad" if failed else "good",
        ),
        Kpi(
            "executions",
            "Executions",
            len(executions),
            fmt.integer(len(executions)),
            help="of the hours in the selected dates",
            note=f"{succeeded:,} succeeded",
        ),
        Kpi(
            "rejected",
            "Rejected lines",
            rejected,
            fmt.compact(rejected),
            help="of the raw partitions received in the selected dates",
            note=f"{fmt.percent(rejected / lines if lines else None, 2)} of lines read",
        ),
    ]


def executions_figure(frame: pd.DataFrame) -> go.Figure:
    fig = charts.figure(280)
    for state in ("SUCCEEDED", "RUNNING", "FAILED", "TIMED_OUT", "ABORTED"):
        rows = frame[frame["Status"] == state]
        if rows.empty:
            continue
        fig.add_bar(
            x=pd.to_datetime(rows["Hour"] + ":00", utc=True),
            y=rows["Duration s"].fillna(0),
            name=state.title().replace("_", " "),
            marker_color=charts.STATUS_COLORS[state],
            customdata=rows[["Execution", "Loaded"]].fillna("").to_numpy(),
            hovertemplate="%{customdata[0]}<br>%{y:.1f} s, %{customdata[1]} loaded<extra>"
            + state
            + "</extra>",
        )
    fig.update_layout(barmode="overlay", bargap=0.1)
    durations = frame["Duration s"].dropna()
    # one long catch-up run would flatten every hourly bar: then durations go on a log scale
    spread = not durations.empty and durations.max() > 20 * max(durations.median(), 0.1)
    fig.update_yaxes(title_text="duration (s)", type="log" if spread else "linear")
    return fig


def rejects_frame(rejects: pd.DataFrame) -> pd.DataFrame:
    if rejects.empty:
        return pd.DataFrame(columns=["Reason", "Rejected lines", "Objects"])
    return pd.DataFrame(
        {
            "Reason": rejects["reason"],
            "Rejected lines": rejects["rejected_lines"],
            "Objects": rejects["objects"],
        }
    )


def rejects_figure(table: pd.DataFrame) -> go.Figure:
    fig = charts.figure(240)
    ordered = table.sort_values("Rejected lines")
    fig.add_bar(
        y=ordered["Reason"],
        x=ordered["Rejected lines"],
        orientation="h",
        marker_color=charts.ORANGE,
        hovertemplate="%{y}: %{x:,} lines<extra></extra>",
    )
    fig.update_layout(margin={"l": 110})
    return fig


def status_badge(state: str) -> Tag:
    return tags.span(state, class_=f"badge status status-{state.lower()}")


def attention_table(rows: list[dict[str, Any]], request_input: str, can_redrive: bool) -> Tag:
    """Failed (and just redriven) hours, each with its error and a Redrive button."""
    if not rows:
        return empty_state("No failed hours", "Every hour's latest execution succeeded or is still running.")
    body = []
    for row in rows:
        failed = row["status"] in pipeline.FAILED
        args = f"{json.dumps(request_input)}, {json.dumps(row['hour'])}"
        click = f"Shiny.setInputValue({args}, {{priority: 'event'}})"
        error = (
            f"{row.get('state') or ''}: {row['error']}" if row.get("state") and row["error"] else row["error"]
        )
        body.append(
            tags.tr(
                tags.td(row["hour"], class_="mono"),
                tags.td(row["execution"], class_="mono"),
                tags.td(status_badge(row["status"])),
                tags.td(error or ("redriven" if row["redriven"] else "")),
                tags.td(pipeline.cause_message(row["cause"])[:240], class_="cause", title=row["cause"] or ""),
                tags.td(
                    tags.button(
                        "Redrive",
                        type="button",
                        class_="btn btn-sm btn-outline-danger redrive",
                        onclick=click,
                        data_hour=row["hour"],
                    )
                    if failed and can_redrive
                    else None
                ),
                data_hour=row["hour"],
                data_status=row["status"],
            )
        )
    head = tags.thead(
        tags.tr(*(tags.th(h) for h in ("Hour", "Latest execution", "Status", "Error", "Cause", "")))
    )
    return tags.table(head, tags.tbody(*body), class_="table table-sm attention")


WHO = {
    inventory.OPEN: "its own run, once the hour has ended",
    inventory.NEXT_RUN: "the next scheduled run",
    inventory.LATE: "LATE: no scheduled run lists it again",
}
SHOWN_ROWS = 50


def lake_state_view(
    waiting: inventory.Waiting | None, quarantined: list[inventory.RejectObject], problem: str | None
) -> Tag | TagList:
    """Raw objects waiting by partition (late ones flagged loudly) and the quarantined objects."""
    parts: list[Tag] = []
    if waiting is None:
        parts.append(empty_state("The lake is not available", problem or "set LAKE_BUCKET"))
    else:
        late = waiting.late
        if late:
            objects = sum(p.objects for p in late)
            parts.append(
                tags.div(
                    tags.strong(f"{objects:,} raw object(s) in {len(late)} partition(s) wait unprocessed. "),
                    "They arrived in partitions before the watermark's lookback, which no scheduled run "
                    "lists again. Take them with: ",
                    tags.code(waiting.take_command()),
                    class_="alert alert-danger late-objects",
                    data_objects=str(objects),
                )
            )
        if waiting.partitions:
            rows = [
                tags.tr(
                    tags.td(p.label, class_="mono"),
                    tags.td(f"{p.objects:,}"),
                    tags.td(fmt.integer(p.size)),
                    tags.td(WHO[p.taken_by]),
                    tags.td(tags.span(p.keys[0], class_="mono") if p.keys else None),
                    data_partition=p.label,
                    data_taken_by=p.taken_by,
                    class_="table-danger" if p.taken_by == inventory.LATE else None,
                )
                for p in waiting.partitions[:SHOWN_ROWS]
            ]
            head = tags.tr(*(tags.th(h) for h in ("Partition", "Objects", "Bytes", "Taken by", "First key")))
            parts.append(tags.table(tags.thead(head), tags.tbody(*rows), class_="table table-sm waiting"))
        else:
            done = "Every raw object in the lake is processed."
            parts.append(tags.p(done, class_="text-muted waiting-none"))
    if quarantined:
        rows = [
            tags.tr(
                tags.td(layout.hour_label(o.partition_hour), class_="mono"),
                tags.td(o.raw_key, class_="mono"),
                tags.td(o.quarantine_key, class_="mono"),
                tags.td(o.execution, class_="mono"),
                data_key=o.raw_key,
            )
            for o in quarantined[:SHOWN_ROWS]
        ]
        head = tags.tr(*(tags.th(h) for h in ("Partition", "Raw object", "Quarantined copy", "Execution")))
        parts.append(
            tags.div(
                tags.p(
                    tags.strong(f"{len(quarantined)} quarantined object(s): "),
                    "corrupt gzip, copied byte for byte beside their rejects; "
                    "clickstream rejects show KEY prints their record.",
                    class_="quarantine-note",
                ),
                tags.table(tags.thead(head), tags.tbody(*rows), class_="table table-sm quarantined"),
            )
        )
    return TagList(*parts)


def health_view(
    errors: list[health.FunctionErrors] | None,
    depth: health.QueueDepth | None,
    problem: str | None,
    as_of: pipeline.AsOf | None = None,
) -> TagList:
    """Lambda error rate per function over the last day, and the ingest dead-letter queue's depth.

    ``as_of``: they come from notify's snapshot (on AWS), taken then; a stale one is flagged.
    """
    parts: list[Tag] = []
    if as_of is not None:
        taken = f"As of {as_of.taken_at:%Y-%m-%d %H:%M} UTC ({fmt.age(as_of.age)} ago), "
        parts.append(
            tags.p(
                tags.strong(taken) if as_of.stale else taken,
                "taken by the notify function at the end of the latest execution. Notify's own "
                "errors are not in it (a notify that fails fails its execution, listed below).",
                f" Stale: none newer than {fmt.age(health.STALE_AFTER)}, so executions are not ending "
                "or notify cannot write it (see its logs)."
                if as_of.stale
                else "",
                class_="alert alert-warning health-as-of" if as_of.stale else "text-muted health-as-of",
                data_taken_at=as_of.taken_at.isoformat(),
                data_stale="true" if as_of.stale else "false",
            )
        )
    if errors is not None:
        rows = [
            tags.tr(
                tags.td(e.function, class_="mono"),
                tags.td(f"{e.invocations:,}"),
                tags.td(f"{e.errors:,}"),
                tags.td(fmt.percent(e.error_rate, 1) if e.error_rate is not None else "–"),
                data_function=e.function,
                data_invocations=str(e.invocations),
                data_errors=str(e.errors),
                class_="table-danger" if e.errors else None,
            )
            for e in errors
        ]
        head = tags.tr(*(tags.th(h) for h in ("Function", "Invocations", "Errors", "Error rate")))
        parts.append(tags.table(tags.thead(head), tags.tbody(*rows), class_="table table-sm lambda-errors"))
    if depth is not None:
        waiting = depth.waiting + depth.in_flight
        text = f"Ingest dead-letter queue: {depth.waiting:,} batch(es) waiting"
        if depth.in_flight:
            text += f", {depth.in_flight:,} being replayed"
        parts.append(
            tags.div(
                tags.strong(text + ". "),
                ("Put them into the lake with: ", tags.code("clickstream dlq replay"))
                if waiting
                else "Empty.",
                class_="alert alert-danger dlq-depth" if waiting else "text-muted dlq-depth",
                data_waiting=str(depth.waiting),
                data_in_flight=str(depth.in_flight),
            )
        )
    if problem:
        parts.append(tags.p(problem, class_="text-muted health-problem"))
    return TagList(*parts)


@module.ui
def page_ui() -> Tag:
    return page(
        card(
            "Hours needing attention",
            ui.output_ui("attention"),
            header_extra=ui.input_action_button("refresh", "Refresh", class_="btn-sm btn-outline-secondary"),
        ),
        card("Raw objects waiting, quarantined objects", ui.output_ui("lake_state")),
        card(
            "Lambda errors (last 24 hours) and the ingest dead-letter queue",
            ui.output_ui("health"),
        ),
        chart_card("Executions by hour", "executions_chart"),
        table_card(
            "Executions", "executions", "Step Functions status and timing, with what the load committed."
        ),
        ui.layout_columns(
            chart_card("Rejected lines by reason", "rejects_chart"),
            table_card("Rejects", "rejects", "Lines that broke the event contract, by reason."),
            col_widths=(6, 6),
        ),
        table_card(
            "Filtered bot and spam lines",
            "filtered",
            "Valid lines kept out of every session, funnel, product and acquisition number because a bot "
            "or referrer-spam rule matched (docs/BOTS.md), by reason and bot family. "
            "Lines read = loaded + duplicates + rejected + filtered.",
        ),
    )


@module.server
def page_server(
    input: Any, output: Any, session: Any, ctx: PageContext, connect: Callable[[], Pipeline]
) -> None:
    watched: reactive.Value[dict[str, str]] = reactive.value({})  # hour -> ARN of its redrive
    statuses: reactive.Value[dict[str, str]] = reactive.value({})  # ARN -> last seen status
    asked: reactive.Value[str | None] = reactive.value(None)
    tick = reactive.value(0)

    @reactive.calc
    def pipe() -> Pipeline:
        input.refresh()
        return connect()

    @reactive.calc
    def listing() -> list[dict[str, Any]] | None:
        input.refresh(), tick()
        reactive.invalidate_later(REFRESH_S)
        op = pipe().operator
        return None if op is None else op.list_executions()

    @reactive.calc
    def runs() -> pd.DataFrame:
        input.refresh(), tick()
        return queries.runs_in_range(ctx.db, *hour_range(ctx.filters()))

    @reactive.calc
    def executions() -> pd.DataFrame:
        return pipeline.executions_frame(listing(), runs(), *hour_range(ctx.filters()))

    @reactive.calc
    def rejects() -> pd.DataFrame:
        input.refresh(), tick()
        return rejects_frame(queries.rejects_by_reason(ctx.db, *hour_range(ctx.filters())))

    @reactive.calc
    def filtered() -> pd.DataFrame:
        input.refresh(), tick()
        return bots.filtered_frame(bots.filtered_by_family(ctx.db, *hour_range(ctx.filters())))

    @render.ui
    def kpis() -> Tag:
        input.refresh(), tick()
        watermark = queries.watermark(ctx.db)
        lake = pipe().lake
        backlog = None
        if lake is not None:
            backlog = pipeline.backlog(lake, None if watermark is None else watermark["watermark_hour"])
        rows = listing()
        failed = None if rows is None else pipeline.failed_hours(rows)
        processed = queries.processed_totals(ctx.db, *hour_range(ctx.filters()))
        return kpi_row(headline(watermark, datetime.now(UTC), backlog, failed, executions(), processed), None)

    @render.ui
    def attention() -> Tag | TagList:
        p = pipe()
        if p.operator is None:
            return empty_state("Executions are not available", p.problem or "")
        rows = pipeline.attention(p.operator, listing() or [], watched())
        table = attention_table(rows, session.ns("redrive_request"), can_redrive=True)
        notices = [catch_up_notice(c) for c in p.operator.catch_ups()]
        return TagList(*notices, table) if notices else table

    @render.ui
    def lake_state() -> Tag | TagList:
        input.refresh(), tick()
        reactive.invalidate_later(REFRESH_S)
        p = pipe()
        watermark = queries.watermark(ctx.db)
        waiting = None
        if p.lake is not None:
            waiting = pipeline.lake_state(
                p.lake,
                ctx.db.records,
                None if watermark is None else watermark["watermark_hour"],
                p.lookback_hours,
            )
        return lake_state_view(waiting, pipeline.quarantined(ctx.db.records), p.problem)

    @render.ui
    def health() -> TagList:
        input.refresh(), tick()
        reactive.invalidate_later(REFRESH_S)
        return health_view(*pipeline.health_reading(pipe().health, datetime.now(UTC)))

    register_chart(
        output,
        "executions_chart",
        executions,
        executions_figure,
        "executions",
        "No executions for these dates",
    )
    register_chart(
        output, "rejects_chart", rejects, rejects_figure, "rejects", "No rejected lines in these dates"
    )
    register_table(output, "executions", executions, ctx.file_name("executions"))
    register_table(output, "rejects", rejects, ctx.file_name("rejects"))
    register_table(output, "filtered", filtered, ctx.file_name("filtered"))

    @reactive.effect
    @reactive.event(input.redrive_request)
    def _confirm() -> None:
        hour = str(input.redrive_request())
        asked.set(hour)
        ui.modal_show(
            ui.modal(
                ui.p("Run hour ", tags.strong(hour), " again through the state machine?"),
                ui.p(
                    "Objects already committed are skipped, so a redrive never loads anything twice. "
                    f"The same as: clickstream redrive --hour {hour}",
                    class_="text-muted small",
                ),
                title=f"Redrive {hour}",
                footer=TagList(
                    ui.modal_button("Cancel"),
                    ui.input_action_button("confirm_redrive", "Redrive", class_="btn-danger"),
                ),
                easy_close=True,
            )
        )

    @reactive.effect
    @reactive.event(input.confirm_redrive)
    def _redrive() -> None:
        hour, op = asked.get(), pipe().operator
        ui.modal_remove()
        if hour is None or op is None:
            return
        asked.set(None)
        try:
            arn = pipeline.redrive(op, hour)
        except REFUSALS as exc:
            ui.notification_show(f"Redrive of {hour} refused: {exc}", type="warning", duration=15)
            tick.set(tick.get() + 1)
            return
        except (LookupError, ValueError, ClientError, BotoCoreError) as exc:
            ui.notification_show(f"Redrive of {hour} did not start: {exc}", type="error", duration=10)
            return
        watched.set({**watched.get(), hour: arn})
        statuses.set({**statuses.get(), arn: "RUNNING"})
        ui.notification_show(f"Redriving {hour}: {arn.rsplit(':', 1)[-1]} started", type="message")
        tick.set(tick.get() + 1)

    @reactive.effect
    def _follow() -> None:
        """While a redriven execution runs: poll it, and refresh the page's lists when it ends."""
        current = statuses()
        running = [arn for arn, state in current.items() if not pipeline.is_terminal(state)]
        op = pipe().operator
        if not running or op is None:
            return
        reactive.invalidate_later(POLL_S)
        seen = {arn: pipeline.status(op, arn) for arn in running}
        if any(pipeline.is_terminal(state) for state in seen.values()):
            with reactive.isolate():
                tick.set(tick.get() + 1)
        if seen != {arn: current[arn] for arn in running}:
            statuses.set({**current, **seen})


def catch_up_notice(c: dict[str, Any]) -> Tag:
    """A backlog draining through continuations (``Operator.catch_ups``), and how much is left."""
    left = (
        f"{c['left_objects']:,} raw objects ({c['left_bytes'] / 2**20:,.1f} MiB) left after it"
        if c.get("left_objects") is not None
        else "listing what is left"
    )
    return tags.div(
        tags.strong(f"Catching up hour {c['hour']}: "),
        f"{c['execution']} {c['status']} (execution {c['executions']} of the hour); {left}. "
        "Each continuation takes what one upsert does within the load function's timeout.",
        class_="alert alert-info catch-up",
    )
