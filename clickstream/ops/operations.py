"""The operator's view of the pipeline: start, wait for, list, explain and redrive executions.

Works the same against the local stack (moto's Step Functions) and AWS: it
only needs a Step Functions client and the state machine's ARN. Executions
are named after the hour they close (``hour-2025-10-18T13``); a redrive that
has to start anew, or a re-run asked for, gets a suffix (``hour-2025-10-18T13-r2``).

The rules every caller (the command line, the Reliability page's Redrive
button, the scheduler, StartHour on AWS) gets from here, refusing with
``Refused`` (or ``HourNotClosed``) before anything starts:

- an hour runs only once it has ended (``start``);
- ``redrive_hour``: an hour whose latest execution is RUNNING is refused (two
  executions of one hour at once); a SUCCEEDED hour is refused unless a re-run
  is asked for explicitly; an hour that never ran is refused (run it instead);
  a failed hour (FAILED, TIMED_OUT, ABORTED) is redriven.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from clickstream.core import lake as layout
from clickstream.core.errors import HourNotClosed

# What the failure branch added to the document; not part of the failed state's input proper.
RESUME_DROPPED = frozenset({"error", "notice", "failed_state", "resume_at", "notify_error"})
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


class Refused(Exception):
    """Asked for something that would do harm or makes no sense: nothing was started.

    The message says why and what to do instead.
    """


class HourRunning(Refused):
    """The hour's latest execution is still running."""


class HourSucceeded(Refused):
    """The hour's latest execution succeeded and no re-run was asked for."""


class HourNeverRan(Refused):
    """The hour has no execution: there is nothing to redrive."""


class NotLatest(Refused):
    """The named execution is not its hour's latest: a later one decides the hour."""


REFUSALS: tuple[type[Exception], ...] = (Refused, HourNotClosed)


def hour_of(name: str) -> str | None:
    """'hour-2025-10-14T12-r2' -> '2025-10-14T12'; None for a name outside the naming rule."""
    return name[5:18] if name.startswith("hour-") and len(name) >= 18 else None


