"""The pipeline's health beside its executions: Lambda error rate per function, ingest DLQ depth.

Both come from where AWS keeps them, read the same way on AWS and on the local stack:

- **Lambda error rate**: CloudWatch's ``AWS/Lambda`` ``Invocations`` and ``Errors`` (Sum) per
  ``FunctionName`` over a window. On AWS, Lambda publishes them; locally the runtime publishes
  the same two metrics to moto's CloudWatch for every invocation it dispatches to a worker
  (``publish_invocation``, clickstream/local/runtime.py), an error being an invocation that
  ended with a function error (an uncaught exception, a timeout, running out of memory), as
  Lambda counts them. A retried attempt is an invocation of its own.
- **Ingest DLQ depth**: the dead-letter queue's ``ApproximateNumberOfMessages`` (waiting) and
  ``...NotVisible`` (being replayed), from SQS (moto's locally): batches that ingest could not
  hand to Firehose; ``clickstream dlq replay`` puts them into the lake.

Where they are read differs. Locally the dashboards call moto's CloudWatch and SQS directly.
On AWS the dashboards run on the warehouse host, whose only way to AWS services inside the VPC
is the S3 gateway endpoint: so the notify function (outside the VPC), at the end of every
execution, takes a **snapshot** of both (``take_snapshot``) and writes it to the lake at
``ops/health.json`` (``clickstream.core.lake.HEALTH_SNAPSHOT``, a key no execution lists);
the dashboards read that object and show it with the time it was taken, as stale after
``STALE_AFTER``. A snapshot that could not read one of the two says why in ``problems``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from clickstream.core import lake as layout
from clickstream.core.errors import StagedDataMissing
from clickstream.core.storage import Lake

NAMESPACE = "AWS/Lambda"
WINDOW = timedelta(hours=24)  # what the Reliability page shows: the last day, by the wall clock
# The functions in the order the page lists them (roles not named here come after, as given).
ROLES = ("list_new", "transform", "load", "notify", "ingest")
# A snapshot is taken at the end of every hourly execution: one older than two hours means
# executions are not ending (or notify cannot write it), and the page says so.
STALE_AFTER = timedelta(hours=2)
SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class FunctionErrors:
    function: str  # the function's role: list_new, transform, load, notify, ingest
    invocations: int
    errors: int

    @property
    def error_rate(self) -> float | None:
        """errors / invocations (None with no invocation)."""
        return self.errors / self.invocations if self.invocations else None


def _metric(name: str, function_name: str, period: int) -> dict[str, Any]:
    return {
        "Metric": {
            "Namespace": NAMESPACE,
            "MetricName": name,
            "Dimensions": [{"Name": "FunctionName", "Value": function_name}],
        },
        "Period": period,
        "Stat": "Sum",
    }


def lambda_errors(
    cloudwatch: Any, functions: Mapping[str, str], start: datetime, end: datetime
) -> list[FunctionErrors]:
    """Invocations and errors of each function (role -> deployed FunctionName) from start to end."""
    period = max(60, math.ceil((end - start).total_seconds() / 60) * 60)  # one datapoint: the window
    queries = []
    roles = list(functions)
    for index, role in enumerate(roles):
        for prefix, metric in (("i", "Invocations"), ("e", "Errors")):
            queries.append({"Id": f"{prefix}{index}", "MetricStat": _metric(metric, functions[role], period)})
    sums: dict[str, float] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        if token:
            kwargs["NextToken"] = token
        response = cloudwatch.get_metric_data(**kwargs)
        for result in response["MetricDataResults"]:
            sums[result["Id"]] = sums.get(result["Id"], 0.0) + sum(result.get("Values", []))
        token = response.get("NextToken")
        if not token:
            break
    return [
        FunctionErrors(role, int(sums.get(f"i{index}", 0)), int(sums.get(f"e{index}", 0)))
        for index, role in enumerate(roles)
    ]


def publish_invocation(cloudwatch: Any, function_name: str, failed: bool, when: datetime) -> None:
    """What Lambda publishes for one invocation (the local runtime's stand-in)."""
    dimensions = [{"Name": "FunctionName", "Value": function_name}]
    data = [
        {"MetricName": metric, "Dimensions": dimensions, "Value": value, "Timestamp": when, "Unit": "Count"}
        for metric, value in (("Invocations", 1), ("Errors", int(failed)))
    ]
    cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)


@dataclass(frozen=True)
class QueueDepth:
    waiting: int  # ApproximateNumberOfMessages
    in_flight: int  # ApproximateNumberOfMessagesNotVisible


