"""What the AWS stack costs a month, line by line, from measured compute and list prices.

``clickstream cost --events-per-day N`` prints it; ``docs/COST.md`` and the cost
section of ``docs/PERFORMANCE.md`` are this module's output::

    measured = Measured.from_results(json.loads(path.read_text()))  # or Measured.builtin()
    bills = [estimate(n, measured) for n in (10_000, 100_000, 1_000_000, 10_000_000)]
    print(render_markdown(bills))

The model is the default stack (``cdk deploy`` without options, see docs/DEPLOY.md; its
fixed lines are checked against the synthesized template by tests/infra/test_cost_model.py):
one hourly execution of ``statemachine/pipeline.asl.json``, 720 a month, on
on-demand us-east-1 list prices (``PRICES``), no free tier (``Line.free_usd``
says what the always-free tier would take off). Volumes follow from events per
day through ``Assumptions``; state transitions and Lambda requests are counted
from the ASL file (``success_path``); Lambda time is the benchmark's measured
seconds (``Measured``) stretched to the CPU share a function of that memory gets,
plus S3 request latency.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clickstream.core.settings import Settings
from clickstream.ops.definition import ASL_PATH
from clickstream.pipeline.listing import MAX_ITEMS

# -- prices --------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    label: str


# us-east-1 on-demand list prices in USD, as docs/COST.md lists them.
PRICES_CHECKED = "2026-11-22"  # when they were read off the AWS pricing pages; they change
PRICES: dict[str, Price] = {
    "ec2_t4g_micro": Price(0.0084, "hour", "EC2 t4g.micro, Linux, on demand"),
    "ec2_t4g_small": Price(0.0168, "hour", "EC2 t4g.small, Linux, on demand"),
    "ec2_t4g_large": Price(0.0672, "hour", "EC2 t4g.large, Linux, on demand"),
    "ebs_gp3": Price(0.08, "GB-month", "EBS gp3 volume"),
    "ebs_snapshot": Price(0.05, "GB-month", "EBS snapshot storage"),
    "interface_endpoint": Price(0.01, "hour per AZ", "VPC interface endpoint"),
    "public_ipv4": Price(0.005, "hour", "public IPv4 address, in use"),
    "firehose_gb": Price(0.029, "GB, records rounded up to 5 KB", "Data Firehose Direct PUT ingestion"),
    "sfn_transition": Price(0.025 / 1000, "state transition", "Step Functions standard"),
    "lambda_gb_s": Price(0.0000133334, "GB-second", "Lambda arm64 duration"),
    "lambda_request": Price(0.20 / 1e6, "request", "Lambda requests"),
    "s3_storage": Price(0.023, "GB-month", "S3 Standard storage"),
    "s3_put": Price(0.005 / 1000, "request", "S3 PUT, COPY, POST, LIST"),
    "s3_get": Price(0.0004 / 1000, "request", "S3 GET"),
    "vended_logs_s3": Price(0.25, "GB", "vended logs delivered to S3 (VPC flow logs)"),
    "cw_alarm_metric": Price(0.10, "alarm metric-month", "CloudWatch standard alarm"),
    "cw_custom_metric": Price(0.30, "metric-month", "CloudWatch custom metric"),
    "cw_logs_ingest": Price(0.50, "GB", "CloudWatch Logs ingestion"),
    "cw_logs_storage": Price(0.03, "GB-month", "CloudWatch Logs storage"),
    "xray_trace": Price(5.0 / 1e6, "trace", "X-Ray traces recorded"),
    "secret": Price(0.40, "secret-month", "Secrets Manager"),
    "kms_key": Price(1.00, "key-month", "KMS customer managed key"),
    "sns_email": Price(2.0 / 100_000, "e-mail", "SNS e-mail notifications"),
    "scheduler_invocation": Price(1.0 / 1e6, "invocation after 14 M free", "EventBridge Scheduler"),
    "cross_az": Price(0.01, "GB each way", "data transfer between AZs"),
    "cloudfront_request": Price(0.0100 / 10_000, "HTTPS request", "CloudFront requests (NA, EU)"),
    "cloudfront_out": Price(0.085, "GB", "CloudFront data transfer out (NA, EU)"),
    "cloudfront_origin": Price(0.020, "GB", "CloudFront data transfer to origin"),
    "http_api_request": Price(1.00 / 1e6, "request", "API Gateway HTTP API"),
    "waf_acl": Price(5.0, "web ACL-month", "WAF web ACL"),
    "waf_rule": Price(1.0, "rule-month", "WAF rule"),
    "waf_request": Price(0.60 / 1e6, "request", "WAF requests inspected"),
    "cognito_lite_mau": Price(0.0055, "monthly active user", "Cognito user pool, Lite"),
    "sqs_request": Price(0.40 / 1e6, "request", "SQS standard"),
    "cw_get_metric_data": Price(0.01 / 1000, "metric requested", "CloudWatch GetMetricData"),
}
# The health snapshot notify takes at the end of every execution (clickstream/ops/health.py):
# Invocations and Errors of 4 functions (list_new, transform, load, ingest) by GetMetricData,
# which the always-free tier does not cover, and one S3 PUT (ops/health.json). Not notify's own:
# a notify that fails shows as a failed execution and its alert, and its two metrics would
# take the idle bill over issue 18's $15 (+$0.0144).
HEALTH_METRICS_PER_EXECUTION = 2 * 4


def price(name: str) -> float:
    return PRICES[name].usd


# -- the stack's Lambda functions ----------------------------------------------

# Memory of each function in MB, as infra/constants.py gives it to CDK (FunctionSpec
# LIST_NEW, TRANSFORM, LOAD, NOTIFY; START_HOUR_MEMORY_MB; INGEST_MEMORY_MB).
# tests/unit/test_cost.py reads that file and fails when the two disagree.
MEMORY_MB: dict[str, int] = {
    "list_new": 512,
    "transform": 1024,
    "load": 1024,
    "notify": 256,
    "start_hour": 128,
    "ingest": 512,
}
# The ASL's Resource placeholders -> function (as infra/constants.py's asl_placeholder).
FUNCTION_OF_PLACEHOLDER: dict[str, str] = {
    "ListNewFunctionArn": "list_new",
    "TransformFunctionArn": "transform",
    "LoadFunctionArn": "load",
    "NotifyFunctionArn": "notify",
}
# Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB
# (AWS Lambda documentation). We assume one vCPU there does the work of one core of
# the machine the benchmark ran on, so a CPU-bound second measured there takes
# 1769 / M seconds in a function of M MB (M < 1769).
MB_PER_VCPU = 1769

HOURS_PER_MONTH = 730
EXECUTIONS_PER_MONTH = 720  # one per hour, 30 days
DAYS_PER_MONTH = 365 / 12
GB = 1e9


# -- what the benchmark measured -----------------------------------------------


_MEASURED_KEYS = ("transform_s_per_event", "load_s_per_event", "idle_s_per_state", "machine", "source")


@dataclass(frozen=True)
class Measured:
    """Compute time of the pipeline measured by the benchmark on one machine.

    A results file (``bench/results/YYYY-MM-DD[-suffix].json``) holds them as::

        {
          ...,
          "cost_inputs": {
            "transform_s_per_event": 2.24e-05,   # s of one worker process per event, TransformPartition
            "load_s_per_event": 3.33e-05,        # s per new event of the three load states
            "idle_s_per_state": {                # s per execution of each Lambda state, hour with no new data
              "ListNew": 0.15, "TransformPartition": 0.0, "CheckStagedBatches": 0.05,
              "SessionizeAndUpsert": 0.1, "AdvanceWatermark": 0.05, "NotifySuccess": 0.05
            },
            "machine": "x86_64, 2 cores",        # where it was measured
            "source": "python -m bench, 2026-11-22"  # how
          }
        }

    Seconds are those of one process on one core of ``machine``: ``make bench`` gives the
    workers' CPU seconds per line and PostgreSQL's per event loaded (what the load function
    waits on), which a shared machine inflates far less than wall seconds (bench/suite.py), and
    each state's wall seconds on an idle hour. Other keys, inside ``cost_inputs`` or beside it,
    are ignored.
    """

    transform_s_per_event: float
    load_s_per_event: float
    idle_s_per_state: dict[str, float]
    machine: str
    source: str

    @classmethod
    def from_results(cls, data: Mapping[str, Any]) -> Measured:
        """Read ``data["cost_inputs"]``; ValueError naming the first key missing or malformed."""
        if not isinstance(data, Mapping) or "cost_inputs" not in data:
            raise ValueError("results have no 'cost_inputs' object")
        inputs = data["cost_inputs"]
        if not isinstance(inputs, Mapping):
            raise ValueError("results' 'cost_inputs' is not an object")
        for key in _MEASURED_KEYS:
            if key not in inputs:
                raise ValueError(f"results' cost_inputs have no {key!r}")
        per_event = {}
        for key in ("transform_s_per_event", "load_s_per_event"):
            per_event[key] = _seconds(inputs[key], f"cost_inputs.{key}")
        idle = inputs["idle_s_per_state"]
        if not isinstance(idle, Mapping):
            raise ValueError("results' cost_inputs.idle_s_per_state is not an object of state -> seconds")
        return cls(
            transform_s_per_event=per_event["transform_s_per_event"],
            load_s_per_event=per_event["load_s_per_event"],
            idle_s_per_state={
                str(k): _seconds(v, f"cost_inputs.idle_s_per_state.{k}") for k, v in idle.items()
            },
            machine=str(inputs["machine"]),
            source=str(inputs["source"]),
        )

    @classmethod
    def builtin(cls) -> Measured:
        """The figures ``python -m bench`` measured on the development machine (x86_64, 2 cores).

        Transform ~44,600 events per second in one process, the load ~30,000 new
        events per second (CheckStagedBatches, SessionizeAndUpsert and AdvanceWatermark), and
        each state's time on an hour with nothing new (TransformPartition then
        has no items). A results file in bench/results/ replaces them.
        """
        return cls(
            transform_s_per_event=1 / 44_600,
            load_s_per_event=1 / 30_000,
            idle_s_per_state={
                "ListNew": 0.15,
                "TransformPartition": 0.0,
                "CheckStagedBatches": 0.05,
                "SessionizeAndUpsert": 0.1,
                "AdvanceWatermark": 0.05,
                # Not measured yet: a connection and, on most hours, no query (no day completed);
                # AdvanceWatermark's figure stands in until make bench measures it.
                "CheckBusinessDays": 0.05,
                "NotifySuccess": 0.05,
            },
            machine="x86_64, 2 cores",
            source="builtin figures, measured with python -m bench on the development machine",
        )


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"results' {name} is not a number of seconds >= 0: {value!r}")
    return float(value)


_RESULTS_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}")


def newest_results(root: Path) -> Path | None:
    """The newest ``root/bench/results/YYYY-MM-DD[suffix].json`` by its name's date, or None."""
    folder = root / "bench" / "results"
    if not folder.is_dir():
        return None
    files = [p for p in folder.glob("*.json") if p.is_file() and _RESULTS_NAME.match(p.name)]
    return max(files, key=lambda p: (p.name[:10], p.stem), default=None)


