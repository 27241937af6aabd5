"""The Reliability page: executions, failed hours and their redrive, freshness, the raw backlog.

Step Functions is an in-memory fake with the few calls the Operator makes
(list, describe, history, start); the lake is moto's S3; the warehouse is the
sample.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bots
import pandas as pd
import psycopg
import pytest

import pipeline
import queries
from clickstream.core.storage import Lake
from clickstream.ops import inventory
from clickstream.ops.operations import REFUSALS, HourNeverRan, HourRunning, HourSucceeded, Operator
from config import DashboardSettings
from pages import reliability
from queries import Database
from tests.support.dashboard_sample import D2

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:clickstream-pipeline"
T0 = datetime(2025, 10, 14, 11, 0, 5, tzinfo=UTC)


class FakeStepFunctions:
    """list_executions, describe_execution, get_execution_history and start_execution, in memory."""

    def __init__(self) -> None:
        self.executions: dict[str, dict[str, Any]] = {}
        self.started: list[str] = []

    def add(self, name: str, status: str, start: datetime, seconds: float = 10.0, error: str = "") -> str:
        arn = f"{ARN.replace(':stateMachine:', ':execution:')}:{name}"
        self.executions[arn] = {
            "executionArn": arn,
            "name": name,
            "status": status,
            "startDate": start,
            "stopDate": None if status == "RUNNING" else start + timedelta(seconds=seconds),
            "input": json.dumps({"hour": f"{name[5:18]}:00:00Z"}),
            "error": error or None,
            "cause": f"{error}: role lacks INSERT" if error else None,
        }
        return arn

    def get_paginator(self, operation: str) -> Any:
        fake = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                if operation == "list_executions":
                    rows = [
                        {k: v for k, v in e.items() if k not in {"input", "error", "cause"}}
                        for e in fake.executions.values()
                    ]
                    yield {"executions": rows}
                else:
                    yield {"events": fake.history(kwargs["executionArn"])}

        return Paginator()

    def history(self, arn: str) -> list[dict[str, Any]]:
        execution = self.executions[arn]
        at = execution["startDate"]
        events: list[dict[str, Any]] = [
            {
                "id": 1,
                "type": "TaskStateEntered",
                "timestamp": at,
                "stateEnteredEventDetails": {"name": "SessionizeAndUpsert"},
            },
            {"id": 2, "previousEventId": 1, "type": "TaskScheduled", "timestamp": at},
        ]
        if execution["error"]:
            events.append(
                {
                    "id": 3,
                    "previousEventId": 2,
                    "type": "TaskFailed",
                    "timestamp": at,
                    "taskFailedEventDetails": {"error": execution["error"]},
                }
            )
        return events

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return dict(self.executions[executionArn])

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        arn = self.add(name, "RUNNING", T0 + timedelta(hours=2))
        self.started.append(name)
        return {"executionArn": arn}


@pytest.fixture
def sfn() -> FakeStepFunctions:
    fake = FakeStepFunctions()
    fake.add("hour-2025-10-14T10", "SUCCEEDED", T0 - timedelta(hours=1), 12.5)
    fake.add("hour-2025-10-14T11", "FAILED", T0, 3.0, error="ConfigurationError")
    fake.add("hour-2025-10-14T12", "FAILED", T0 + timedelta(hours=1), error="ConfigurationError")
    fake.add("hour-2025-10-14T12-r2", "SUCCEEDED", T0 + timedelta(hours=1, minutes=5))  # redriven already
    fake.add("hour-2025-10-14T20", "SUCCEEDED", T0 + timedelta(hours=9), 30.0)
    fake.add("hour-2025-10-15T00", "SUCCEEDED", T0 + timedelta(hours=13))  # outside the day
    return fake


@pytest.fixture
def op(sfn: FakeStepFunctions) -> Operator:
    return Operator(sfn, ARN, local=True)


def test_failed_hours_are_those_whose_latest_execution_failed(op: Operator) -> None:
    listing = op.list_executions()
    assert pipeline.failed_hours(listing) == ["2025-10-14T11"] == op.failed_hours()


def test_attention_rows_carry_the_error_and_the_failed_state(op: Operator) -> None:
    rows = pipeline.attention(op, op.list_executions(), watched={})
    assert len(rows) == 1
    row = rows[0]
    assert (row["hour"], row["execution"], row["status"]) == ("2025-10-14T11", "hour-2025-10-14T11", "FAILED")
    assert (row["state"], row["error"]) == ("SessionizeAndUpsert", "ConfigurationError")
    assert row["cause"] == "ConfigurationError: role lacks INSERT"

    html = str(reliability.attention_table(rows, "reliability-redrive_request", can_redrive=True))
    assert 'data-hour="2025-10-14T11"' in html
    assert 'data-status="FAILED"' in html
    assert "SessionizeAndUpsert: ConfigurationError" in html
    assert (
        "Shiny.setInputValue(&quot;reliability-redrive_request&quot;, &quot;2025-10-14T11&quot;" in html
    )  # the button asks the server, which asks for confirmation


def test_a_lambda_cause_shows_its_message() -> None:
    cause = json.dumps(
        {"errorType": "ConfigurationError", "errorMessage": "role lacks INSERT", "stackTrace": []}
    )
    assert pipeline.cause_message(cause) == "role lacks INSERT"
    assert pipeline.cause_message("States.Timeout") == "States.Timeout"
    assert pipeline.cause_message(None) == ""


def test_the_redrive_runs_redrive_hour_and_the_hour_is_followed_to_success(
    op: Operator, sfn: FakeStepFunctions
) -> None:
    # When the hour is redriven from the page
    arn = pipeline.redrive(op, "2025-10-14T11")

    # Then the CLI's redrive ran: a new execution under the next redrive name
    assert sfn.started == ["hour-2025-10-14T11-r2"]
    assert arn.endswith(":hour-2025-10-14T11-r2")
    assert pipeline.status(op, arn) == "RUNNING"
    rows = pipeline.attention(op, op.list_executions(), watched={"2025-10-14T11": arn})
    assert [(r["hour"], r["execution"], r["status"]) for r in rows] == [
        ("2025-10-14T11", "hour-2025-10-14T11-r2", "RUNNING")
    ]
    assert "<button" not in str(reliability.attention_table(rows, "x", can_redrive=True))

    # and once it succeeded, the hour shows green and is no longer failed
    sfn.executions[arn]["status"] = "SUCCEEDED"
    assert pipeline.is_terminal(pipeline.status(op, arn))
    rows = pipeline.attention(op, op.list_executions(), watched={"2025-10-14T11": arn})
    assert rows[0]["status"] == "SUCCEEDED"
    assert "status-succeeded" in str(reliability.attention_table(rows, "x", can_redrive=True))
    assert pipeline.failed_hours(op.list_executions()) == []
    assert "No failed hours" in str(reliability.attention_table([], "x", can_redrive=True))


def test_executions_table_joins_step_functions_and_the_load(op: Operator, sample_url: str) -> None:
    first, last = reliability.hour_range(queries.Filters(D2, D2))
    runs = queries.runs_in_range(Database(sample_url), first, last)
    frame = pipeline.executions_frame(op.list_executions(), runs, first, last)
    assert frame[["Execution", "Status", "Duration s", "Loaded"]].fillna(-1).values.tolist() == [
        ["hour-2025-10-14T20", "SUCCEEDED", 30.0, 4],
        ["hour-2025-10-14T12-r2", "SUCCEEDED", 10.0, -1],  # no etl_runs row
        ["hour-2025-10-14T12", "FAILED", 10.0, -1],
        ["hour-2025-10-14T11", "FAILED", 3.0, -1],
        ["hour-2025-10-14T10", "SUCCEEDED", 12.5, 10],
    ]  # newest hour first; the 15th is outside the dates
    chart = reliability.executions_figure(frame)
    assert [t.name for t in chart.data] == ["Succeeded", "Failed"]
    assert [len(t.x) for t in chart.data] == [3, 2]
    assert chart.layout.yaxis.type == "linear"
    catch_up = pd.concat([frame, frame.head(1).assign(Hour="2025-10-14T09", **{"Duration s": 900.0})])
    assert reliability.executions_figure(catch_up).layout.yaxis.type == "log"  # hourly bars stay visible

    # without Step Functions, etl_runs alone
    alone = pipeline.executions_frame(None, runs, first, last)
    assert alone["Execution"].tolist() == ["hour-2025-10-14T21", "hour-2025-10-14T20", "hour-2025-10-14T10"]
    assert alone["Duration s"].tolist() == [5.0, 5.0, 5.0]


def test_headline_freshness_and_backlog(sample_url: str) -> None:
    db = Database(sample_url)
    first, last = reliability.hour_range(queries.Filters(D2, D2))
    executions = pd.DataFrame({"Status": ["SUCCEEDED", "FAILED", "SUCCEEDED"]})
    backlog = pipeline.Backlog(partitions=2, objects=5, capped=False, oldest="2025-10-14T22")
    now = datetime(2025, 10, 15, 0, 30, tzinfo=UTC)  # the watermark hour (21:00) ended at 22:00
    kpis = {
        k.key: k
        for k in reliability.headline(
            queries.watermark(db),
            now,
            backlog,
            ["2025-10-14T11"],
            executions,
            queries.processed_totals(db, first, last),
        )
    }
    assert (kpis["freshness"].text, kpis["freshness"].note, kpis["freshness"].tone) == (
        "2h 30m",
        "stale",
        "bad",
    )
    assert kpis["hours_behind"].value == 2  # 22:00 and 23:00 are closed and not committed
    assert (kpis["backlog"].text, kpis["backlog"].note) == ("2", "5 objects")
    assert (kpis["failed_hours"].text, kpis["failed_hours"].tone) == ("1", "bad")
    assert (kpis["executions"].text, kpis["executions"].note) == ("3", "2 succeeded")
    assert (kpis["rejected"].text, kpis["rejected"].note) == ("6", "18.75% of lines read")  # 6 / 32

    fresh = reliability.headline(
        queries.watermark(db), datetime(2025, 10, 14, 22, 40, tzinfo=UTC), None, None, executions.head(0), {}
    )
    assert (fresh[0].text, fresh[0].note, fresh[1].value, fresh[2].text, fresh[3].text) == (
        "40m 00s",
        "on time",
        0,
        "–",
        "–",
    )


def test_headline_before_the_first_run(empty_url: str) -> None:
    kpis = reliability.headline(None, datetime.now(UTC), None, [], pd.DataFrame(columns=["Status"]), {})
    assert (kpis[0].text, kpis[0].tone) == ("no data yet", "bad")
    assert kpis[3].note == "none"


def test_rejects_table_and_chart(sample_url: str) -> None:
    first, last = reliability.hour_range(queries.Filters(D2, D2))
    table = reliability.rejects_frame(queries.rejects_by_reason(Database(sample_url), first, last))
    assert table.values.tolist() == [["malformed", 4, 2], ["violation", 2, 1]]
    assert list(reliability.rejects_figure(table).data[0].x) == [2, 4]
    assert reliability.rejects_frame(pd.DataFrame()).empty


def test_backlog_counts_raw_objects_after_the_watermark_hour(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    for hour, count in ((20, 1), (21, 2), (22, 3), (23, 1)):
        for i in range(count):
            lake.put_bytes(f"raw/year=2025/month=10/day=14/hour={hour}/events-{i}.ndjson.gz", b"x")
    lake.put_bytes("rejects/year=2025/month=10/day=14/hour=23/events-0.rejects.ndjson.gz", b"x")
    watermark = datetime(2025, 10, 14, 21, tzinfo=UTC)
    assert pipeline.backlog(lake, watermark) == pipeline.Backlog(2, 4, False, "2025-10-14T22")
    assert pipeline.backlog(lake, None) == pipeline.Backlog(4, 7, False, "2025-10-14T20")
    monkeypatch.setattr(pipeline, "PENDING_OBJECTS_CAP", 3)
    assert pipeline.backlog(lake, None) == pipeline.Backlog(2, 3, True, "2025-10-14T20")


def test_the_pipeline_comes_from_the_environment_or_the_stack_file(tmp_path: Path) -> None:
    none = pipeline.connect_pipeline(DashboardSettings(_env_file=None))
    assert none.operator is None
    assert none.problem is not None and "CLICKSTREAM_STATE_MACHINE_ARN" in none.problem

    no_stack = pipeline.connect_pipeline(DashboardSettings(clickstream_data_dir=tmp_path))
    assert no_stack.operator is None
    assert no_stack.problem is not None and "no local stack found" in no_stack.problem

    local = pipeline.connect_pipeline(
        DashboardSettings(
            clickstream_state_machine_arn=ARN, aws_endpoint_url="http://127.0.0.1:9", lake_bucket="lake"
        )
    )
    assert local.operator is not None and local.operator.local
    assert local.operator.state_machine_arn == ARN
    assert local.lake is not None and local.lake.bucket == "lake"
    assert local.operator.sfn.meta.endpoint_url == "http://127.0.0.1:9"


def test_the_redrive_button_keeps_the_operator_rules(op: Operator, sfn: FakeStepFunctions) -> None:
    """The page's Redrive runs Operator.redrive_hour: the same refusals as clickstream redrive."""
    sfn.add("hour-2025-10-14T13", "RUNNING", T0 + timedelta(hours=2))
    with pytest.raises(HourRunning, match="hour 2025-10-14T13 is running"):
        pipeline.redrive(op, "2025-10-14T13")  # a stale page: another process redrove it already
    with pytest.raises(HourSucceeded, match="--rerun"):
        pipeline.redrive(op, "2025-10-14T10")
    with pytest.raises(HourNeverRan, match="clickstream run --hour 2025-10-14T09"):
        pipeline.redrive(op, "2025-10-14T09")
    assert sfn.started == []
    assert isinstance(HourRunning("x"), REFUSALS)  # what the page's handler shows as "refused"


