"""The generated part of docs/PERFORMANCE.md: the latest ``make bench`` results as tables beside the targets.

The file's own prose stays as written; only the text between the bench
markers is replaced (the markers are added at the end when missing).
``python -m bench report [RESULTS.json]`` rewrites it from a results file
(default: the newest in bench/results/).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from clickstream.tools import cost

BEGIN, END = "<!-- bench:begin (written by make bench) -->", "<!-- bench:end -->"
COST_AT = (10_000, 100_000, 1_000_000, 10_000_000)


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    return f"{round(value):,}"


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def targets(results: dict[str, Any]) -> list[str]:
    rows = []
    for row in results["targets"]:
        value = row["value"]
        shown = "-" if value is None else (f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
        verdict = {True: "met", False: "**not met**", None: "not measured"}[row["met"]]
        rows.append([row["measure"], row["target"], f"{shown} {row['unit']}", verdict])
    return _table(["Measure", "Target", "This run", "Verdict"], rows, right_from=1)


def end_to_end(results: dict[str, Any]) -> list[str]:
    run = results.get("end_to_end")
    if not run:
        return []
    out = [
        "### 1. End to end",
        "",
        f"{run['lines']:,} lines ({run['objects']:,} raw objects; {run['duplicates']:,} duplicates, "
        f"{run['rejected']:,} rejected) in one execution of the state machine "
        f"({run['map_items']} Map items): "
        f"**{run['seconds']:.1f} s, {run['events_per_s']:,} events/s**. The warehouse then holds "
        f"{run['events_loaded']:,} events in {run['sessions']:,} sessions.",
        "",
    ]
    rows = []
    for name, state in run["states"].items():
        if state["seconds"] < 0.005 and name not in ("AdvanceWatermark", "NotifySuccess"):
            continue
        share = 100 * state["seconds"] / run["seconds"]
        rows.append([name, f"{state['seconds']:.2f}", f"{share:.0f} %", _n(state["events_per_s"])])
    out += _table(["State", "Seconds", "Share", "Events/s"], rows)
    out.append(
        "TransformPartition is the Map's task: its time runs from the first item's start to the last "
        "item's end, so it is the Map's time."
    )
    out.append("")
    out += cpu_split(results)
    return out


CPU_PARTS = (
    ("workers", "Handler workers (transform, load's client side, list, notify)"),
    ("postgres", "PostgreSQL (every backend)"),
    ("moto_and_step_functions", "moto: S3 and the Step Functions engine"),
)


def cpu_split(results: dict[str, Any]) -> list[str]:
    """CPU seconds per 1M lines of each part of the stack in the end-to-end run."""
    run = results.get("end_to_end") or {}
    per_1m = run.get("cpu_seconds_per_1m_events")
    if not per_1m:
        return []
    rows = [
        [label, f"{run['cpu_seconds'].get(key, 0.0):.1f}", f"{per_1m.get(key, 0.0):.1f}"]
        for key, label in CPU_PARTS
        if key in per_1m
    ]
    total = sum(per_1m.values())
    rows.append(["**All**", f"{sum(run['cpu_seconds'].values()):.1f}", f"**{total:.1f}**"])
    cores = results.get("machine", {}).get("cores") or 1
    load = run.get("load_avg_after")
    shown_load = f" (load average after the run: {', '.join(f'{x:.2f}' for x in load)})" if load else ""
    return [
        f"CPU seconds of each part of the stack during the execution{shown_load}. On {cores} cores "
        f"the run cannot take less than {total / cores:.1f} s per 1M lines, however well the parts overlap.",
        "",
        *_table(["Part", "CPU seconds", "per 1M lines"], rows),
    ]


def floor(results: dict[str, Any]) -> list[str]:
    ref = results.get("floor")
    if not ref:
        return []
    cpu = ref.get("cpu_seconds", {})
    out = [
        "### 2b. Reference: the floor of a durable load",
        "",
        f"{ref['engine']}: DuckDB parses the same {ref['lines']:,} lines, applies the 72-hour rule, "
        f"dedupes and flattens them to fact_events' columns ({ref['parse_seconds']:.2f} s, "
        f"{cpu.get('duckdb', 0.0):.1f} CPU-s), and the {ref['events']:,} events are COPYed into a table "
        "with fact_events' indexes in the same PostgreSQL, then checkpointed "
        f"({ref['copy_seconds']:.2f} s, {cpu.get('postgres', 0.0):.1f} CPU-s of PostgreSQL): "
        f"**{ref['seconds']:.2f} s, {ref['events_per_s']:,} events/s**, "
        f"{ref['bytes_per_event']:,} bytes a stored event.",
    ]
    if ref.get("ratio") is not None:
        out.append(f"Our end-to-end rate is **{ref['ratio']:.2f}x** this floor's.")
    ours = (results.get("end_to_end") or {}).get("cpu_seconds_per_1m_events")
    if ours and cpu and ref.get("lines"):
        floor_per_1m = sum(cpu.values()) * 1e6 / ref["lines"]
        out.append(
            f"In CPU seconds per 1M lines, steadier than seconds on a shared machine: the floor "
            f"{floor_per_1m:.1f}, our run {sum(ours.values()):.1f} "
            f"(**{sum(ours.values()) / floor_per_1m:.1f}x** the floor's)."
        )
    return [*out, ""]


def storage(results: dict[str, Any]) -> list[str]:
    stored = results.get("storage")
    if not stored:
        return []
    tables = stored["tables"]
    events = stored["events"] or 1
    ranked = sorted(tables, key=lambda name: -(tables[name]["table_bytes"] + tables[name]["index_bytes"]))
    rows = [
        [
            name,
            f"{tables[name]['table_bytes'] / 2**20:,.1f}",
            f"{tables[name]['index_bytes'] / 2**20:,.1f}",
            f"{(tables[name]['table_bytes'] + tables[name]['index_bytes']) / events:,.1f}",
        ]
        for name in ranked
        if tables[name]["table_bytes"] + tables[name]["index_bytes"] >= 2**20
    ]
    return [
        "### 1b. Bytes per stored event",
        "",
        f"After the end-to-end load the warehouse's tables and indexes take "
        f"{stored['bytes'] / 2**20:,.0f} MiB: **{stored['bytes_per_event']:,} bytes a stored event** "
        f"({stored['fact_events_bytes_per_event']:,} of them fact_events' table and indexes). Tables "
        "of 1 MiB or more:",
        "",
        *_table(["Table", "Table MiB", "Indexes MiB", "Bytes per event"], rows),
    ]


def reference(results: dict[str, Any]) -> list[str]:
    ref = results.get("reference")
    if not ref:
        return []
    out = [
        "### 2. Reference: DuckDB",
        "",
        f"{ref['engine']} ({ref['threads']} threads) reads the same {ref['lines']:,} lines, dedupes and "
        f"sessionizes them in one query: **{ref['seconds']:.2f} s, {ref['events_per_s']:,} events/s**"
        + (f" ({ref['cpu_seconds']:.1f} CPU-s)." if ref.get("cpu_seconds") is not None else "."),
    ]
    if "ratio" in ref:
        same = "the same" if ref.get("same_counts") else "**different**"
        out.append(
            f"Our end-to-end rate is **{ref['ratio']:.2f}x** DuckDB's. Its result has {same} counts as "
            f"the warehouse: {ref['events']:,} events in {ref['sessions']:,} sessions."
        )
    return [*out, ""]


def incremental(results: dict[str, Any]) -> list[str]:
    inc = results.get("incremental")
    if not inc:
        return []
    rows = []
    for label, key in (("1 day", "one_day"), (f"{inc['history_days']} days", "history")):
        part = inc[key]
        rows.append(
            [
                label,
                _n(part["history_events"]),
                _n(part["history_sessions"]),
                f"{part['seconds_p50']:.2f}",
                f"{part['load_seconds_p50']:.2f}",
            ]
        )
    load_ratio = inc.get("load_ratio")
    shown = f"{load_ratio:.2f}" if load_ratio is not None else "-"
    return [
        "### 3. Incremental",
        "",
        f"The next {len(inc['history']['hours'])} hours of traffic at {inc['events_per_day']:,} "
        "events a day, "
        "one execution each (p50), on a warehouse holding 1 day and one holding "
        f"{inc['history_days']} days of history: ratio **{inc['ratio']:.2f}** "
        f"(CheckStagedBatches + SessionizeAndUpsert alone: {shown}).",
        "",
        *_table(
            ["History", "Events", "Sessions", "Next hour, s", "CheckStagedBatches + SessionizeAndUpsert, s"],
            rows,
        ),
    ]


def idle(results: dict[str, Any]) -> list[str]:
    quiet = results.get("idle")
    if not quiet:
        return []
    states = ", ".join(f"{name} {secs:.2f} s" for name, secs in quiet["states_p50"].items() if secs >= 0.005)
    return [
        "### 4. Idle hour",
        "",
        f"{quiet['runs']} executions of hours with no new data: **{quiet['seconds_p50']:.2f} s** p50 "
        f"(max {quiet['seconds_max']:.2f} s) from start to end; {states}.",
        "",
    ]


def dashboards(results: dict[str, Any]) -> list[str]:
    dash = results.get("dashboards")
    if not dash:
        return []
    ranges = dash["ranges"]
    names = list(ranges)
    header = ["Page"] + [f"{r} p50 / p95 ms" for r in names]
    pages = list(next(iter(ranges.values()))["pages"])
    rows = [
        [page]
        + [
            f"{ranges[r]['pages'][page]['p50_ms']:.0f} / {ranges[r]['pages'][page]['p95_ms']:.0f}"
            for r in names
        ]
        for page in pages
    ]
    return [
        "### 5. Dashboards",
        "",
        f"{dash['days']} days at {dash['events_per_day']:,} events a day ({_n(dash.get('events'))} events, "
        f"{_n(dash.get('sessions'))} sessions): each page's queries for one render, in sequence as the page "
        "issues them. Worst page p95: **" + f"{dash['p95_ms_max']:.0f} ms**.",
        "",
        *_table(header, rows),
    ]


def memory(results: dict[str, Any]) -> list[str]:
    mem = results.get("memory")
    if not mem:
        return []
    peaks = ", ".join(f"{mb:.0f}" for mb in sorted(mem["peak_rss_mb"].values(), reverse=True))
    return [
        "### 6. Memory",
        "",
        f"Peak resident memory (VmHWM) of the worker processes after the end-to-end run and the idle hours: "
        f"**{mem['peak_rss_mb_max']:.0f} MiB** (each process, MiB: {peaks}).",
        "",
    ]


def costs(results: dict[str, Any]) -> list[str]:
    if not results.get("cost_inputs"):
        return []
    measured = cost.Measured.from_results(results)
    text = cost.render_markdown([cost.estimate(n, measured) for n in COST_AT])
    return [text.replace("## AWS cost", "### AWS cost, from these figures", 1), ""]


def render(results: dict[str, Any]) -> str:
    info = results["machine"]
    args = results["arguments"]
    lines = [
        BEGIN,
        "",
        f"## Latest run: {results['date']}",
        "",
        f"`make bench` (`--events {args['events']:,} --hours {args['hours']}`) on {info['cpu']}, "
        f"{info['cores']} cores, {info['memory_gb']} GB, Python {info['python']}; {results['seconds']:.0f} s "
        f"in all. Raw figures: `bench/results/{results['date']}.json`.",
        "",
        *targets(results),
        *end_to_end(results),
        *storage(results),
        *reference(results),
        *floor(results),
        *incremental(results),
        *idle(results),
        *dashboards(results),
        *memory(results),
        *costs(results),
        END,
    ]
    return "\n".join(lines) + "\n"


def update_performance_md(results: dict[str, Any], path: Path) -> None:
    block = render(results)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + block + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    source = Path(argv[0]) if argv else cost.newest_results(root)
    if source is None:
        print("no results: run make bench first (bench/results/ is empty)", file=sys.stderr)
        return 2
    update_performance_md(orjson.loads(source.read_bytes()), root / "docs" / "PERFORMANCE.md")
    print(f"docs/PERFORMANCE.md written from {source}")
    return 0
