"""The Reliability page's view of the pipeline: Step Functions executions, failed hours, redrive, the lake.

The same ``Operator`` the command line uses (``clickstream executions``,
``clickstream redrive``) does the work, so the page and the CLI agree on what
a failed hour is, and the Redrive button runs exactly ``Operator.redrive_hour``
(its rules: a running hour is refused, a succeeded one is not re-run). Waiting
and quarantined objects come from ``clickstream.ops.inventory``, as in
``clickstream status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from clickstream.core import lake as layout
from clickstream.core.errors import TransientStorageError
from clickstream.core.storage import Lake
from clickstream.local.stack import StackNotRunning, read_stack
from clickstream.ops import health, inventory
from clickstream.ops.operations import FAILED, TERMINAL, Operator, hour_of, lambda_error, latest_by_hour
from config import DashboardSettings

__all__ = ["FAILED", "hour_of", "latest_by_hour"]
PENDING_OBJECTS_CAP = 10_000  # counting raw objects newer than the watermark stops here


@dataclass
class Health:
    """Where the Lambda metrics and the ingest dead-letter queue are (clickstream/ops/health.py).

    With ``snapshot`` (the warehouse host on AWS), the notify function's latest snapshot in that
    lake is read instead of CloudWatch and SQS.
    """

    cloudwatch: Any
    sqs: Any
    functions: dict[str, str]  # role -> FunctionName ({} when not configured)
    dlq_url: str | None
    snapshot: Lake | None = None


@dataclass(frozen=True)
class AsOf:
    """When the health shown was taken (a snapshot), and whether that is too long ago."""

    taken_at: datetime
    age: timedelta
    stale: bool  # older than health.STALE_AFTER


@dataclass
class Pipeline:
    """The state machine (None when not configured, with the reason) and the lake (None if unknown)."""

    operator: Operator | None
    lake: Lake | None
    problem: str | None = None
    lookback_hours: int = 2
    health: Health | None = None


LOCAL_FUNCTIONS = ("list_new", "transform", "load", "notify")  # the local runtime's names
LOCAL_DLQ_NAME = "clickstream-ingest-dlq"


def connect_health(settings: DashboardSettings, endpoint: str | None, region: str, local: bool) -> Health:
    """CloudWatch and SQS clients; locally the stack's function names and queue, else the settings'.

    Off the local stack, ``HEALTH_SNAPSHOT_BUCKET`` (the warehouse host) means: read notify's snapshot.
    """
    if not local and settings.health_snapshot_bucket:
        s3 = boto3.client("s3", endpoint_url=endpoint or None, region_name=region)
        return Health(None, None, {}, None, snapshot=Lake(settings.health_snapshot_bucket, s3))
    cloudwatch = boto3.client("cloudwatch", endpoint_url=endpoint or None, region_name=region)
    sqs = boto3.client("sqs", endpoint_url=endpoint or None, region_name=region)
    if local:
        functions = {name: name for name in LOCAL_FUNCTIONS}
        try:
            dlq_url: str | None = sqs.get_queue_url(QueueName=LOCAL_DLQ_NAME)["QueueUrl"]
        except (BotoCoreError, ClientError):
            dlq_url = None
    else:
        functions, dlq_url = (
            health.parse_functions(settings.lambda_functions),
            settings.ingest_dlq_url or None,
        )
    return Health(cloudwatch, sqs, functions, dlq_url)


def health_reading(
    h: Health | None, now: datetime
) -> tuple[list[health.FunctionErrors] | None, health.QueueDepth | None, str | None, AsOf | None]:
    """``health_view``'s reading, and when it was taken if it comes from notify's snapshot."""
    if h is None:
        return None, None, "the pipeline is not configured here", None
    if h.snapshot is None:  # read now, as notify's snapshot reads them
        live = health.take_snapshot(h.cloudwatch, h.sqs, h.functions, h.dlq_url, now)
        return live.errors, live.depth, "; ".join(live.problems) or None, None
    where = f"s3://{h.snapshot.bucket}/{layout.HEALTH_SNAPSHOT}"
    try:
        snapshot = health.read_snapshot(h.snapshot)
    except ClientError as exc:
        # Without s3:ListBucket (the host has none), S3 answers a missing key with AccessDenied.
        return None, None, f"the health snapshot {where} cannot be read (none written yet?): {exc}", None
    except (BotoCoreError, TransientStorageError, ValueError) as exc:
        return None, None, f"the health snapshot {where} cannot be read: {exc}", None
    if snapshot is None:
        return (
            None,
            None,
            f"no health snapshot yet: notify writes {where} at the end of every execution",
            None,
        )
    age = snapshot.age(now)
    problem = "; ".join(snapshot.problems) or None
    return snapshot.errors, snapshot.depth, problem, AsOf(snapshot.taken_at, age, snapshot.stale(now))


def health_view(
    h: Health | None, now: datetime
) -> tuple[list[health.FunctionErrors] | None, health.QueueDepth | None, str | None]:
    """Lambda errors over the last day and the DLQ's depth; None for what cannot be read, and why."""
    return health_reading(h, now)[:3]


