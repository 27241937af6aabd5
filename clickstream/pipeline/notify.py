"""NotifySuccess / NotifyFailure: one SNS message per outcome.

The handler formats; the state machine publishes (``sns:publish`` task), so
the alert path does not depend on this function's permissions. A success
notice is published only when the share of rejected lines exceeds the
threshold; a failure is always published, with the exact command that
redrives the hour.

On AWS, NotifySuccess and NotifyFailure also take the pipeline's health
snapshot (clickstream/ops/health.py) for the dashboards, best effort: a
snapshot that fails is logged and counted (``HealthSnapshotFailed``), never
the notification's failure.
"""

from __future__ import annotations

import json
import re
from typing import Any

from clickstream.core.settings import Settings

SUBJECT_LIMIT = 100  # SNS subject limit


def _counts_lines(counts: dict[str, Any]) -> list[str]:
    keys = (
        "objects",
        "lines_read",
        "loaded",
        "duplicates",
        "rejected",
        "filtered",
        "quarantined",
        "sessions",
    )
    return [f"  {k:<12} {counts[k]:>12,}" for k in keys if isinstance(counts.get(k), int)]


def redrive_commands(hour: str, execution_arn: str | None, runtime: str) -> list[str]:
    """The commands that redrive the hour: ours everywhere, the AWS CLI's on AWS."""
    lines = [f"clickstream redrive --hour {hour[:13]}"]
    if runtime == "aws" and execution_arn:
        lines.append(f"aws stepfunctions redrive-execution --execution-arn {execution_arn}")
    return lines


def failed_state(history_events: list[dict[str, Any]]) -> str | None:
    """The state that failed: the last one entered before NotifyFailure (history oldest first).

    For a failure inside the Map this is the iteration's state (TransformPartition).
    """
    last: str | None = None
    for event in history_events:
        details = event.get("stateEnteredEventDetails")
        if not details:
            continue
        name = details.get("name")
        if name == "NotifyFailure":
            return last
        if not str(name).startswith("Caught"):  # the Catch's Pass state that names the failed one
            last = name
    return last


def _cause_text(cause: Any) -> str:
    """A Lambda error's cause is JSON ({errorType, errorMessage, ...}); show the message."""
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            return cause
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            return str(parsed["errorMessage"])
    return str(cause)


def _reprocess_failure(
    execution: str, execution_arn: str | None, name: str, cause: str, state: str | None, runtime: str
) -> dict[str, Any]:
    body = [
        f"The reprocess execution {execution} failed (clickstream reprocess, docs/BOTS.md).",
        "",
        f"  failed state {state or 'unknown'}",
        f"  error        {name}",
        f"  cause        {cause[:2000]}",
        "",
        "What it had not committed changed nothing. Once the cause is removed, run the same",
        "clickstream reprocess command again (safe to repeat: it re-derives its partitions whole)",
    ]
    if runtime == "aws" and execution_arn:
        body += [
            "or resume this execution:",
            "",
            f"  aws stepfunctions redrive-execution --execution-arn {execution_arn}",
        ]
    subject = f"Clickstream {execution} FAILED: {name}"[:SUBJECT_LIMIT]
    return {"publish": True, "subject": subject, "message": "\n".join(body), "state": state, "error": name}


def format_failure(
    hour: str,
    execution: str,
    execution_arn: str | None,
    error: dict[str, Any],
    state: str | None,
    runtime: str = "local",
) -> dict[str, Any]:
    name = str(error.get("Error", "Unknown"))
    cause = _cause_text(error.get("Cause", ""))
    if execution.startswith("reprocess-"):  # clickstream reprocess: not an hour of its own
        return _reprocess_failure(execution, execution_arn, name, cause, state, runtime)
    subject = f"Clickstream hour {hour[:13]} FAILED: {name}"[:SUBJECT_LIMIT]
    body = [
        f"The execution {execution} for hour {hour} failed.",
        "",
        f"  failed state {state or 'unknown'}",
        f"  error        {name}",
        f"  cause        {cause[:2000]}",
        "",
        "Nothing of this hour was committed past the failed state; the watermark did not move.",
        "Once the cause is removed, redrive the hour (safe to repeat):",
        "",
        *[f"  {c}" for c in redrive_commands(hour, execution_arn, runtime)],
    ]
    return {
        "publish": True,
        "subject": subject,
        "message": "\n".join(body),
        "state": state,
        "error": name,
    }