# -- the state machine's success path ------------------------------------------


@dataclass(frozen=True)
class StateVisit:
    name: str
    type: str
    function: str | None  # the Lambda function a Task invokes (None: not a Lambda)
    per_item: bool  # inside the Map: once per item


def success_path(path: Path = ASL_PATH) -> list[StateVisit]:
    """The states a successful execution enters, in order, as the ASL file defines them.

    From StartAt along Next (a Choice along its Default, the common case: a
    success notice is published only when rejects exceed the threshold) to the
    Succeed state or End; a Map's ItemProcessor is walked the same way and its
    states marked per item. Retries are not counted.
    """
    return _walk(json.loads(path.read_text(encoding="utf-8")), per_item=False)


def _walk(machine: Mapping[str, Any], *, per_item: bool) -> list[StateVisit]:
    states = machine["States"]
    visits: list[StateVisit] = []
    name: str | None = machine["StartAt"]
    seen: set[str] = set()
    while name is not None:
        if name in seen:
            raise ValueError(f"the success path loops at state {name!r}")
        seen.add(name)
        state = states[name]
        kind = state["Type"]
        resource = str(state.get("Resource", ""))
        placeholder = re.fullmatch(r"\$\{(\w+)\}", resource)
        function = FUNCTION_OF_PLACEHOLDER.get(placeholder.group(1)) if placeholder else None
        if kind == "Task" and placeholder and function is None:
            raise ValueError(
                f"state {name!r} invokes {resource}, which has no entry in FUNCTION_OF_PLACEHOLDER"
            )
        visits.append(StateVisit(name, kind, function, per_item))
        if kind == "Map":
            visits.extend(_walk(state.get("ItemProcessor") or state["Iterator"], per_item=True))
        if kind in ("Succeed", "Fail") or state.get("End"):
            name = None
        elif kind == "Choice":
            name = state.get("Default")
        else:
            name = state["Next"]
    return visits