def connect_pipeline(settings: DashboardSettings) -> Pipeline:
    arn, endpoint = settings.clickstream_state_machine_arn, settings.aws_endpoint_url
    region, bucket = settings.aws_default_region, settings.lake_bucket
    if not arn and settings.clickstream_data_dir:
        try:
            info = read_stack(Path(settings.clickstream_data_dir))
        except StackNotRunning as exc:
            return Pipeline(None, None, str(exc))
        arn, endpoint, region, bucket = (
            info.state_machine_arn,
            info.aws_endpoint_url,
            info.region,
            info.lake_bucket,
        )
    if not arn:
        return Pipeline(
            None,
            None,
            "The pipeline is not configured here: set CLICKSTREAM_STATE_MACHINE_ARN "
            "(or CLICKSTREAM_DATA_DIR) to see executions and redrive failed hours.",
            # The warehouse host on AWS: no state machine, but notify's health snapshot.
            health=connect_health(settings, endpoint, region, local=False)
            if settings.health_snapshot_bucket
            else None,
        )
    sfn = boto3.client("stepfunctions", endpoint_url=endpoint or None, region_name=region)
    lake = (
        Lake(bucket, boto3.client("s3", endpoint_url=endpoint or None, region_name=region))
        if bucket
        else None
    )
    return Pipeline(
        Operator(sfn, arn, local=bool(endpoint)),
        lake,
        lookback_hours=settings.lookback_hours,
        health=connect_health(settings, endpoint, region, local=bool(endpoint)),
    )


def failed_hours(executions: list[dict[str, Any]]) -> list[str]:
    """Hours whose latest execution failed; equals ``Operator.failed_hours()`` on the same listing."""
    return sorted(h for h, r in latest_by_hour(executions).items() if r["status"] in FAILED)


def attention(
    op: Operator, executions: list[dict[str, Any]], watched: dict[str, str]
) -> list[dict[str, Any]]:
    """Failed hours and the hours redriven from this page, with their latest execution and its error."""
    latest = latest_by_hour(executions)
    rows = []
    for hour in sorted(set(failed_hours(executions)) | set(watched)):
        execution = latest.get(hour)
        if execution is None:
            continue
        row = {
            "hour": hour,
            "execution": execution["name"],
            "status": execution["status"],
            "stopped": execution.get("stopDate"),
            "error": None,
            "cause": None,
            "redriven": hour in watched,
        }
        if execution["status"] in FAILED:
            report = op.report(execution["executionArn"])
            # AwaitRedrive fails with the original error; the state that failed is the one before it
            failed_states = [s.name for s in report.states if s.failures and s.name != "AwaitRedrive"]
            row["error"] = report.error
            row["cause"] = report.cause
            row["state"] = failed_states[-1] if failed_states else None
        rows.append(row)
    return rows


def cause_message(cause: str | None) -> str:
    """A Lambda failure's cause is JSON ({errorType, errorMessage, stackTrace}): its message."""
    error = lambda_error(cause)
    return str(error["errorMessage"]) if error is not None else cause or ""


