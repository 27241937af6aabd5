"""clickstream alerts [--follow] [--json]: the local stack's alerts, as AWS would e-mail them.

The local stack subscribes to its alert topic and appends every message to
``DIR/alerts.jsonl`` (``clickstream.local.alerts``); this command reads that
file, so it works whether or not the stack runs. On AWS the alerts go to the
``AlertEmail`` address instead (docs/DEPLOY.md).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from clickstream.cli.commands._common import add_data_dir
from clickstream.local.alerts import Alert, alerts_file, follow, read_alerts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--follow", "-f", action="store_true", help="then wait for new alerts (Ctrl-C stops)")
    parser.add_argument("--last", "-n", type=int, metavar="N", help="only the last N alerts")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    add_data_dir(parser)


def show(alert: Alert, as_json: bool) -> None:
    if as_json:
        print(json.dumps(asdict(alert)), flush=True)
        return
    print("-" * 72)
    print(alert.as_text(), flush=True)


def run(args: argparse.Namespace) -> int:
    path = alerts_file(args.data_dir)
    alerts = read_alerts(path)
    if args.last is not None:
        alerts = alerts[-args.last :] if args.last > 0 else []
    for alert in alerts:
        show(alert, args.json)
    if not args.follow:
        if not alerts and not args.json:
            print(f"no alerts in {path}")
        return 0
    if not args.json:
        print(f"waiting for alerts in {path} (Ctrl-C to stop) ...", flush=True)
    for alert in follow(path):
        show(alert, args.json)
    return 0