# -- the model's assumptions ---------------------------------------------------


@dataclass(frozen=True)
class Assumptions:
    """Everything the bill assumes besides prices and measured compute (see docs/COST.md)."""

    # The tracker flushes every 5 s, at 20 events and on pagehide: ~10 events per request.
    events_per_request: float = 10
    # Ingest puts each request's lines into the raw/ Firehose stream as one record, which
    # writes an object per buffer: at most one a minute (RAW_STREAM_BUFFER_S) or per 64 MB of
    # NDJSON, so objects an hour = min(requests an hour, 60) + NDJSON an hour / 64 MB.
    stream_buffer_s: int = 60
    stream_buffer_mb: int = 64
    raw_line_bytes: float = 700  # an enriched NDJSON line, what a Firehose record holds
    firehose_record_unit_bytes: int = 5 * 1024  # Firehose bills each record rounded up to 5 KB
    # The warehouse host: instance type (infra WAREHOUSE_INSTANCE_TYPE) and how Session Manager
    # reaches it (WAREHOUSE_ACCESS_DEFAULT: "public-ip", one public IPv4 address).
    instance: str = "t4g.micro"
    warehouse_access: str = "public-ip"
    raw_bytes_per_event: float = 300  # gzipped NDJSON in raw/
    staged_bytes_per_event: float = 100  # gzipped COPY data in staged/, kept 7 days
    staged_days: int = 7
    db_bytes_per_event: float = 700  # fact_events row + indexes, its share of sessions and aggregates
    loaded_bytes_per_event: float = 600  # sent from the functions to PostgreSQL
    reject_object_share: float = 0.01  # objects with a rejected line (one rejects file each)
    # The volume is sized for this many months of data plus the OS, with headroom, in 10 GB steps.
    volume_months: int = 12
    volume_min_gb: int = 20  # infra WAREHOUSE_VOLUME_GB
    volume_headroom: float = 1.15
    os_gb: float = 4.0  # OS and packages on the volume
    snapshot_days: int = 7  # daily, incremental: used blocks + 6 days of changes
    wal_gb_per_day: float = 0.3  # WAL and logs changed a day besides the data
    # Wall seconds one S3 request takes from a function (first byte of a small object);
    # not measured by the benchmark, which reads from memory.
    s3_request_s: float = 0.015
    transform_fetch_ahead: int = 2  # raw objects TransformPartition downloads in parallel
    start_hour_s: float = 0.5  # StartHour: one StartExecution call
    # ListNew lists the closed hour and this many before it (Settings.lookback_hours).
    lookback_hours: int = field(default_factory=lambda: int(Settings.model_fields["lookback_hours"].default))
    keys_per_list_page: int = 1000
    max_objects_per_item: int = field(
        default_factory=lambda: int(Settings.model_fields["max_objects_per_item"].default)
    )
    # Logs: Step Functions at ALL with execution data, ~4 events per state entered; the
    # states outside the Map carry the list of items (~175 bytes each).
    sfn_log_events_per_state: int = 4
    sfn_log_event_bytes: float = 1300
    sfn_log_bytes_per_item: float = 175
    lambda_log_bytes: float = 3000  # per invocation
    log_retention_months: float = 1.0
    s3_access_log_bytes: float = 1000  # per S3 request, stored a month
    flow_log_gb: float = 0.03  # VPC flow logs a month
    # executions failed / timed out / throttled, freshness, the reject rate (math over 2 metrics)
    alarm_metrics: int = 6
    # FreshnessMinutes, emitted by every execution; EventsStaged, LinesRead and RejectedLines,
    # emitted by TransformPartition, so only in hours with new objects (CloudWatch bills a custom
    # metric by the hours it receives data).
    custom_metrics_always: int = 1
    custom_metrics_with_events: int = 3
    secrets: int = 2
    interface_endpoints: int = 2  # ssm + ssmmessages, one AZ, with warehouse_access="endpoints"
    alert_emails: int = 30  # a month
    cross_az_share: float = 0.5  # functions in two AZs, the host in one
    # Ingest API and storefront (--with-ingest).
    page_views_per_event: float = 0.4
    requests_per_page_view: float = 2.0
    page_view_bytes: float = 3750
    request_bytes: float = 6000  # a batch, to the origin
    response_bytes: float = 500
    ingest_s: float = 0.08  # functions/ingest per request, one PutRecordBatch, cold starts included
    # per request: the API's access log line and the function's metric (EMF) line; the function
    # logs at WARNING, without Lambda's START/END/REPORT lines (system log level WARN)
    ingest_log_bytes: float = 600
    events_per_signed_in_shopper: float = 200  # Cognito MAU = events a day / this
    waf_rules: int = 4
    cloudfront_log_bytes_per_request: float = 50  # gzipped
    cloudfront_log_puts_cap: int = 14_600  # log files a month, at most ~20 an hour
    storefront_cache_misses_base: int = 20_000  # a month: 5-minute TTL, few files, few edges
    storefront_cache_miss_share: float = 0.025


