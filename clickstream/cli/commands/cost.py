"""clickstream cost --events-per-day N [--results F] [--json] [--with-ingest] [--with-storefront] [--waf]."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from clickstream.ops.definition import ASL_PATH
from clickstream.tools import cost

REPO_ROOT = Path(__file__).resolve().parents[3]


def events(text: str) -> int:
    """10000, 10_000, 10k or 1M."""
    match = re.fullmatch(r"\s*(-?[\d_]+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a number of events: {text!r} (e.g. 100000, 100k, 1M)")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return round(float(match.group(1).replace("_", "")) * factor)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--events-per-day", type=events, required=True, metavar="N", help="events a day (100000, 100k, 1M)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="benchmark results with a cost_inputs object (default: the newest bench/results/*.json "
        "under the current directory or the repository, else the builtin figures)",
    )
    parser.add_argument("--json", action="store_true", help="the bill as JSON")
    parser.add_argument(
        "--with-ingest",
        action="store_true",
        help="add the event ingest (CloudFront, HTTP API, the ingest function, Firehose), pages elsewhere",
    )
    parser.add_argument(
        "--with-storefront",
        action="store_true",
        help="add the demo storefront's page traffic and signed-in shoppers (implies --with-ingest)",
    )
    parser.add_argument(
        "--waf",
        action="store_true",
        help="add the opt-in WAF web ACL (-c ingest_waf=on; implies --with-ingest)",
    )


def find_results() -> Path | None:
    """The newest bench/results/*.json from the current directory up, else in this repository."""
    cwd = Path.cwd()
    for root in (cwd, *cwd.parents, REPO_ROOT):
        found = cost.newest_results(root)
        if found is not None:
            return found
    return None


def error(message: str) -> int:
    print(f"clickstream cost: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if args.events_per_day <= 0:
        return error(f"--events-per-day must be a positive number of events, not {args.events_per_day}")
    path: Path | None = args.results or find_results()
    if path is None:
        measured = cost.Measured.builtin()
        origin = "builtin"
    else:
        try:
            measured = cost.Measured.from_results(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            return error(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}")
        except json.JSONDecodeError as exc:
            return error(f"{path} is not JSON: {exc}")
        except ValueError as exc:
            return error(f"{path}: {exc}")
        origin = str(path)
    bill = cost.estimate(
        args.events_per_day,
        measured,
        with_ingest=args.with_ingest,
        with_storefront=args.with_storefront,
        waf=args.waf,
    )
    if args.json:
        print(json.dumps({**bill.to_dict(), "compute_from": origin}, indent=2))
        return 0
    print(render_text(bill, origin))
    return 0


def render_text(bill: cost.Bill, origin: str) -> str:
    a = cost.Assumptions()
    v = bill.volumes
    rows = [(line.name, cost.usd(line.usd), line.quantity) for line in bill.lines]
    rows += [
        ("Total", cost.usd(bill.total), ""),
        ("With the always-free tier", cost.usd(bill.total_with_free_tier), ""),
    ]
    name_w = max(len(r[0]) for r in rows)
    usd_w = max(len(r[1]) for r in rows)
    out = [
        f"A month of AWS at {bill.events_per_day:,} events a day: us-east-1 on-demand list prices "
        f"(checked {cost.PRICES_CHECKED}), {cost.EXECUTIONS_PER_MONTH} executions, "
        f"{cost.HOURS_PER_MONTH} hours, no free tier",
        "",
    ]
    for i, (name, amount, quantity) in enumerate(rows):
        if i == len(bill.lines):
            out.append("-" * (name_w + 2 + usd_w))
        out.append(f"{name.ljust(name_w)}  {amount.rjust(usd_w)}  {quantity}".rstrip())
    out += [
        "",
        (
            f"Compute figures: {bill.measured.source} ({bill.measured.machine}); no bench/results/*.json."
            if origin == "builtin"
            else f"Compute figures: {origin} ({bill.measured.source}, on {bill.measured.machine})."
        ),
        f"Assumes ~{a.events_per_request:g} events per request, {v['objects_per_hour']:,.0f} raw objects an "
        f"hour (Firehose, one a minute at most), {a.raw_bytes_per_event:g} B of gzip per event,"
        f" {a.db_bytes_per_event / 1000:g} KB per event in PostgreSQL, the disk sized for "
        f"{a.volume_months} months ({v['volume_gb']:,.0f} GB).",
        f"Per execution: {v['items_per_execution']:,.0f} Map items, {v['transitions_per_execution']:,.0f} "
        f"transitions, {v['lambda_invocations_per_execution']:,.0f} Lambda invocations "
        f"(from {ASL_PATH.name}); Lambda time = measured s x {cost.MB_PER_VCPU}/MB of the function "
        f"+ {a.s3_request_s * 1000:g} ms per S3 request. Details: docs/COST.md.",
    ]
    out += [f"Note: {note}." for note in bill.notes]
    return "\n".join(out)
