"""What run, redrive and execution print after an execution: its counts and where its rejects went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clickstream.cli.commands._common import Sight, seconds, value_text
from clickstream.core import lake as layout
from clickstream.ops import inventory
from clickstream.ops.operations import ExecutionReport

SHOWN = 5  # objects named; the rest are counted


def outcome(report: ExecutionReport) -> str:
    """'SUCCEEDED hour-2025-10-18T13 in 3.1 s: objects 3, loaded 1,234, ..., replayed no'."""
    counts = ", ".join(f"{k} {value_text(v)}" for k, v in report.counts().items())
    return f"{report.status} {report.name} in {seconds(report.seconds)}" + (f": {counts}" if counts else "")


def rejects_block(sight: Sight, execution: str, counts: dict[str, Any]) -> list[str]:
    """Where the execution's rejected lines and quarantined copies are, by key (and local file)."""
    if not counts.get("rejected") and not counts.get("quarantined"):
        return []
    if sight.database_url is None:
        return [
            f"rejected {value_text(counts.get('rejected', 0))} lines, quarantined "
            f"{value_text(counts.get('quarantined', 0))} objects: under s3://<lake>/rejects/, "
            f"one object per raw object; to list them this command needs {sight.missing}"
        ]
    with sight.fetch() as fetch:
        objects = inventory.reject_objects(fetch, execution=execution)
    if not objects:
        return []
    lines = sum(o.rejected for o in objects)
    reasons = inventory.counted(inventory.reasons_of(objects))
    out = [f"rejected lines: {lines:,} in {len(objects)} object(s)" + (f" ({reasons})" if reasons else "")]
    for obj in objects[:SHOWN]:
        out.extend(labelled("rejects", sight.where(obj.rejects_key)))
        if obj.quarantine_key:
            out.extend(labelled("quarantined", sight.where(obj.quarantine_key)))
            out.append(f"{'':<15}(a corrupt gzip object: its bytes kept exactly as received)")
    if len(objects) > SHOWN:
        out.append(f"  ... and {len(objects) - SHOWN} more: clickstream rejects ls --execution {execution}")
    out.append("  read them:   clickstream rejects show KEY")
    return out


def labelled(label: str, places: list[str]) -> list[str]:
    """'  rejects      s3://...' then the local file under it."""
    return [f"  {label if i == 0 else '':<12} {place}" for i, place in enumerate(places)]


def waiting_block(waiting: inventory.Waiting, up_to: datetime, rerun_hint: bool = True) -> list[str]:
    """How many objects wait in partitions up to an hour, by partition, with the command that takes them."""
    if not waiting.partitions:
        return []
    label = layout.hour_label(up_to)
    out = [
        f"{waiting.objects:,} raw object(s) in partitions up to {label} are not processed "
        f"(arrived after the run, or outside its listing):"
    ]
    for part in waiting.partitions[:SHOWN]:
        out.append(f"  {part.label}  {part.objects:,} object(s)  ({part.taken_by})")
    if len(waiting.partitions) > SHOWN:
        out.append(f"  ... {len(waiting.partitions) - SHOWN} more partitions: clickstream status")
    if rerun_hint:
        out.append(f"take them with: clickstream run --hour {label} --rerun")
    return out
