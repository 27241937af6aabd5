"""clickstream generate: realistic shop traffic into a raw lake folder, with optional faults.

    clickstream generate --out .tmp/lake --days 3 --faults
    clickstream generate --out .tmp/lake --seed 7 --hours 6 --events-per-day 50000 --duplicate-rate 0.05

Writes DIR/raw/year=.../hour=HH/events-<uuid>.ndjson.gz (by receive hour, as
ingest does) and DIR/_generated.json (the exact counts; see
``clickstream.tools.generate.Truth``). The same arguments give byte-identical output.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from clickstream.core.lake import parse_hour
from clickstream.tools.generate import FAULT_MIX, TRUTH_FILE, GeneratorConfig, generate_to_dir

_RATES = {
    "duplicate_rate": "lines sent twice (same event_id), in the same or a later object/hour",
    "late_rate": "sessions received hours to days late (15%% of them beyond the 72 h limit)",
    "malformed_rate": "unreadable lines (bad JSON, cut off, not UTF-8, over 32 KiB); also per object: "
    "a corrupt gzip object or an extra empty one",
    "violation_rate": "lines that break the contract (a few are far-future ts, which are valid)",
    "pii_rate": "valid lines carrying an e-mail, phone or name",
}


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a rate is between 0 and 1, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to write raw/ and _generated.json into"
    )
    parser.add_argument("--seed", type=int, default=1, help="same seed and arguments, same bytes (default 1)")
    parser.add_argument(
        "--start",
        type=parse_hour,
        default=parse_hour("2025-10-13T00:00:00Z"),
        help="first hour, UTC (a Monday)",
    )
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--days", type=int, help="days of traffic (default 1)")
    span.add_argument("--hours", type=int, help="hours of traffic")
    parser.add_argument("--events-per-day", type=int, default=20_000, help="before faults (default 20000)")
    for name, help_text in _RATES.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=_rate, default=None, metavar="R", help=help_text
        )
    mix = ", ".join(f"{k.removesuffix('_rate')} {v}" for k, v in FAULT_MIX.items())
    parser.add_argument("--faults", action="store_true", help=f"turn on a sensible mix of faults ({mix})")
    parser.add_argument(
        "--crawler-rate",
        type=_rate,
        default=0.0,
        metavar="R",
        help="share of new visitors that are crawlers with real crawler user agents, filtered by the "
        "transform (docs/BOTS.md; default 0)",
    )
    parser.add_argument(
        "--no-list-impressions",
        dest="list_impressions",
        action="store_false",
        help="leave out the product lists' impression events and the list named on clicks (an older "
        "tracker's traffic; by default they are in, for the Products page's list CTR)",
    )


def config_from_args(args: argparse.Namespace) -> GeneratorConfig:
    hours = args.hours if args.hours is not None else 24 * (args.days if args.days is not None else 1)
    rates = {name: getattr(args, name) for name in _RATES}
    for name, value in rates.items():
        if value is None:
            rates[name] = FAULT_MIX[name] if args.faults else 0.0
    return GeneratorConfig(
        seed=args.seed,
        start=args.start,
        hours=hours,
        events_per_day=args.events_per_day,
        crawler_rate=getattr(args, "crawler_rate", 0.0) or 0.0,
        list_impressions=getattr(args, "list_impressions", True),
        **rates,
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out: Path = args.out
    if (out / "raw").exists() and any((out / "raw").iterdir()):
        print(f"{out / 'raw'} is not empty: generate into a new folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    truth = generate_to_dir(config, out)
    seconds = time.perf_counter() - began
    print(
        f"wrote {truth.lines_written:,} lines in {truth.objects_written:,} objects to {out / 'raw'} "
        f"in {seconds:.1f} s ({truth.lines_written / max(seconds, 1e-9):,.0f} lines/s)"
    )
    print(
        f"  unique valid events {truth.unique_valid_events:,}, duplicates {truth.duplicate_lines:,}, "
        f"rejects {truth.rejected_lines:,} "
        + str({k: v for k, v in truth.rejects.items() if v})
        + (f", pii lines {truth.pii_lines:,}" if truth.pii_lines else "")
        + (f", crawler lines (filtered) {truth.filtered_lines:,}" if truth.filtered_lines else "")
    )
    print(f"  truth: {out / TRUTH_FILE}")
    return 0