# -- the bill ------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    name: str
    usd: float  # a month, no free tier
    quantity: str  # what was counted, e.g. "6,480 transitions" ("" when nothing to say)
    group: str  # "fixed" | "pipeline" | "storage" | "ingest"
    free_usd: float = 0.0  # what the always-free tier takes off this line


@dataclass(frozen=True)
class Bill:
    events_per_day: int
    lines: list[Line]
    measured: Measured
    volumes: dict[str, float]  # the derived quantities, per execution or a month
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)

    @property
    def total_with_free_tier(self) -> float:
        return sum(line.usd - line.free_usd for line in self.lines)

    def group_total(self, *groups: str) -> float:
        return sum(line.usd for line in self.lines if line.group in groups)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events_per_day": self.events_per_day,
            "total_usd": round(self.total, 4),
            "total_with_free_tier_usd": round(self.total_with_free_tier, 4),
            "lines": [
                {**asdict(line), "usd": round(line.usd, 4), "free_usd": round(line.free_usd, 4)}
                for line in self.lines
            ],
            "volumes": {k: round(v, 6) for k, v in self.volumes.items()},
            "compute": asdict(self.measured),
            "prices_checked": PRICES_CHECKED,
            "notes": self.notes,
        }


GROUPS = {
    "fixed": "fixed a month",
    "pipeline": "grows with events",
    "storage": "storage",
    "ingest": "ingest API and storefront",
}


def _n(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:,.2f} M"
    return f"{value:,.0f}"


def _gb(value: float) -> str:
    return f"{value:,.2f} GB" if value < 10 else f"{value:,.0f} GB"


def volume_gb(events_per_day: float, a: Assumptions) -> int:
    """The gp3 volume for ``a.volume_months`` of data plus the OS, with headroom, in 10 GB steps."""
    data = a.db_bytes_per_event * events_per_day * DAYS_PER_MONTH * a.volume_months / GB
    return max(a.volume_min_gb, math.ceil((data + a.os_gb) * a.volume_headroom / 10) * 10)


