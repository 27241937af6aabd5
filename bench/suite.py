"""``make bench``: every measurement of the performance issue in one run, written down.

    python -m bench [--events 1000000] [--hours 24] [--skip NAME ...] [--no-write]

1. end to end: ``--events`` events over ``--hours`` hours through the local
   state machine (bench/e2e.py), events per second and each state's time;
2. references: DuckDB over the same raw files (bench/duckdb_reference.py),
   and the floor of a durable load (bench/floor.py: DuckDB parses, PostgreSQL
   COPYs into a table with fact_events' indexes, in the end-to-end run's
   database); our rate as a ratio of each; the CPU seconds per 1M events of
   each part of the stack, and the bytes a stored event takes;
3. incremental: the next hours with 1 and with 30 days of history
   (bench/incremental.py);
4. idle: executions of hours with no new data;
5. dashboards: every page's queries, p50 and p95, over 90 days at 50k events
   a day (bench/dashboards.py);
6. memory: the worker processes' peak resident memory.

Writes ``bench/results/<date>.json`` and the generated part of
``docs/PERFORMANCE.md`` (between its bench markers), including the monthly
AWS bill that ``clickstream cost`` computes from these figures. Prints each
step's progress and a summary table against the targets.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil

from bench import duckdb_reference, e2e, incremental

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
PERFORMANCE_MD = ROOT / "docs" / "PERFORMANCE.md"
STEPS = ("e2e", "reference", "incremental", "dashboards")
LAMBDA_STATES = (
    "ListNew",
    "TransformPartition",
    "CheckStagedBatches",
    "SessionizeAndUpsert",
    "AdvanceWatermark",
    "CheckBusinessDays",
    "NotifySuccess",
)

# name, results path, comparison, target, unit, what it means
TARGETS: tuple[tuple[str, tuple[str, ...], str, float, str], ...] = (
    ("End to end", ("end_to_end", "events_per_s"), ">=", 50_000, "events/s"),
    ("Incremental ratio, 30 days / 1 day of history", ("incremental", "ratio"), "<=", 1.3, "x"),
    ("Idle hour, start to end (p50)", ("idle", "seconds_p50"), "<", 1.5, "s"),
    ("Dashboards, worst page p95", ("dashboards", "p95_ms_max"), "<", 200, "ms"),
    ("Worker peak memory", ("memory", "peak_rss_mb_max"), "<", 512, "MiB"),
)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def dig(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def meets(value: float, comparison: str, target: float) -> bool:
    return {">=": value >= target, "<=": value <= target, "<": value < target}[comparison]


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, path, comparison, target, unit in TARGETS:
        value = dig(results, path)
        rows.append(
            {
                "measure": name,
                "target": f"{comparison} {target:,g} {unit}",
                "value": value,
                "unit": unit,
                "met": None if value is None else meets(float(value), comparison, target),
            }
        )
    return rows


def cost_inputs(results: dict[str, Any]) -> dict[str, Any] | None:
    """The compute figures ``clickstream cost`` turns into a bill (clickstream/tools/cost.py, Measured)."""
    run, quiet = results.get("end_to_end"), results.get("idle")
    if not run or not quiet:
        return None
    states = run["states"]
    cpu = run.get("cpu_seconds") or {}
    if "workers" in cpu and "postgres" in cpu:
        # CPU seconds, which a busy machine inflates far less than wall seconds: every worker's (the
        # transform's, and the load's client side), and PostgreSQL's, which the load function waits on.
        transform_s = cpu["workers"] / run["lines"]
        load_s = cpu["postgres"] / max(1, run["events_loaded"])
    else:  # results without the CPU split: the Map's and the load states' wall seconds
        workers = max(1, results["memory"]["workers"] - 1)  # the forkserver itself runs no handler
        transform_s = states.get("TransformPartitions", {}).get("seconds", 0.0) * workers / run["lines"]
        load_seconds = sum(states.get(s, {}).get("seconds", 0.0) for s in e2e.LOAD_STATES)
        load_s = load_seconds / max(1, run["events_loaded"])
    idle_states = {s: quiet["states_p50"].get(s, 0.0) for s in LAMBDA_STATES}
    info = results["machine"]
    return {
        "transform_s_per_event": transform_s,
        "load_s_per_event": load_s,
        "idle_s_per_state": idle_states,
        "machine": f"{info['cpu']}, {info['cores']} cores",
        "source": f"make bench, {results['date']}",
    }


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "arguments": {"events": args.events, "hours": args.hours, "skip": args.skip},
    }
    began = time.perf_counter()
    raw = None
    if "e2e" not in args.skip:
        print("== 1. end to end, 4. idle, 6. memory")
        measured, raw, _ = e2e.run(args.events, args.hours, args.seed, args.idle)
        results.update(measured)
        ours, floor_rate = results["end_to_end"]["events_per_s"], results["floor"]["events_per_s"]
        results["floor"]["ratio"] = round(ours / floor_rate, 3) if floor_rate else None
        print(f"   ours / floor of a durable load: {results['floor']['ratio']}")
    if "reference" not in args.skip:
        print("== 2. reference: DuckDB")
        if raw is None:
            raw, _, _ = e2e.traffic(args.events, args.hours, args.seed)
        results["reference"] = duckdb_reference.run(raw, repeat=3)
        if "end_to_end" in results:
            ours, theirs = results["end_to_end"]["events_per_s"], results["reference"]["events_per_s"]
            results["reference"]["ratio"] = round(ours / theirs, 3)
            results["reference"]["same_counts"] = (
                results["reference"]["events"] == results["end_to_end"]["events_loaded"]
                and results["reference"]["sessions"] == results["end_to_end"]["sessions"]
            )
            print(f"   ours / DuckDB: {ours / theirs:.2f}")
    if "incremental" not in args.skip:
        print("== 3. incremental")
        results["incremental"] = incremental.run(args.history_days, args.history_events_per_day)
    if "dashboards" not in args.skip:
        print("== 5. dashboards")
        dashboards = importlib.import_module("bench.dashboards")
        results["dashboards"] = dashboards.run(
            days=args.dashboard_days, events_per_day=args.dashboard_events_per_day, log=print
        )
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["cost_inputs"] = cost_inputs(results)
    results["targets"] = verdicts(results)
    return results


def write_results(results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{results['date']}.json"
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events end to end (default 1M)")
    parser.add_argument("--hours", type=int, default=24, help="hours they span (default 24)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--idle", type=int, default=5, help="empty hours to time (default 5)")
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--history-events-per-day", type=int, default=20_000)
    parser.add_argument("--dashboard-days", type=int, default=90)
    parser.add_argument("--dashboard-events-per-day", type=int, default=50_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=STEPS, help="steps to leave out")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results or docs")
    args = parser.parse_args(argv)
    results = run_all(args)
    print(summary(results))
    if not args.no_write:
        path = write_results(results)
        from bench import report

        report.update_performance_md(results, PERFORMANCE_MD)
        print(f"results: {path.relative_to(ROOT)}; table: {PERFORMANCE_MD.relative_to(ROOT)}")
    return 0


def summary(results: dict[str, Any]) -> str:
    lines = [f"{'measure':<48} {'target':>18} {'this run':>14}  verdict"]
    for row in results["targets"]:
        value = "-" if row["value"] is None else f"{row['value']:,.2f}".rstrip("0").rstrip(".")
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[row["met"]]
        lines.append(f"{row['measure']:<48} {row['target']:>18} {value + ' ' + row['unit']:>14}  {verdict}")
    return "\n".join(lines)
