"""clickstream status [--json]: the pipeline on one screen.

Freshness and the watermark, the last executions, running and failed hours,
raw objects waiting (not processed yet, by partition, with who takes them),
quarantined objects, rejected lines by reason and where the rejects live.
Read-only; exit 0 (2 when the stack or the warehouse cannot be reached).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from clickstream.cli.commands._common import (
    Sight,
    add_aws_target,
    add_data_dir,
    add_lake_target,
    fail,
    operator,
    seconds,
    sight,
)
from clickstream.core import lake as layout
from clickstream.ops import inventory
from clickstream.ops.operations import Operator, hour_of

LAST_RUNS = 5
SHOWN = 6
STALE_AFTER = timedelta(hours=2)  # as the Reliability page: older data is "stale"
WHO = {
    inventory.OPEN: "open hour: its run takes them once it has ended",
    inventory.NEXT_RUN: "the next scheduled run takes them",
    inventory.LATE: "LATE: no scheduled run lists this partition again",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_data_dir(parser)
    add_aws_target(parser)
    add_lake_target(parser)


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} days {minutes % 1440 // 60} h"


def gather(op: Operator, see: Sight, now: datetime) -> dict[str, Any]:
    """Everything the screen shows, as plain values (the --json output)."""
    executions = op.list_executions()
    latest = op.latest_executions()
    failed = [r for r in latest if r["status"] in {"FAILED", "TIMED_OUT", "ABORTED"}]
    out: dict[str, Any] = {
        "now": now.isoformat(),
        "last_runs": [
            {
                "name": r["name"],
                "status": r["status"],
                "start": r["startDate"].isoformat(),
                "seconds": (r["stopDate"] - r["startDate"]).total_seconds() if r.get("stopDate") else None,
            }
            for r in sorted(executions, key=lambda r: r["startDate"], reverse=True)[:LAST_RUNS]
        ],
        "running": [r["name"] for r in latest if r["status"] == "RUNNING"],
        "catching_up": op.catch_ups(),
        "failed_hours": [],
        "missing": see.missing,
    }
    for row in failed:
        entry = {"hour": hour_of(row["name"]), "execution": row["name"], "status": row["status"]}
        if len(out["failed_hours"]) < SHOWN:
            entry["error"] = op.report(row["executionArn"]).error
        out["failed_hours"].append(entry)
    if see.database_url is None:
        return out
    with see.fetch() as fetch:
        mark = inventory.read_watermark(fetch)
        watermark = mark["watermark_hour"] if mark else None
        age = inventory.freshness(watermark, now)
        out["watermark"] = layout.hour_label(watermark) if watermark else None
        out["watermark_execution"] = mark["execution_name"] if mark else None
        out["freshness_seconds"] = age.total_seconds() if age is not None else None
        out["hours_behind"] = int(age.total_seconds() // 3600) if age is not None else None
        out["stale"] = age is None or age > STALE_AFTER
        if see.lake is not None:
            waiting = inventory.waiting(
                see.lake, fetch, watermark=watermark, lookback_hours=see.lookback_hours, now=now
            )
            out["waiting"] = {
                "objects": waiting.objects,
                "capped": waiting.capped,
                "take_late": waiting.take_command(),
                "partitions": [
                    {
                        "hour": p.label,
                        "objects": p.objects,
                        "bytes": p.size,
                        "taken_by": p.taken_by,
                        "keys": p.keys,
                    }
                    for p in waiting.partitions
                ],
            }
        objects = inventory.reject_objects(fetch)
        out["quarantined"] = [
            {"raw_key": o.raw_key, "quarantine_key": o.quarantine_key, "execution": o.execution}
            for o in objects
            if o.quarantined
        ]
        out["rejects"] = {
            reason: {"lines": lines, "objects": n}
            for reason, (lines, n) in inventory.rejects_by_reason(fetch).items()
        }
        out["reject_objects"] = len(objects)
    return out


def render(data: dict[str, Any], see: Sight, target: str) -> list[str]:
    now = datetime.fromisoformat(data["now"])
    lines = [f"clickstream status  {now:%Y-%m-%d %H:%M} UTC  {target}", ""]

    def section(title: str, rows: list[str]) -> None:
        for i, row in enumerate(rows or [""]):
            lines.append(f"{title if i == 0 else '':<13} {row}".rstrip())

    if "watermark" in data:
        if data["watermark"] is None:
            section("freshness", ["no data yet: no execution has committed anything"])
        else:
            tone = "STALE" if data["stale"] else "on time"
            section(
                "freshness",
                [
                    f"{_age(timedelta(seconds=data['freshness_seconds']))} ({tone}): watermark "
                    f"{data['watermark']} ({data['watermark_execution']}), "
                    f"{data['hours_behind']} closed hour(s) behind"
                ],
            )
    section(
        "last runs",
        [
            f"{r['name']:<26} {r['status']:<10} {r['start'][:19].replace('T', ' ')}  {seconds(r['seconds'])}"
            for r in data["last_runs"]
        ]
        or ["no executions yet"],
    )
    section("running", data["running"] or ["none"])
    if data.get("catching_up"):
        section(
            "catching up",
            [
                f"{c['hour']}  {c['execution']}  {c['status']}  execution {c['executions']} of the hour; "
                + (
                    f"{c['left_objects']:,} raw objects ({c['left_bytes'] / 2**20:,.1f} MiB) left after it"
                    if c["left_objects"] is not None
                    else "listing"
                )
                for c in data["catching_up"]
            ],
        )
    failed = data["failed_hours"]
    section(
        "failed hours",
        [f"{f['hour']}  {f['execution']}  {f['status']}  {f.get('error') or ''}" for f in failed[:SHOWN]]
        + ([f"... {len(failed) - SHOWN} more"] if len(failed) > SHOWN else [])
        + (["redrive them: clickstream redrive --all-failed"] if failed else [])
        or ["none"],
    )
    if data["missing"]:
        section("warehouse", [f"not seen: this needs {data['missing']}"])
    if "waiting" in data:
        waiting = data["waiting"]
        parts = waiting["partitions"]
        rows = [f"{p['hour']}  {p['objects']:>6,} object(s)  {WHO[p['taken_by']]}" for p in parts[:SHOWN]]
        if len(parts) > SHOWN:
            rows.append(f"... {len(parts) - SHOWN} more partitions (clickstream status --json)")
        if waiting["take_late"]:
            rows.append(f"take the late ones: {waiting['take_late']}")
        if waiting["capped"]:
            rows.append(f"(listing stopped at {inventory.LISTING_CAP:,} objects)")
        head = f"{waiting['objects']:,} raw object(s) not processed" if parts else "none"
        section("waiting", [head, *rows])
    if "quarantined" in data:
        quarantined = data["quarantined"]
        rows = [place for q in quarantined[:SHOWN] for place in see.where(q["quarantine_key"])]
        head = f"{len(quarantined)} corrupt gzip object(s), kept as received:" if quarantined else "none"
        section("quarantined", [head, *rows])
    if "rejects" in data:
        rejects = data["rejects"]
        if not rejects:
            section("rejects", ["none"])
        else:
            total = sum(r["lines"] for r in rejects.values())
            reasons = ", ".join(f"{k} {v['lines']:,}" for k, v in rejects.items())
            section(
                "rejects",
                [
                    f"{total:,} lines in {data['reject_objects']} object(s): {reasons}",
                    "one rejects object per raw object, by receive partition, under:",
                    *see.where("rejects/"),
                    "clickstream rejects ls [--hour H] | clickstream rejects show KEY",
                ],
            )
    return lines


def run(args: argparse.Namespace) -> int:
    op = operator(args)
    see = sight(args)
    arn = args.state_machine_arn
    target = f"state machine {arn}" if arn else f"local stack {args.data_dir}/"
    try:
        data = gather(op, see, datetime.now(UTC))
    except psycopg.Error as exc:
        fail(f"cannot read the warehouse: {exc}")
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    print("\n".join(render(data, see, target)))
    return 0