def estimate(
    events_per_day: int,
    measured: Measured,
    *,
    assumptions: Assumptions | None = None,
    with_ingest: bool = False,
    with_storefront: bool = False,
    waf: bool = False,
    asl_path: Path = ASL_PATH,
) -> Bill:
    """A month of the default stack at ``events_per_day``, line by line.

    ``with_ingest``: the event ingest (CloudFront, the HTTP API, functions/ingest, Firehose),
    for a shop whose pages are served elsewhere. ``with_storefront`` adds the demo
    storefront's page traffic and its shoppers signing in (Cognito); ``waf`` the opt-in web
    ACL (``-c ingest_waf=on``). Both imply ``with_ingest``.
    """
    with_ingest = with_ingest or with_storefront or waf
    if events_per_day <= 0:
        raise ValueError(f"events per day must be positive, not {events_per_day}")
    a = assumptions or Assumptions()
    notes: list[str] = []
    lines: list[Line] = []

    def add(name: str, usd: float, quantity: str, group: str, free_usd: float = 0.0) -> None:
        lines.append(Line(name, usd, quantity, group, min(usd, max(0.0, free_usd))))

    # -- volumes
    e = float(events_per_day)
    events_per_execution = e / 24
    requests_per_hour = e / 24 / a.events_per_request
    ndjson_mb_per_hour = e / 24 * a.raw_line_bytes / 1e6
    objects_per_hour = (
        min(requests_per_hour, 3600 / a.stream_buffer_s) + ndjson_mb_per_hour / a.stream_buffer_mb
    )
    # the share of hours in which something arrives (a Poisson guess at low volume)
    hours_with_events = 1 - math.exp(-requests_per_hour)
    items = max(1, math.ceil(objects_per_hour / a.max_objects_per_item))
    if items > MAX_ITEMS:
        notes.append(
            f"{items} work items an hour exceed ListNew's cap of {MAX_ITEMS}: an hour would need "
            "several executions (not modelled)"
        )
    path = success_path(asl_path)
    transitions = sum(items if v.per_item else 1 for v in path)
    lambda_states = [v for v in path if v.function is not None]
    invocations = 1 + sum(items if v.per_item else 1 for v in lambda_states)  # + StartHour
    hours_listed = a.lookback_hours + 1
    list_pages = hours_listed * max(1, math.ceil(objects_per_hour / a.keys_per_list_page))
    # PUT: the worklist, per item its work file, batch and manifest, a rejects file per bad object,
    # and the health snapshot.
    puts = 1 + 3 * items + a.reject_object_share * objects_per_hour + 1
    # GET: every new raw object, per item its work file and the load's 3 reads of its batch, + 2.
    gets = objects_per_hour + 4 * items + 2
    db_gb_month = a.db_bytes_per_event * e * DAYS_PER_MONTH / GB

    # -- Lambda: measured seconds stretched to the function's CPU share, plus S3 latency
    def cpu_gb_s(seconds: float, function: str) -> float:
        mb = MEMORY_MB[function]
        stretch = MB_PER_VCPU / mb if mb < MB_PER_VCPU else 1.0
        return seconds * stretch * mb / 1024

    def io_gb_s(seconds: float, function: str) -> float:
        return seconds * MEMORY_MB[function] / 1024

    gb_s: dict[str, float] = {}
    for visit in lambda_states:
        assert visit.function is not None
        if visit.name not in measured.idle_s_per_state:
            notes.append(f"no measured idle time for {visit.name}: counted as 0 s")
        idle = measured.idle_s_per_state.get(visit.name, 0.0) * (items if visit.per_item else 1)
        gb_s[visit.function] = gb_s.get(visit.function, 0.0) + cpu_gb_s(idle, visit.function)
    functions_on_path = {v.function for v in lambda_states}
    for function, per_event in (
        ("transform", measured.transform_s_per_event),
        ("load", measured.load_s_per_event),
    ):
        if function in functions_on_path:
            gb_s[function] += cpu_gb_s(per_event * events_per_execution, function)
    io_s = {
        "list_new": (list_pages + 1 + items) * a.s3_request_s,
        "transform": (objects_per_hour / a.transform_fetch_ahead + 4 * items) * a.s3_request_s,
        "load": (3 * items + 2) * a.s3_request_s,
    }
    for function, seconds in io_s.items():
        if function in functions_on_path:
            gb_s[function] += io_gb_s(seconds, function)
    gb_s["start_hour"] = io_gb_s(a.start_hour_s, "start_hour")
    gb_s_month = sum(gb_s.values()) * EXECUTIONS_PER_MONTH
    requests_month = invocations * EXECUTIONS_PER_MONTH

    # -- logs
    outside = sum(1 for v in path if not v.per_item)
    inside = transitions - outside
    sfn_log_bytes = a.sfn_log_events_per_state * (
        outside * (a.sfn_log_event_bytes + a.sfn_log_bytes_per_item * items) + inside * a.sfn_log_event_bytes
    )
    log_gb = (sfn_log_bytes + invocations * a.lambda_log_bytes) * EXECUTIONS_PER_MONTH / GB

    # -- the pipeline and the warehouse
    add(
        f"EC2 {a.instance}, on demand, 730 h",
        price(f"ec2_{a.instance.replace('.', '_')}") * HOURS_PER_MONTH,
        "1 instance",
        "fixed",
    )
    volume = volume_gb(e, a)
    add(
        f"EBS gp3 volume (sized for {a.volume_months} months of data)",
        volume * price("ebs_gp3"),
        f"{volume:,} GB",
        "storage",
    )
    snapshot_gb = (
        a.os_gb + db_gb_month + (a.snapshot_days - 1) * (2 * db_gb_month / DAYS_PER_MONTH + a.wal_gb_per_day)
    )
    add(
        f"EBS snapshots, {a.snapshot_days} daily, incremental",
        snapshot_gb * price("ebs_snapshot"),
        "~" + _gb(snapshot_gb),
        "storage",
    )
    if a.warehouse_access == "endpoints":
        add(
            f"VPC interface endpoints ({a.interface_endpoints}: ssm, ssmmessages), 1 AZ",
            a.interface_endpoints * price("interface_endpoint") * HOURS_PER_MONTH,
            f"{a.interface_endpoints * HOURS_PER_MONTH:,} endpoint-hours",
            "fixed",
        )
    else:
        add(
            "Public IPv4 address of the host (Session Manager; no inbound rule)",
            price("public_ipv4") * HOURS_PER_MONTH,
            f"{HOURS_PER_MONTH} h",
            "fixed",
        )
    sfn_month = transitions * EXECUTIONS_PER_MONTH
    add(
        "Step Functions standard (state transitions)",
        sfn_month * price("sfn_transition"),
        f"{_n(sfn_month)}; {transitions} an execution",
        "pipeline",
        free_usd=min(sfn_month, 4000) * price("sfn_transition"),
    )
    lambda_free = 400_000 * price("lambda_gb_s") + 1e6 * price("lambda_request")
    add(
        "Lambda compute, arm64 (GB-s)",
        gb_s_month * price("lambda_gb_s"),
        f"{_n(gb_s_month)} GB-s",
        "pipeline",
        free_usd=min(gb_s_month, 400_000) * price("lambda_gb_s"),
    )
    add(
        "Lambda requests",
        requests_month * price("lambda_request"),
        f"{_n(requests_month)}",
        "pipeline",
        free_usd=min(requests_month, 1e6) * price("lambda_request"),
    )
    put_list_month = (list_pages + puts) * EXECUTIONS_PER_MONTH
    add(
        "S3 PUT + LIST requests",
        put_list_month * price("s3_put"),
        _n(put_list_month),
        "pipeline",
    )
    gets_month = gets * EXECUTIONS_PER_MONTH
    add("S3 GET requests", gets_month * price("s3_get"), _n(gets_month), "pipeline")
    s3_gb = (a.raw_bytes_per_event * DAYS_PER_MONTH + a.staged_bytes_per_event * a.staged_days) * e / GB
    add(
        "S3 storage, Standard (a month of raw + staged)",
        s3_gb * price("s3_storage"),
        _gb(s3_gb),
        "storage",
    )
    access_log_gb = (put_list_month + gets_month) * a.s3_access_log_bytes / GB
    add(
        "S3 access logs + VPC flow logs",
        access_log_gb * price("s3_storage") + a.flow_log_gb * price("vended_logs_s3"),
        _gb(access_log_gb + a.flow_log_gb),
        "pipeline",
    )
    add(
        f"CloudWatch alarms ({a.alarm_metrics} alarm metrics)",
        a.alarm_metrics * price("cw_alarm_metric"),
        f"{a.alarm_metrics}",
        "fixed",
        free_usd=10 * price("cw_alarm_metric"),
    )
    metric_months = a.custom_metrics_always + a.custom_metrics_with_events * hours_with_events
    add(
        f"CloudWatch custom metrics ({a.custom_metrics_always + a.custom_metrics_with_events})",
        metric_months * price("cw_custom_metric"),
        f"{metric_months:,.2f} metric-months",
        "fixed",
        free_usd=min(metric_months, 10) * price("cw_custom_metric"),
    )
    health_metrics = HEALTH_METRICS_PER_EXECUTION * EXECUTIONS_PER_MONTH
    add(
        "CloudWatch GetMetricData, the health snapshot (8 metrics an execution)",
        health_metrics * price("cw_get_metric_data"),
        f"{_n(health_metrics)} metrics",
        "fixed",
    )
    logs_usd = log_gb * (price("cw_logs_ingest") + a.log_retention_months * price("cw_logs_storage"))
    add(
        "CloudWatch Logs, ingested + stored 30 days",
        logs_usd,
        f"{log_gb * 1000:,.0f} MB",
        "pipeline",
        free_usd=min(log_gb, 5) * (price("cw_logs_ingest") + price("cw_logs_storage")),
    )
    traces = 2 * EXECUTIONS_PER_MONTH  # one per execution, one per StartHour run
    add(
        "X-Ray traces",
        traces * price("xray_trace"),
        _n(traces),
        "fixed",
        free_usd=traces * price("xray_trace"),
    )
    add(f"Secrets Manager ({a.secrets} secrets)", a.secrets * price("secret"), f"{a.secrets}", "fixed")
    add("KMS customer managed key (alert topic)", price("kms_key"), "1 key", "fixed")
    add(
        "SNS e-mail alerts",
        a.alert_emails * price("sns_email"),
        f"~{a.alert_emails}",
        "fixed",
        free_usd=a.alert_emails * price("sns_email"),
    )
    add("EventBridge Scheduler", 0.0, f"{EXECUTIONS_PER_MONTH} invocations; 14 M free", "fixed")
    cross_gb = a.loaded_bytes_per_event * e * DAYS_PER_MONTH * a.cross_az_share / GB
    add(
        "Cross-AZ traffic, functions to PostgreSQL",
        cross_gb * 2 * price("cross_az"),
        _gb(cross_gb),
        "pipeline",
    )

    # -- the ingest API (and, with_storefront, the demo storefront)
    batches = e / a.events_per_request * DAYS_PER_MONTH
    if with_ingest:
        page_views = e * a.page_views_per_event * DAYS_PER_MONTH if with_storefront else 0.0
        page_requests = page_views * a.requests_per_page_view
        add(
            "CloudFront requests, event batches",
            batches * price("cloudfront_request"),
            _n(batches),
            "ingest",
            free_usd=min(batches, 10e6) * price("cloudfront_request"),
        )
        if with_storefront:
            add(
                "CloudFront requests, storefront pages",
                page_requests * price("cloudfront_request"),
                _n(page_requests),
                "ingest",
                free_usd=max(0.0, min(page_requests, 10e6 - batches)) * price("cloudfront_request"),
            )
        out_gb = (page_views * a.page_view_bytes + batches * a.response_bytes) / GB
        origin_gb = batches * a.request_bytes / GB
        transfer = out_gb * price("cloudfront_out") + origin_gb * price("cloudfront_origin")
        add(
            "CloudFront data transfer (out, and batches to origin)",
            transfer,
            _gb(out_gb + origin_gb),
            "ingest",
            free_usd=min(out_gb, 1000) * price("cloudfront_out"),
        )
        cf_requests = batches + page_requests
        add(
            "CloudFront standard logs in S3",
            min(cf_requests / 100, a.cloudfront_log_puts_cap) * price("s3_put")
            + cf_requests * a.cloudfront_log_bytes_per_request / GB * price("s3_storage"),
            "",
            "ingest",
        )
        add("API Gateway HTTP API requests", batches * price("http_api_request"), _n(batches), "ingest")
        if waf:
            add(
                f"WAF web ACL + {a.waf_rules} rules (-c ingest_waf=on)",
                price("waf_acl") + a.waf_rules * price("waf_rule"),
                "",
                "ingest",
            )
            add(
                "WAF requests inspected" + (" (batches + pages)" if with_storefront else ""),
                cf_requests * price("waf_request"),
                _n(cf_requests),
                "ingest",
            )
        ingest_gb_s = batches * a.ingest_s * MEMORY_MB["ingest"] / 1024
        add(
            f"Lambda ingest, arm64 {MEMORY_MB['ingest']} MB (requests + GB-s)",
            ingest_gb_s * price("lambda_gb_s") + batches * price("lambda_request"),
            f"{_n(ingest_gb_s)} GB-s",
            "ingest",
            # the free Lambda allowance is shared with the pipeline's functions
            free_usd=max(0.0, lambda_free - sum(x.free_usd for x in lines if x.name.startswith("Lambda"))),
        )
        record_bytes = math.ceil(a.events_per_request * a.raw_line_bytes / a.firehose_record_unit_bytes) * (
            a.firehose_record_unit_bytes
        )
        firehose_gb = batches * record_bytes / 2**30
        add(
            "Data Firehose, raw/ stream (records billed in 5 KB steps)",
            firehose_gb * price("firehose_gb"),
            f"{_gb(firehose_gb)} billed",
            "ingest",
        )
        stream_objects = objects_per_hour * 24 * DAYS_PER_MONTH
        add(
            "S3 PUT, raw/ objects Firehose writes (one a minute at most)",
            stream_objects * price("s3_put"),
            _n(stream_objects),
            "ingest",
        )
        if with_storefront:
            misses = min(
                page_requests, a.storefront_cache_misses_base + a.storefront_cache_miss_share * page_requests
            )
            add(
                "S3 GET, storefront files on CloudFront cache misses",
                misses * price("s3_get"),
                _n(misses),
                "ingest",
            )
            mau = e / a.events_per_signed_in_shopper
            add(
                "Cognito user pool, Lite (monthly active shoppers)",
                mau * price("cognito_lite_mau"),
                _n(mau),
                "ingest",
                free_usd=min(mau, 10_000) * price("cognito_lite_mau"),
            )
        add("SQS dead-letter queue (empty unless raw writes fail)", 0.0, "", "ingest")
        ingest_log_gb = batches * a.ingest_log_bytes / GB
        add(
            "CloudWatch: 2 alarms, 1 custom metric, ingest logs",
            2 * price("cw_alarm_metric")
            + hours_with_events * price("cw_custom_metric")
            + ingest_log_gb * (price("cw_logs_ingest") + price("cw_logs_storage")),
            _gb(ingest_log_gb),
            "ingest",
        )

    volumes = {
        "events_per_execution": events_per_execution,
        "objects_per_hour": objects_per_hour,
        "items_per_execution": float(items),
        "transitions_per_execution": float(transitions),
        "lambda_invocations_per_execution": float(invocations),
        "lambda_gb_s_per_execution": sum(gb_s.values()),
        **{f"lambda_gb_s_{k}": v for k, v in gb_s.items()},
        "s3_list_per_execution": float(list_pages),
        "s3_put_per_execution": puts,
        "s3_get_per_execution": gets,
        "db_gb_per_month": db_gb_month,
        "volume_gb": float(volume),
        "log_gb_per_month": log_gb,
        "requests_per_month": batches,
    }
    return Bill(events_per_day, lines, measured, volumes, notes)