def test_waiting_and_quarantined_objects_show_late_ones_loudly(lake: Lake, sample_url: str) -> None:
    """Raw objects no execution committed, by partition; those before the lookback in red, with the fix."""
    db = Database(sample_url)
    watermark = queries.watermark(db)
    assert watermark is not None and watermark["watermark_hour"] == datetime(2025, 10, 14, 21, tzinfo=UTC)
    processed = "raw/year=2025/month=10/day=14/hour=10/events-0.ndjson.gz"  # committed in the sample
    lake.put_bytes(processed, b"x")
    lake.put_bytes("raw/year=2025/month=10/day=14/hour=10/events-late.ndjson.gz", b"late")
    lake.put_bytes("raw/year=2025/month=10/day=14/hour=20/events-recent.ndjson.gz", b"recent")
    lake.put_bytes("raw/year=2025/month=10/day=14/hour=22/events-new.ndjson.gz", b"new")

    waiting = pipeline.lake_state(lake, db.records, watermark["watermark_hour"], lookback_hours=2)
    assert [(p.label, p.objects, p.taken_by) for p in waiting.partitions] == [
        ("2025-10-14T10", 1, "late"),  # before 21:00 - 2 h: no scheduled run lists it again
        ("2025-10-14T20", 1, "next run"),  # within the lookback
        ("2025-10-14T22", 1, "next run"),  # after the watermark
    ]
    quarantined = [
        inventory.RejectObject(
            raw_key="raw/year=2025/month=10/day=14/hour=11/events-cut.ndjson.gz",
            partition_hour=datetime(2025, 10, 14, 11, tzinfo=UTC),
            execution="hour-2025-10-14T11",
            lines_read=0,
            rejected=0,
            reasons={},
            quarantined=True,
        )
    ]
    assert pipeline.quarantined(db.records) == []  # the sample has none
    html = str(reliability.lake_state_view(waiting, quarantined, None))
    assert 'class="alert alert-danger late-objects"' in html
    assert 'data-objects="1"' in html
    assert "clickstream run --hour 2025-10-14T10 --rerun" in html
    assert 'data-partition="2025-10-14T10" data-taken-by="late"' in html
    assert "rejects/year=2025/month=10/day=14/hour=11/events-cut.quarantined.gz" in html

    calm = str(reliability.lake_state_view(inventory.Waiting(), [], None))
    assert "late-objects" not in calm and "Every raw object in the lake is processed" in calm
    assert "The lake is not available" in str(reliability.lake_state_view(None, [], "no LAKE_BUCKET"))


