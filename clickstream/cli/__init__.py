"""The ``clickstream`` command line.

Each command lives in its own module under ``clickstream/cli/commands`` with two
functions: ``add_arguments(parser)`` and ``run(args) -> int``. The table below
is the whole registry: read it to find where a command is implemented.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("clickstream.cli.commands.generate", "generate realistic shop traffic into a raw lake"),
    "import": ("clickstream.cli.commands.import_real", "turn a real sample into contract events"),
    "schema": ("clickstream.cli.commands.schema", "export the event contract's JSON Schema"),
    "db": ("clickstream.cli.commands.db", "the warehouse: url, migrate"),
    "up": ("clickstream.cli.commands.up", "start the local stack (moto, PostgreSQL, scheduler)"),
    "run": ("clickstream.cli.commands.run", "run one hour through the state machine and wait"),
    "backfill": ("clickstream.cli.commands.backfill", "run a range of hours in order"),
    "executions": ("clickstream.cli.commands.executions", "list executions"),
    "execution": ("clickstream.cli.commands.execution", "show one execution: states, timings, errors"),
    "redrive": ("clickstream.cli.commands.redrive", "re-run failed hours (never a running one)"),
    "reprocess": ("clickstream.cli.commands.reprocess", "rebuild the warehouse from the raw lake"),
    "dlq": ("clickstream.cli.commands.dlq", "the ingest dead-letter queue: depth, replay into the lake"),
    "status": ("clickstream.cli.commands.status", "one screen: freshness, runs, waiting objects, rejects"),
    "rejects": ("clickstream.cli.commands.rejects", "rejected lines and quarantined objects: ls, show"),
    "lake": ("clickstream.cli.commands.lake", "the raw lake: put a checked NDJSON file into a partition"),
    "alerts": ("clickstream.cli.commands.alerts", "the local stack's alerts, as AWS would e-mail them"),
    "env": ("clickstream.cli.commands.env", 'shell exports for the local stack: eval "$(clickstream env)"'),
    "demo": ("clickstream.cli.commands.demo", "start the stack, load three days of traffic, serve"),
    "export": ("clickstream.cli.commands.export", "events and sessions of a date range as CSV or Parquet"),
    "cost": ("clickstream.cli.commands.cost", "the monthly AWS bill at N events a day, line by line"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clickstream", description="Hourly clickstream analytics on AWS Step Functions."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # not built yet: the command is simply not offered
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
