"""clickstream rejects ls [--hour H | --execution NAME] | rejects show KEY: the lines the pipeline refused.

Every raw object with a rejected line has one rejects object beside its
partition, ``rejects/year=.../hour=HH/<name>.rejects.ndjson.gz``: one JSON
record per rejected line (reason, detail, line number, the line itself). A
corrupt gzip object is also copied whole, byte for byte, to
``<name>.quarantined.gz`` beside it. ``ls`` lists them from the warehouse's
record (reasons counted); ``show`` prints one from the lake. Exit 0, or 2
when the key is not there or the lake/warehouse cannot be reached.
"""

from __future__ import annotations

import argparse
import gzip
import json
import zlib
from typing import Any

from clickstream.cli.commands._common import (
    Sight,
    add_aws_target,
    add_data_dir,
    add_lake_target,
    fail,
    sight,
    table,
)
from clickstream.core import lake as layout
from clickstream.core.errors import StagedDataMissing
from clickstream.ops import inventory

LINE_SHOWN = 240  # characters of a rejected line printed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="rejects_command", required=True, metavar="SUBCOMMAND")
    ls = sub.add_parser("ls", help="rejects and quarantined objects, with their lines by reason")
    which = ls.add_mutually_exclusive_group()
    which.add_argument("--hour", help="only the raw partition of this hour, e.g. 2025-10-18T13")
    which.add_argument("--execution", help="only the objects this execution committed")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    show = sub.add_parser("show", help="print one rejects object: each rejected line and its reason")
    show.add_argument("key", help="a rejects or quarantined key (or s3:// URL or local file), or its raw key")
    show.add_argument("--limit", type=int, default=50, help="records printed (default 50; 0: all)")
    for p in (ls, show):
        add_data_dir(p)
        add_aws_target(p)
        add_lake_target(p)


def list_rejects(args: argparse.Namespace, see: Sight) -> int:
    if see.database_url is None:
        fail(f"rejects ls reads the warehouse's record: this needs {see.missing}")
    hour = None
    if args.hour:
        try:
            hour = layout.parse_hour(args.hour)
        except ValueError as exc:
            fail(f"--hour: {exc}")
    with see.fetch() as fetch:
        objects = inventory.reject_objects(fetch, first=hour, last=hour, execution=args.execution)
    if args.json:
        rows = [
            {
                "partition": layout.hour_label(o.partition_hour),
                "raw_key": o.raw_key,
                "execution": o.execution,
                "rejected": o.rejected,
                "reasons": o.reasons,
                "rejects_key": o.rejects_key,
                "quarantine_key": o.quarantine_key,
            }
            for o in objects
        ]
        print(json.dumps(rows, indent=2))
        return 0
    scope = f" in partition {args.hour}" if args.hour else f" of {args.execution}" if args.execution else ""
    if not objects:
        print(f"no rejected lines and no quarantined objects{scope}")
        return 0
    rows_out: list[list[Any]] = []
    for o in objects:
        rows_out.append(
            [layout.hour_label(o.partition_hour), o.rejected, inventory.counted(o.reasons), o.rejects_key]
        )
        if o.quarantine_key:
            rows_out.append(["", "", "quarantined copy", o.quarantine_key])
    print(table(rows_out, ["partition", "lines", "reasons", "key"]))
    lines = sum(o.rejected for o in objects)
    quarantined = sum(o.quarantined for o in objects)
    print()
    print(
        f"{lines:,} rejected lines in {len(objects)} object(s){scope}: "
        f"{inventory.counted(inventory.reasons_of(objects)) or 'none'}"
        + (f"; {quarantined} quarantined" if quarantined else "")
    )
    print("under " + "  (local files: ".join(see.where("rejects/")) + (")" if see.local_lake else ""))
    print("read one: clickstream rejects show KEY")
    return 0


def to_key(text: str, see: Sight) -> str:
    """A key from a key, an s3:// URL or a local file of the lake; a raw key becomes its rejects key."""
    key = text.strip()
    if key.startswith("s3://"):
        key = key[5:].split("/", 1)[1] if "/" in key[5:] else ""
    elif see.local_lake is not None and key.startswith(str(see.local_lake) + "/"):
        key = key[len(str(see.local_lake)) + 1 :]
    if key.startswith(layout.RAW):
        key = layout.rejects_key(key)
    return key


def show(args: argparse.Namespace, see: Sight) -> int:
    if see.lake is None:
        fail(f"rejects show reads the lake: this needs {see.missing}")
    key = to_key(args.key, see)
    if not key.startswith(layout.REJECTS):
        fail(f"{args.key}: not a rejects key (rejects/year=.../hour=HH/...): clickstream rejects ls")
    try:
        if key.endswith(".quarantined.gz"):
            body = see.lake.get_bytes(key)
            rejects = key.removesuffix(".quarantined.gz") + ".rejects.ndjson.gz"
            print(f"{key}: a quarantined copy, {len(body):,} bytes as received (a corrupt gzip object)")
            print(f"its raw object's rejects record: {rejects}\n")
            key = rejects
        data = see.lake.get_bytes(key)
    except StagedDataMissing:
        fail(f"no such object in the lake: {key}; clickstream rejects ls lists them")
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        fail(f"{key} is not a readable rejects object: {exc}")
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    print("\n".join(see.where(key)))
    shown = records if args.limit <= 0 else records[: args.limit]
    for record in shown:
        where = f"line {record['line_no']}" if record.get("line_no") is not None else "whole object"
        print(f"\n{where:<12} {record.get('reason')}: {record.get('detail')}")
        if record.get("line") is not None:
            line = str(record["line"])
            cut = len(line) > LINE_SHOWN or record.get("truncated")
            print(f"  {line[:LINE_SHOWN]}{' ...' if cut else ''}")
        if record.get("quarantine_key"):
            before = record.get("lines_before_corruption", 0)
            print(f"  quarantined copy: {record['quarantine_key']} ({before} lines before the corruption)")
    if len(records) > len(shown):
        print(f"\n... {len(records) - len(shown)} more (--limit 0 prints all)")
    reasons: dict[str, int] = {}
    for record in records:
        reason = str(record.get("reason"))
        weight = int(record.get("lines_before_corruption", 0)) if record.get("quarantine_key") else 1
        reasons[reason] = reasons.get(reason, 0) + weight
    print(f"\n{sum(reasons.values()):,} rejected lines: {inventory.counted(reasons)}")
    return 0


def run(args: argparse.Namespace) -> int:
    see = sight(args)
    if args.rejects_command == "ls":
        return list_rejects(args, see)
    return show(args, see)