def test_filtered_bot_and_spam_lines_by_reason_and_family(sample_url: str) -> None:
    # Given filtered lines recorded for the sample's objects on D2 (as the load writes them)
    with psycopg.connect(sample_url) as conn, conn.cursor() as cur:
        objects = cur.execute(
            "select object_key, partition_hour from etl_processed_objects order by partition_hour"
        ).fetchall()
        rows = [
            (objects[0][0], "bot_user_agent", "Googlebot", 3, objects[0][1]),
            (objects[1][0], "bot_user_agent", "Googlebot", 2, objects[1][1]),
            (objects[1][0], "bot_user_agent", "HeadlessChrome", 1, objects[1][1]),
            (objects[2][0], "referrer_spam", "semalt.com", 1, objects[2][1]),
        ]
        cur.executemany(
            "insert into etl_filtered (object_key, reason, family, count_lines, partition_hour)"
            " values (%s, %s, %s, %s, %s)",
            rows,
        )
        cur.execute(
            "update etl_processed_objects set filtered = f.n, lines_read = lines_read + f.n"
            " from (select object_key, sum(count_lines) as n from etl_filtered group by 1) as f"
            " where f.object_key = etl_processed_objects.object_key"
        )

    # When the Reliability page reads the selected dates (and a day without any)
    first, last = reliability.hour_range(queries.Filters(D2, D2))
    table = bots.filtered_frame(bots.filtered_by_family(Database(sample_url), first, last))
    before = reliability.hour_range(queries.Filters(D2 - timedelta(days=1), D2 - timedelta(days=1)))

    # Then the lines are counted by reason and family, largest first, with their share of lines read
    lines_read = 13 + 7 + 12 + 7  # the sample's three objects, plus the 7 filtered lines
    assert table[["Reason", "Bot or spam source", "Filtered lines", "Objects"]].values.tolist() == [
        ["Bot user agent", "Googlebot", 5, 2],
        ["Bot user agent", "HeadlessChrome", 1, 1],
        ["Referrer spam", "semalt.com", 1, 1],
    ]
    assert table["Share of lines read (%)"].tolist() == [round(100 * n / lines_read, 2) for n in (5, 1, 1)]
    assert bots.filtered_frame(bots.filtered_by_family(Database(sample_url), *before)).empty


def test_a_catch_up_in_progress_says_how_much_is_left() -> None:
    row = {
        "hour": "2025-10-14T09",
        "execution": "hour-2025-10-14T09-c3",
        "status": "RUNNING",
        "executions": 3,
        "left_objects": 1234,
        "left_bytes": 5 * 2**20,
    }
    html = str(reliability.catch_up_notice(row))
    assert "Catching up hour 2025-10-14T09" in html
    assert "hour-2025-10-14T09-c3 RUNNING (execution 3 of the hour)" in html
    assert "1,234 raw objects (5.0 MiB) left after it" in html
    assert "listing what is left" in str(reliability.catch_up_notice({**row, "left_objects": None}))
