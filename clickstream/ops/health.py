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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

NAMESPACE = "AWS/Lambda"
WINDOW = timedelta(hours=24)  # what the Reliability page shows: the last day, by the wall clock


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