# -- markdown ------------------------------------------------------------------

PROPOSAL_USD = 2.65
PROPOSAL_ASSUMED = (
    "one EC2 instance at 1.68 USD a month (730 h on a Compute Savings Plan), 6 GB in S3 with 1,000 "
    "PUTs and 1,000 GETs, 10,000 CloudFront and API requests, one Cognito user, Lambda inside the free tier"
)
AWS_SOLUTION_USD = (74.0, 242.0)
# The ingest of AWS's Clickstream Analytics solution at about that rate (issue 18's anchor).
AWS_SOLUTION_INGEST_USD = 132.0
# Plausible Analytics' cloud plan for small traffic (10k monthly pageviews), about this a month.
PLAUSIBLE_USD = 9.0
AWS_SOLUTION_REQUESTS_PER_S = 10
# 864,000 requests a day, ~8.6M events at the ~10 events a request our tracker sends
AWS_SOLUTION_EVENTS_PER_DAY = AWS_SOLUTION_REQUESTS_PER_S * 86_400 * 10


def events_label(events_per_day: int) -> str:
    for divisor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if events_per_day >= divisor and events_per_day % divisor == 0:
            return f"{events_per_day // divisor:,}{suffix}"
    return f"{events_per_day:,}"


def usd(value: float) -> str:
    return f"${value:,.2f}"