def queue_depth(sqs: Any, queue_url: str) -> QueueDepth:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return QueueDepth(
        int(attributes.get("ApproximateNumberOfMessages", 0)),
        int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


def parse_functions(text: str) -> dict[str, str]:
    """``list_new=Name1,transform=Name2,...`` (the dashboards' LAMBDA_FUNCTIONS) -> {role: name}."""
    found = {}
    for part in text.split(","):
        if part.strip():
            role, sep, name = part.partition("=")
            if not sep or not role.strip() or not name.strip():
                raise ValueError(f"LAMBDA_FUNCTIONS: {part.strip()!r} is not role=FunctionName")
            found[role.strip()] = name.strip()
    return found


def ordered(functions: Mapping[str, str]) -> dict[str, str]:
    """The functions in ``ROLES`` order, other roles after them in the order given."""
    rank = {role: index for index, role in enumerate(ROLES)}
    return dict(sorted(functions.items(), key=lambda item: rank.get(item[0], len(ROLES))))


# ----------------------------------------------------------------------------- the snapshot


@dataclass(frozen=True)
class Snapshot:
    """Both readings as of ``taken_at``; None for what could not be read, and why in ``problems``."""

    taken_at: datetime
    errors: list[FunctionErrors] | None
    depth: QueueDepth | None
    problems: tuple[str, ...] = field(default=())

    def age(self, now: datetime) -> timedelta:
        return now - self.taken_at

    def stale(self, now: datetime) -> bool:
        return self.age(now) > STALE_AFTER

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "taken_at": self.taken_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "window_hours": int(WINDOW.total_seconds() // 3600),
            "lambda_errors": None
            if self.errors is None
            else [
                {"function": e.function, "invocations": e.invocations, "errors": e.errors}
                for e in self.errors
            ],
            "dlq": None
            if self.depth is None
            else {"waiting": self.depth.waiting, "in_flight": self.depth.in_flight},
            "problems": list(self.problems),
        }

    @classmethod
    def from_json(cls, value: Any) -> Snapshot:
        """The snapshot ``to_json`` wrote; ValueError for anything else."""
        try:
            if value["version"] != SNAPSHOT_VERSION:
                raise ValueError(f"snapshot version {value['version']!r}, expected {SNAPSHOT_VERSION}")
            taken_at = datetime.fromisoformat(str(value["taken_at"]).replace("Z", "+00:00"))
            if taken_at.tzinfo is None:
                raise ValueError("taken_at has no time zone")
            errors = value["lambda_errors"]
            depth = value["dlq"]
            return cls(
                taken_at.astimezone(UTC),
                None
                if errors is None
                else [
                    FunctionErrors(str(e["function"]), int(e["invocations"]), int(e["errors"]))
                    for e in errors
                ],
                None if depth is None else QueueDepth(int(depth["waiting"]), int(depth["in_flight"])),
                tuple(str(p) for p in value.get("problems") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a health snapshot: {exc!r}") from exc


def take_snapshot(
    cloudwatch: Any, sqs: Any, functions: Mapping[str, str], dlq_url: str | None, now: datetime
) -> Snapshot:
    """Lambda errors over the ``WINDOW`` before ``now`` (of ``functions``, role -> FunctionName, in
    the order given) and the DLQ's depth; a failed read is a problem. The Reliability page reads
    them the same way when it can reach CloudWatch and SQS itself."""
    problems: list[str] = []
    errors: list[FunctionErrors] | None = None
    depth: QueueDepth | None = None
    if functions:
        try:
            errors = lambda_errors(cloudwatch, functions, now - WINDOW, now)
        except (BotoCoreError, ClientError) as exc:
            problems.append(f"CloudWatch: {exc}")
    else:
        problems.append("set LAMBDA_FUNCTIONS (role=FunctionName,...) to see the Lambda error rates")
    if dlq_url:
        try:
            depth = queue_depth(sqs, dlq_url)
        except (BotoCoreError, ClientError) as exc:
            problems.append(f"SQS: {exc}")
    else:
        problems.append("set INGEST_DLQ_URL to see the dead-letter queue's depth")
    return Snapshot(now.astimezone(UTC), errors, depth, tuple(problems))


def write_snapshot(lake: Lake, snapshot: Snapshot) -> None:
    lake.put_json(layout.HEALTH_SNAPSHOT, snapshot.to_json())


def read_snapshot(lake: Lake) -> Snapshot | None:
    """The latest snapshot; None when none was written yet. Storage errors and ValueError pass on."""
    try:
        return Snapshot.from_json(lake.get_json(layout.HEALTH_SNAPSHOT))
    except StagedDataMissing:
        return None