def redrive(op: Operator, hour: str) -> str:
    """What the Redrive button does: ``clickstream redrive --hour HOUR --no-wait``. Returns the ARN.

    ``Refused`` / ``HourNotClosed`` (clickstream.ops.operations.REFUSALS) when the rules say no.
    """
    return op.redrive_hour(layout.parse_hour(hour))


def lake_state(
    lake: Lake, fetch: inventory.Fetch, watermark_hour: datetime | None, lookback_hours: int
) -> inventory.Waiting:
    """Raw objects no execution committed, by partition, over the whole lake (``clickstream status``)."""
    return inventory.waiting(lake, fetch, watermark=watermark_hour, lookback_hours=lookback_hours)


def quarantined(fetch: inventory.Fetch) -> list[inventory.RejectObject]:
    """Committed objects whose gzip was corrupt: their copies are kept as received."""
    return [o for o in inventory.reject_objects(fetch) if o.quarantined]


def status(op: Operator, arn: str) -> str:
    return str(op.sfn.describe_execution(executionArn=arn)["status"])


def is_terminal(value: str) -> bool:
    return value in TERMINAL


def executions_frame(
    executions: list[dict[str, Any]] | None, runs: pd.DataFrame, first_hour: datetime, last_hour: datetime
) -> pd.DataFrame:
    """One row per execution of the hours in range: Step Functions' status and timing, the load's counts.

    Without Step Functions (``executions`` None) the rows are etl_runs alone.
    """
    counts = {r["execution_name"]: r for r in runs.to_dict("records")} if not runs.empty else {}
    rows = []
    if executions is None:
        for name, run in counts.items():
            finished = run.get("finished_at")
            rows.append(
                _row(
                    name,
                    layout.hour_iso(run["hour"])[:13],
                    run["status"],
                    run["started_at"],
                    None if pd.isna(finished) else finished,
                    run,
                )
            )
    else:
        first, last = layout.hour_iso(first_hour)[:13], layout.hour_iso(last_hour)[:13]
        for execution in executions:
            hour = hour_of(execution["name"])
            if hour is None or not first <= hour <= last:
                continue
            rows.append(
                _row(
                    execution["name"],
                    hour,
                    execution["status"],
                    execution["startDate"],
                    execution.get("stopDate"),
                    counts.get(execution["name"]),
                )
            )
    columns = [
        "Hour",
        "Execution",
        "Status",
        "Started (UTC)",
        "Duration s",
        "Objects",
        "Lines read",
        "Loaded",
        "Duplicates",
        "Rejected",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["Hour", "Started (UTC)"], ascending=[False, False]).reset_index(drop=True)


def _row(
    name: str, hour: str, state: str, started: datetime, stopped: datetime | None, run: dict[str, Any] | None
) -> list[Any]:
    seconds = round((stopped - started).total_seconds(), 1) if stopped is not None else None
    run = run or {}
    return [
        hour,
        name,
        state,
        started.strftime("%Y-%m-%d %H:%M:%S"),
        seconds,
        run.get("objects"),
        run.get("lines_read"),
        run.get("loaded"),
        run.get("duplicates"),
        run.get("rejected"),
    ]


@dataclass(frozen=True)
class Backlog:
    """Raw objects received after the watermark hour (not processed yet)."""

    partitions: int
    objects: int
    capped: bool  # counting stopped at PENDING_OBJECTS_CAP objects
    oldest: str | None  # the oldest such partition, '2025-10-14T22'


def backlog(lake: Lake, watermark_hour: datetime | None) -> Backlog:
    """Lists only keys after the watermark's partition (keys sort by receive hour), capped."""
    start_after = layout.partition_prefix(watermark_hour + timedelta(hours=1)) if watermark_hour else ""
    partitions: set[str] = set()
    objects = 0
    for obj in lake.list(layout.RAW, start_after=start_after):
        objects += 1
        partitions.add(layout.hour_iso(layout.partition_hour(obj.key))[:13])
        if objects >= PENDING_OBJECTS_CAP:
            return Backlog(len(partitions), objects, True, min(partitions))
    return Backlog(len(partitions), objects, False, min(partitions) if partitions else None)