def render_table(bills: list[Bill], groups: tuple[str, ...] | None = None) -> str:
    """A markdown table: a column per bill, a row per line (of ``groups``, default all), the totals."""
    if not bills:
        raise ValueError("no bills to render")
    shown = [[line for line in b.lines if groups is None or line.group in groups] for b in bills]
    names: list[str] = []
    for lines in shown:
        names.extend(line.name for line in lines if line.name not in names)
    by_name = [{line.name: line for line in lines} for lines in shown]
    out = [
        "| Line | " + " | ".join(f"{events_label(b.events_per_day)} events/day" for b in bills) + " |",
        "|---|" + "---:|" * len(bills),
    ]
    for name in names:
        cells = []
        for lines_by_name in by_name:
            line = lines_by_name.get(name)
            if line is None:
                cells.append("-")
            else:
                cells.append(usd(line.usd) + (f" ({line.quantity})" if line.quantity else ""))
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = [sum(line.usd for line in lines) for lines in shown]
    free = [sum(line.usd - line.free_usd for line in lines) for lines in shown]
    out.append("| **Total** | " + " | ".join(f"**{usd(t)}**" for t in totals) + " |")
    out.append("| With the always-free tier | " + " | ".join(usd(f) for f in free) + " |")
    return "\n".join(out) + "\n"


def render_markdown(bills: list[Bill], anchors: bool = True) -> str:
    """``## AWS cost``: what was assumed, one table of ``render_table``, then the anchors."""
    if not bills:
        raise ValueError("no bills to render")
    measured = bills[0].measured
    out = [
        "## AWS cost",
        "",
        f"A month of the default stack (see docs/DEPLOY.md): {EXECUTIONS_PER_MONTH} hourly executions, "
        f"{HOURS_PER_MONTH} hours, us-east-1 on-demand list prices checked {PRICES_CHECKED}, no free tier. "
        f"Lambda time: {measured.source} ({measured.machine}); one core counted as one vCPU "
        f"(a function of M MB has M/{MB_PER_VCPU} of one). Produced by `clickstream cost` "
        "(`clickstream/tools/cost.py`, its assumptions are in docs/COST.md).",
        "",
        render_table(bills).rstrip("\n"),
    ]
    notes = sorted({note for b in bills for note in b.notes})
    if notes:
        out += ["", *[f"- Note: {note}." for note in notes]]
    if anchors:
        out += ["", *_anchors(bills)]
    return "\n".join(out) + "\n"