def latest_by_hour(executions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest execution (by start) of each hour in a listing."""
    latest: dict[str, dict[str, Any]] = {}
    for row in executions:
        hour = hour_of(row["name"])
        if hour and (hour not in latest or row["startDate"] > latest[hour]["startDate"]):
            latest[hour] = row
    return latest


def lambda_error(cause: str | None) -> dict[str, Any] | None:
    """An execution's cause as the Lambda failure it reports ({errorType, errorMessage, stackTrace});
    None when it is not one (no cause, plain text, other JSON)."""
    if not cause:
        return None
    try:
        parsed = json.loads(cause)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and "errorMessage" in parsed else None


@dataclass
class StateRun:
    name: str
    entered: datetime
    exited: datetime | None = None
    attempts: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        return (self.exited - self.entered).total_seconds() if self.exited else None


@dataclass
class ExecutionReport:
    name: str
    arn: str
    status: str
    hour: str | None
    start: datetime
    stop: datetime | None
    error: str | None
    cause: str | None
    states: list[StateRun]
    output: dict[str, Any]

    @property
    def seconds(self) -> float | None:
        return (self.stop - self.start).total_seconds() if self.stop else None

    def counts(self) -> dict[str, Any]:
        upsert = self.output.get("upsert") or {}
        return {k: v for k, v in upsert.items() if isinstance(v, int)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "status": self.status,
            "hour": self.hour,
            "start": self.start.isoformat(),
            "stop": self.stop.isoformat() if self.stop else None,
            "seconds": self.seconds,
            "error": self.error,
            "cause": self.cause,
            "counts": self.counts(),
            "states": [
                {
                    "name": s.name,
                    "seconds": s.seconds,
                    "attempts": s.attempts,
                    "failures": s.failures,
                }
                for s in self.states
            ],
        }


class Operator:
    def __init__(self, sfn: Any, state_machine_arn: str, local: bool = True) -> None:
        self.sfn = sfn
        self.state_machine_arn = state_machine_arn
        self.local = local

    # -- starting and waiting ------------------------------------------------
    def execution_arn(self, name: str) -> str:
        prefix = self.state_machine_arn.replace(":stateMachine:", ":execution:")
        return f"{prefix}:{name}"

    def start(self, hour: datetime, name: str | None = None, options: dict[str, Any] | None = None) -> str:
        """Start the hour's execution; if one of that name exists already, return it (idempotent).

        HourNotClosed if the hour has not ended yet.
        """
        layout.require_closed(hour)
        name = name or layout.execution_name(hour)
        payload = {"hour": layout.hour_iso(hour), **(options or {})}
        try:
            return str(
                self.sfn.start_execution(
                    stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
                )["executionArn"]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            return self.execution_arn(name)

    def wait(self, arn: str, timeout_s: float = 3600, poll_s: float = 0.2) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            description: dict[str, Any] = self.sfn.describe_execution(executionArn=arn)
            if description["status"] in TERMINAL:
                return description
            if time.monotonic() > deadline:
                raise TimeoutError(f"{arn} still {description['status']} after {timeout_s:.0f} s")
            time.sleep(poll_s)

    def run(
        self, hour: datetime, name: str | None = None, options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.wait(self.start(hour, name, options))

    # -- looking -------------------------------------------------------------
    def list_executions(self, status: str | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"stateMachineArn": self.state_machine_arn}
        if status:
            kwargs["statusFilter"] = status.upper()
        rows: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("list_executions").paginate(**kwargs):
            rows.extend(page["executions"])
        rows.sort(key=lambda r: (r["name"], r["startDate"]))
        return rows

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            events.extend(page["events"])
        return events

    def report(self, name_or_arn: str) -> ExecutionReport:
        arn = name_or_arn if name_or_arn.startswith("arn:") else self.execution_arn(name_or_arn)
        try:
            description = self.sfn.describe_execution(executionArn=arn)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
                raise LookupError(f"no execution named {name_or_arn!r}") from exc
            raise
        states = states_from_history(self.history(arn))
        hour = json.loads(description.get("input") or "{}").get("hour")
        return ExecutionReport(
            name=description["name"],
            arn=arn,
            status=description["status"],
            hour=hour,
            start=description["startDate"],
            stop=description.get("stopDate"),
            error=description.get("error"),
            cause=description.get("cause"),
            states=states,
            output=json.loads(description.get("output") or "{}"),
        )

    # -- redriving ---------------------------------------------------------
    def redrive(self, name_or_arn: str) -> str:
        """Redrive one execution: RedriveExecution on AWS when it is redrivable, else anew.

        No rules here (``redrive_hour`` has them). Locally (moto has no
        RedriveExecution) the hour always runs again under a new name. Safe to
        repeat: the manifest makes a re-run change nothing.
        """
        report = self.report(name_or_arn)
        if report.hour is None:
            raise ValueError(f"{report.name} has no hour in its input; cannot redrive it")
        # RedriveExecution resumes only an execution that failed at AwaitRedrive; one that ended in
        # the Fail state (its alert could not be formatted, or it predates AwaitRedrive) would
        # re-enter it and fail again, so it is resumed (or run anew) under a new name instead.
        if not self.local and report.status == "FAILED" and self.last_state(report.arn) == "AwaitRedrive":
            try:
                self.sfn.redrive_execution(executionArn=report.arn)
                return report.arn
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in {"ExecutionNotRedrivable", "ExecutionLimitExceeded"}:
                    raise
        resume = self.resume_input(report.arn) if report.status == "FAILED" else None
        return self.start(layout.parse_hour(report.hour), self.next_redrive_name(report.hour), resume)

    def last_state(self, arn: str) -> str | None:
        """The state the execution entered last (where it stopped, for an ended one)."""
        entered = [e for e in self.history(arn) if e.get("stateEnteredEventDetails")]
        if not entered:
            return None
        return str(max(entered, key=lambda e: e["id"])["stateEnteredEventDetails"]["name"])

    def resume_input(self, arn: str) -> dict[str, Any] | None:
        """The input of a new execution that resumes a failed one where it failed, or None.

        The failed state is the one AwaitRedrive was waiting to resume (``$.failed_state``); the
        new execution starts there (the ASL's Start choice reads ``resume_at``) with the input
        that state had, read from the history, so the states that succeeded are not rerun and
        the run keeps its name (``$.run``: etl_runs, the staged batches). None when the
        execution did not fail through the failure branch (aborted, timed out, or older).
        """
        events = sorted(self.history(arn), key=lambda e: e["id"])
        entered = [e["stateEnteredEventDetails"] for e in events if e.get("stateEnteredEventDetails")]
        waiting = [d for d in entered if d.get("name") == "AwaitRedrive"]
        if not waiting:
            return None
        state = json.loads(waiting[-1].get("input") or "{}").get("failed_state")
        inputs = [d for d in entered if d.get("name") == state]
        if not state or not inputs:
            return None
        document = json.loads(inputs[-1].get("input") or "{}")
        if not isinstance(document, dict) or "run" not in document:
            return None
        kept = {k: v for k, v in document.items() if k not in RESUME_DROPPED and k != "hour"}
        return {**kept, "resume_at": state}

    def rerun(self, hour: datetime, since: datetime | None = None) -> str:
        """Run a closed hour again under the next -rN name; ``since`` widens its listing back to there.

        No rules here (callers check RUNNING first). The manifest skips what is committed already.
        """
        options = {"since": layout.hour_iso(since)} if since is not None else None
        return self.start(hour, self.next_redrive_name(layout.hour_iso(hour)), options)

    def redrive_hour(self, hour: datetime, rerun: bool = False, since: datetime | None = None) -> str:
        """Redrive the hour under the rules (module docstring); returns the ARN it started.

        ``rerun`` runs a SUCCEEDED hour again (listing back to ``since`` when given).
        """
        hour = layout.require_closed(hour)
        label = layout.hour_label(hour)
        latest = self.latest_for_hour(hour)
        if latest is None:
            raise HourNeverRan(
                f"hour {label} never ran: there is nothing to redrive. "
                f"Run it with: clickstream run --hour {label}"
            )
        name, status = latest["name"], latest["status"]
        if status == "RUNNING":
            raise HourRunning(
                f"hour {label} is running ({name}, started {_when(latest['startDate'])}): "
                f"a second execution of it now would run beside it. Wait for it: clickstream execution {name}"
            )
        if status == "SUCCEEDED":
            if not rerun:
                raise HourSucceeded(
                    f"hour {label} succeeded ({name}, {_when(latest.get('stopDate'))}): nothing to redrive. "
                    f"To run it again anyway: clickstream redrive --hour {label} --rerun"
                )
            return self.rerun(hour, since)
        return self.redrive(latest["executionArn"])

    def redrive_named(self, name_or_arn: str, rerun: bool = False, since: datetime | None = None) -> str:
        """``redrive --execution``: the execution must be its hour's latest; then ``redrive_hour``'s rules."""
        report = self.report(name_or_arn)
        if report.name.startswith("reprocess-"):
            raise Refused(
                f"{report.name} is a reprocess, not an hour: run the same clickstream reprocess command "
                "again (safe to repeat: it re-derives its partitions whole)"
            )
        if report.hour is None:
            raise Refused(f"{report.name} has no hour in its input; cannot redrive it")
        hour = layout.parse_hour(report.hour)
        latest = self.latest_for_hour(hour)
        if latest is not None and latest["name"] != report.name:
            label = layout.hour_label(hour)
            raise NotLatest(
                f"{report.name} is not the latest execution of hour {label}: {latest['name']} is "
                f"({latest['status']}). Redrive the hour instead: clickstream redrive --hour {label}"
            )
        return self.redrive_hour(hour, rerun=rerun, since=since)

    def next_redrive_name(self, hour: str) -> str:
        base = layout.execution_name(layout.parse_hour(hour))
        taken = {r["name"] for r in self.list_executions() if r["name"].startswith(base)}
        n = 2
        while f"{base}-r{n}" in taken:
            n += 1
        return f"{base}-r{n}"

    def hour_executions(self, hour: datetime) -> list[dict[str, Any]]:
        """Every execution of the hour (its own and its -rN re-runs), oldest first."""
        base = layout.execution_name(hour)
        rows = [r for r in self.list_executions() if r["name"] == base or r["name"].startswith(base + "-")]
        return sorted(rows, key=lambda r: r["startDate"])

    def latest_for_hour(self, hour: datetime) -> dict[str, Any] | None:
        rows = self.hour_executions(hour)
        return rows[-1] if rows else None

    def latest_executions(self, status: str | None = None) -> list[dict[str, Any]]:
        """The latest execution of each hour (optionally only those with ``status``), by hour."""
        latest = latest_by_hour(self.list_executions())
        rows = [latest[h] for h in sorted(latest)]
        return [r for r in rows if status is None or r["status"] == status.upper()]

    def catch_ups(self) -> list[dict[str, Any]]:
        """Hours catching up a backlog: their latest execution is a continuation (``-cN``) still
        running, or one whose ListNew left a backlog; with what its last listing left.

        Each: {"hour", "execution", "status", "executions" (so far), "left_objects", "left_bytes"}.
        """
        found = []
        for hour, latest in sorted(latest_by_hour(self.list_executions()).items()):
            name = latest["name"]
            if "-c" not in name[18:] and latest["status"] != "RUNNING":
                continue
            listed = self.last_listing(latest["executionArn"])
            if listed is None and "-c" not in name[18:]:
                continue  # a plain hour still before its ListNew: not known to be a catch-up
            listed = listed or {}
            if latest["status"] != "RUNNING" and not listed.get("truncated"):
                continue  # the chain ended: caught up
            found.append(
                {
                    "hour": hour,
                    "execution": name,
                    "status": latest["status"],
                    "executions": len(self.hour_executions(layout.parse_hour(hour))),
                    "left_objects": listed.get("left_objects"),
                    "left_bytes": listed.get("left_bytes"),
                }
            )
        return found

    def last_listing(self, arn: str) -> dict[str, Any] | None:
        """ListNew's result in the execution (from its history: also while it runs), or None."""
        for event in sorted(self.history(arn), key=lambda e: e["id"], reverse=True):
            exited = event.get("stateExitedEventDetails")
            if exited and exited.get("name") == "ListNew":
                output = json.loads(exited.get("output") or "{}")
                listed = output.get("list") if isinstance(output, dict) else None
                return listed if isinstance(listed, dict) else None
        return None

    def failed_hours(self) -> list[str]:
        """Hours whose latest execution failed (an hour redriven to success is not failed)."""
        latest = latest_by_hour(self.list_executions())
        return sorted(h for h, r in latest.items() if r["status"] in FAILED)


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else "-"


def states_from_history(events: list[dict[str, Any]]) -> list[StateRun]:
    """Per-state timings, attempts and failures, in the order states were entered.

    A state inside the Map runs once per item; its runs are folded into one
    row whose time is from its first entry to its last exit.
    """
    runs: dict[str, StateRun] = {}
    open_state: dict[int, str] = {}
    by_id = {e["id"]: e for e in events}
    for event in sorted(events, key=lambda e: e["id"]):
        kind = str(event["type"])
        when = event["timestamp"]
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if entered:
            name = entered["name"]
            run = runs.get(name)
            if run is None:
                runs[name] = run = StateRun(name=name, entered=when)
            open_state[event["id"]] = name
        elif exited:
            run = runs.get(exited["name"])
            if run is not None:
                run.exited = when if run.exited is None else max(run.exited, when)
        elif kind.endswith("Scheduled") or kind == "TaskSubmitted":
            name = _state_of(event, by_id, open_state)
            if name in runs:
                runs[name].attempts += 1
        elif kind.endswith("Failed") and kind not in {"ExecutionFailed", "MapStateFailed"}:
            name = _state_of(event, by_id, open_state)
            details: dict[str, Any] = {}
            for key, value in event.items():
                if key.endswith("EventDetails") and isinstance(value, dict):
                    details = value
            if name in runs and details.get("error"):
                runs[name].failures.append(str(details["error"]))
    return list(runs.values())


def _state_of(
    event: dict[str, Any], by_id: dict[int, dict[str, Any]], open_state: dict[int, str]
) -> str | None:
    """The state an event belongs to: follow previousEventId back to a StateEntered event."""
    current: dict[str, Any] | None = event
    for _ in range(100):
        if current is None:
            return None
        if current["id"] in open_state:
            return open_state[current["id"]]
        current = by_id.get(current.get("previousEventId", -1))
    return None
