"""clickstream execution NAME [--json]: per-state timings, retries, errors and counts."""

from __future__ import annotations

import argparse
import json

from clickstream.cli.commands._common import (
    add_aws_target,
    add_data_dir,
    add_lake_target,
    cause_text,
    fail,
    operator,
    seconds,
    sight,
    table,
    value_text,
)
from clickstream.cli.commands._report import rejects_block
from clickstream.ops import inventory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="execution name (hour-YYYY-MM-DDTHH[-rN]) or ARN")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_data_dir(parser)
    add_aws_target(parser)
    add_lake_target(parser)


def run(args: argparse.Namespace) -> int:
    try:
        report = operator(args).report(args.name)
    except LookupError as exc:
        fail(str(exc))
    if args.json:
        out = report.as_dict()
        see = sight(args)
        if see.database_url is not None:
            with see.fetch() as fetch:
                out["rejects"] = [
                    {
                        "raw_key": o.raw_key,
                        "rejected": o.rejected,
                        "reasons": o.reasons,
                        "rejects_key": o.rejects_key,
                        "quarantine_key": o.quarantine_key,
                    }
                    for o in inventory.reject_objects(fetch, execution=report.name)
                ]
        print(json.dumps(out, indent=2, default=str))
        return 0
    print(f"{report.name}  {report.status}  hour {report.hour}  took {seconds(report.seconds)}")
    if report.error:
        print(f"error  {report.error}\ncause  {cause_text(report.cause)}")
    print()
    print(
        table(
            [
                [s.name, seconds(s.seconds), s.attempts or "", ", ".join(s.failures) or ""]
                for s in report.states
            ],
            ["state", "took", "attempts", "failed attempts"],
        )
    )
    counts = report.counts()
    if counts:
        print()
        print(table([[k, value_text(v)] for k, v in counts.items()], ["count", "value"]))
        rejects = rejects_block(sight(args), report.name, counts)
        if rejects:
            print()
            print("\n".join(rejects))
    return 0 if report.status in {"SUCCEEDED", "RUNNING"} else 1