def _anchors(bills: list[Bill]) -> list[str]:
    smallest = min(bills, key=lambda b: b.events_per_day)
    fixed = smallest.group_total("fixed")
    instance = sum(line.usd for line in smallest.lines if line.name.startswith("EC2"))
    address = sum(line.usd for line in smallest.lines if line.name.startswith("Public IPv4"))
    out = [
        "How this compares:",
        "",
        f"- **The proposal** estimated about {usd(PROPOSAL_USD)} a month for a tiny shop, assuming "
        f"{PROPOSAL_ASSUMED}. At {events_label(smallest.events_per_day)} events a day this stack costs "
        f"{usd(smallest.total)}, {smallest.total / PROPOSAL_USD:.0f} times that, and nearly all of the "
        f"difference is fixed: {usd(fixed)} a month whatever the traffic, mostly the instance on demand "
        f"({usd(instance)}, against 1.68 USD on a savings plan) and the host's public IPv4 address "
        f"({usd(address)}) through which Session Manager reaches it, then a KMS key, two secrets, alarms "
        "and custom metrics, which the proposal has no line for. What grows with the events is "
        f"{usd(smallest.group_total('pipeline'))} at this volume.",
        f"- **Plausible Analytics** (hosted) starts at about {usd(PLAUSIBLE_USD)} a month for small "
        "traffic and grows with page views; this stack idles at about $15 with the ingest API "
        "(docs/COST.md), and keeps every raw event in the shop's own account.",
    ]
    low, high = AWS_SOLUTION_USD
    near = min(bills, key=lambda b: abs(math.log(b.events_per_day / AWS_SOLUTION_EVENTS_PER_DAY)))
    if 0.33 <= near.events_per_day / AWS_SOLUTION_EVENTS_PER_DAY <= 3:
        processing = near.group_total("fixed", "pipeline")
        larger = (price("ec2_t4g_large") - price(f"ec2_{Assumptions().instance.replace('.', '_')}")) * (
            HOURS_PER_MONTH
        )
        out.append(
            f"- **Clickstream Analytics on AWS** publishes about {usd(low)} to {usd(high)} a month for "
            f"processing and modelling alone at {AWS_SOLUTION_REQUESTS_PER_S} requests per second (about "
            f"{AWS_SOLUTION_EVENTS_PER_DAY / 1e6:.1f}M events a day at ~10 events a request), and about "
            f"{usd(AWS_SOLUTION_INGEST_USD)} for its ingest. At "
            f"{events_label(near.events_per_day)} events a day the pipeline, the instance and the fixed "
            f"lines here (everything but storage) come to {usd(processing)}, "
            f"{_against(processing, low, high)}. The default instance is too small for the dashboards' "
            f"queries over months of data at that volume; with a t4g.large (+{usd(larger)}) "
            f"it is {usd(processing + larger)}, {_against(processing + larger, low, high)}. Storage is "
            f"another {usd(near.group_total('storage'))} here, mostly a disk sized for a year of data "
            f"({near.volumes['volume_gb']:,.0f} GB; gp3 grows online, so a smaller start is possible), "
            "left out of the comparison above."
        )
    return out


def _against(value: float, low: float, high: float) -> str:
    if value < low:
        return f"below that range ({value / low:.0%} of its low end)"
    if value <= high:
        return "within that range"
    return f"above that range ({value / high:.1f} times its high end)"


PIPELINE_GROUPS = ("fixed", "pipeline", "storage")
DOC_VOLUMES = (10_000, 100_000, 1_000_000, 10_000_000)


def cost_md_tables(measured: Measured, volumes: tuple[int, ...] = DOC_VOLUMES) -> str:
    """docs/COST.md's tables: the whole stack (idle too), the anchors, the pipeline and warehouse,
    the ingest API (pages served elsewhere), and what the storefront and WAF options add."""
    bills = [estimate(n, measured, with_ingest=True) for n in volumes]
    idle = estimate(1, measured, with_ingest=True)
    header = (
        "| The whole stack | idle | " + " | ".join(f"{events_label(n)} events/day" for n in volumes) + " |"
    )
    rows = [
        ("Pipeline and warehouse (third table)", [b.group_total(*PIPELINE_GROUPS) for b in [idle, *bills]]),
        ("Ingest API, pages elsewhere (fourth table)", [b.group_total("ingest") for b in [idle, *bills]]),
    ]
    summary = [header, "|---|" + "---:|" * (len(bills) + 1)]
    summary += [f"| {name} | " + " | ".join(usd(v) for v in values) + " |" for name, values in rows]
    summary.append("| **Total** | " + " | ".join(f"**{usd(b.total)}**" for b in [idle, *bills]) + " |")
    summary.append(
        "| With the always-free tier | "
        + " | ".join(usd(b.total_with_free_tier) for b in [idle, *bills])
        + " |"
    )
    low, high = AWS_SOLUTION_USD
    ten_m = estimate(10_000_000, measured, with_ingest=True)
    anchors = [
        "| Anchor | A month | This stack |",
        "|---|---:|---:|",
        f"| The proposal, a tiny shop | {usd(PROPOSAL_USD)} | {usd(idle.total)} idle, "
        f"{usd(bills[0].total)} at {events_label(volumes[0])} events/day |",
        f"| Plausible Analytics, hosted, small traffic | about {usd(PLAUSIBLE_USD)} | "
        f"{usd(idle.total)} idle |",
        f"| Clickstream Analytics on AWS, ingest at ~10 requests/s | about {usd(AWS_SOLUTION_INGEST_USD)} | "
        f"{usd(ten_m.group_total('ingest'))} at 10M events/day |",
        f"| Clickstream Analytics on AWS, processing and modelling | {usd(low)} to {usd(high)} | "
        f"{usd(ten_m.group_total('fixed', 'pipeline'))} at 10M events/day (storage apart) |",
    ]
    options = []
    for label, storefront, waf in (
        ("The demo storefront's pages and shoppers (`--with-storefront`)", True, False),
        ("WAF web ACL (`-c ingest_waf=on`, `--waf`)", False, True),
    ):
        extra = [
            estimate(n, measured, with_storefront=storefront, waf=waf).total - b.total
            for n, b in zip(volumes, bills, strict=True)
        ]
        options.append(f"| {label} | " + " | ".join(f"+{usd(x)}" for x in extra) + " |")
    options = [
        "| Options, on top of the whole stack | "
        + " | ".join(f"{events_label(n)} events/day" for n in volumes)
        + " |",
        "|---|" + "---:|" * len(bills),
        *options,
    ]
    return "\n".join(
        [
            "\n".join(summary),
            "",
            "\n".join(anchors),
            "",
            render_table(bills, PIPELINE_GROUPS).rstrip("\n"),
            "",
            render_table(bills, ("ingest",)).rstrip("\n"),
            "",
            "\n".join(options),
            "",
        ]
    )


if __name__ == "__main__":  # python -m clickstream.tools.cost [RESULTS.json]: docs/COST.md's tables
    import sys

    _measured = (
        Measured.from_results(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
        if len(sys.argv) > 1
        else Measured.builtin()
    )
    print(cost_md_tables(_measured), end="")