def format_success(
    hour: str, execution: str, counts: dict[str, Any], reject_alert_ratio: float
) -> dict[str, Any]:
    lines_read = int(counts.get("lines_read") or 0)
    rejected = int(counts.get("rejected") or 0)
    ratio = rejected / lines_read if lines_read else 0.0
    publish = lines_read > 0 and ratio > reject_alert_ratio
    subject = f"Clickstream hour {hour[:13]}: {ratio:.1%} of lines rejected"[:SUBJECT_LIMIT]
    body = [
        f"The execution {execution} for hour {hour} succeeded, but {rejected:,} of "
        f"{lines_read:,} lines ({ratio:.2%}) were rejected (threshold {reject_alert_ratio:.2%}).",
        "",
        *_counts_lines(counts),
        "",
        "Each rejected line is kept with its reason under rejects/ in the lake, in the",
        "partition of the raw object it came from.",
    ]
    return {"publish": publish, "subject": subject, "message": "\n".join(body), "reject_ratio": ratio}


class NotifySettings(Settings):
    """The shared settings plus the health snapshot's (environment: HEALTH_SNAPSHOT, ...)."""

    # Take the snapshot at the end of every execution (the stack sets it; off locally, where the
    # dashboards read moto's CloudWatch and SQS themselves).
    health_snapshot: bool = False
    # role=FunctionName,... of the functions whose error rates it reads: list_new, transform,
    # load and ingest (not notify itself: see HEALTH_METRICS_PER_EXECUTION in clickstream/tools/cost.py).
    lambda_functions: str = ""
    ingest_dlq_url: str = ""  # the ingest dead-letter queue whose depth it reads


class AwaitingRedrive(Exception):
    """Raised under the original error's name: the execution fails at AwaitRedrive with it."""


def original_error(error: dict[str, Any]) -> Exception:
    """An exception whose class name is the original error's and whose message is its cause.

    Lambda reports an uncaught exception's class name as ``errorType``, which Step
    Functions reports as the task's (and the execution's) error.
    """
    name = str(error.get("Error") or "Unknown")
    cls = type(name, (AwaitingRedrive,), {})
    return cls(_cause_text(error.get("Cause", "")) or name)


def await_redrive(state: str, recorded: int, now: int, error: dict[str, Any]) -> str:
    """AwaitRedrive: the state to resume at when the execution was redriven since the failure.

    ``recorded`` is the execution's redriveCount when the failure was caught,
    ``now`` what DescribeExecution says now. Unchanged: raise the original error,
    so the execution fails at this Task, which a Redrive reruns.
    """
    if now > recorded:
        return state
    raise original_error(error)


_CONTINUATION = re.compile(r"^(?P<base>hour-\d{4}-\d{2}-\d{2}T\d{2})(?:-r\d+)?(?:-c(?P<n>\d+))?$")


def continuation_name(execution: str, taken: int = 0) -> str:
    """``hour-H`` / ``hour-H-rN`` -> ``hour-H-c2``; ``hour-H-cN`` -> ``hour-H-cN+1`` (+ ``taken``)."""
    match = _CONTINUATION.match(execution)
    if match is None:
        return f"{execution}-c2"[:80]
    n = int(match.group("n") or 1)
    return f"{match.group('base')}-c{n + 1 + taken}"


def start_continuation(sfn: Any, execution_arn: str, execution: str, hour: str) -> tuple[str, str]:
    """StartContinuation: start the hour's next execution, which takes what this one's budget left.

    Its name is the next free ``hour-H-cN``; its input ``{"hour": H, "continuation": N}``. It lists
    from the watermark this execution just advanced (never past what it left), so nothing is
    skipped; the manifest makes anything taken twice a no-op.
    """
    machine = execution_arn.rsplit(":", 1)[0].replace(":execution:", ":stateMachine:")
    for taken in range(100):
        name = continuation_name(execution, taken)
        n = int(name.rsplit("-c", 1)[1])
        try:
            started = sfn.start_execution(
                stateMachineArn=machine, name=name, input=json.dumps({"hour": hour, "continuation": n})
            )
        except sfn.exceptions.ExecutionAlreadyExists:
            continue
        return name, str(started["executionArn"])
    raise RuntimeError(f"no free continuation name after {execution}")
