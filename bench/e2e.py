"""End to end through the local state machine: a day of traffic, idle hours, worker memory.

    python -m bench e2e [--events 1000000] [--hours 24] [--seed 11] [--idle 5] [--no-floor]

Generates ``--events`` events over ``--hours`` hours with the project's
generator (2 % duplicates, 2 % late arrivals, some of them more than 72 h late
and rejected; cached under bench/data/), starts ``clickstream up --clock off``
as a user does (moto's Step Functions engine, the handlers in warm worker
processes, embedded PostgreSQL), with the raw objects in its lake, and runs
the state machine for the last receive hour: the first execution lists every
partition, so one execution transforms the whole day in the Map's fan-out,
sessionizes and upserts it. The result: lines per second over the execution
(start to stop, as Step Functions records them), each state's time, the
warehouse's counts and the CPU seconds of each part of the stack (in all and
per 1M lines). Then the bytes the warehouse's tables and indexes take per
stored event, ``--idle`` executions of later hours with no new data (start to
end), the peak resident memory (VmHWM) of every worker process, and (unless
``--no-floor``) the floor of a durable load in the same database
(bench/floor.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import psutil
import psycopg

from bench import floor as durable_floor
from clickstream.core import lake as layout
from clickstream.core import sqlfiles
from clickstream.core.storage import s3_client
from clickstream.local import process as stack_process
from clickstream.local.runtime import LAKE_BUCKET
from clickstream.ops.operations import ExecutionReport, Operator
from clickstream.tools.generate import GeneratorConfig
from clickstream.tools.generate.generator import Truth, generate_to_dir

DATA_DIR = Path(__file__).resolve().parent / "data"
GENERATOR_SOURCES = Path(__file__).resolve().parents[1] / "clickstream" / "tools" / "generate"
START = datetime(2025, 9, 3, tzinfo=UTC)  # a Wednesday
HourFilter = Callable[[datetime], bool]
LOAD_STATES = ("CheckStagedBatches", "SessionizeAndUpsert", "AdvanceWatermark")


def generator_fingerprint() -> str:
    """Cached traffic is regenerated when the generator's code changes."""
    digest = hashlib.sha256()
    for path in sorted(GENERATOR_SOURCES.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def traffic(
    events: int, hours: int, seed: int, start: datetime = START, log: Any = print
) -> tuple[Path, Truth, float]:
    """The raw lake (``DIR/raw/...``) of ``events`` events over ``hours`` hours, generated or cached.

    Returns the directory, the generator's truth and the seconds spent generating (0 when cached).
    """
    config = GeneratorConfig(
        seed=seed,
        start=start,
        hours=hours,
        events_per_day=round(events * 24 / hours),
        duplicate_rate=0.02,
        late_rate=0.02,
    )
    out = DATA_DIR / f"raw-{events}-{hours}-{seed}-{start:%Y%m%d%H}-{generator_fingerprint()}"
    truth_file = out / "_generated.json"
    if truth_file.exists():
        return out, Truth.model_validate_json(truth_file.read_bytes()), 0.0
    log(f"generating {events:,} events over {hours} h into {out} ...")
    shutil.rmtree(out, ignore_errors=True)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    began = time.perf_counter()
    truth = generate_to_dir(config, tmp)
    seconds = time.perf_counter() - began
    tmp.rename(out)
    log(f"  {truth.lines_written:,} lines in {truth.objects_written:,} objects, {seconds:.1f} s")
    return out, truth, seconds


def last_receive_hour(truth: Truth) -> datetime:
    return max(layout.parse_hour(hour) for hour in truth.partitions)


class BenchStack:
    """``clickstream up`` in a temp directory whose lake starts with the given raw objects."""

    def __init__(self, raw: Path | None = None, hours: HourFilter | None = None, log: Any = print) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="clickstream-bench-"))
        if raw is not None:
            self.add_raw(raw, hours)
        began = time.perf_counter()
        self.process, self.info = stack_process.start(self.dir, timeout_s=600)
        log(f"stack up in {time.perf_counter() - began:.1f} s ({self.dir})")
        self._saved_environ = {key: os.environ.get(key) for key in self.info.environ()}
        self.info.apply_environ()
        sfn = boto3.client(
            "stepfunctions", endpoint_url=self.info.aws_endpoint_url, region_name=self.info.region
        )
        self.op = Operator(sfn, self.info.state_machine_arn)

    def add_raw(self, raw: Path, hours: HourFilter | None = None) -> int:
        """Hard-link ``raw``'s objects (of the receive hours ``hours`` accepts) into the lake directory.

        A stack restores them into its S3 on start. Returns how many.
        """
        target = self.dir / "lake" / LAKE_BUCKET
        count = 0
        for path, key in raw_objects(raw, hours):
            (target / key).parent.mkdir(parents=True, exist_ok=True)
            _link(path, target / key)
            count += 1
        return count

    def put_raw(self, raw: Path, hours: HourFilter | None = None) -> int:
        """Put ``raw``'s objects (of the receive hours ``hours`` accepts) into the running stack's lake."""
        s3 = s3_client(self.info.region)
        count = 0
        for path, key in raw_objects(raw, hours):
            s3.put_object(Bucket=self.info.lake_bucket, Key=key, Body=path.read_bytes())
            count += 1
        return count

    def execute(self, hour: datetime, name: str) -> ExecutionReport:
        self.op.run(hour, name=name)
        report = self.op.report(name)
        if report.status != "SUCCEEDED":
            raise RuntimeError(f"{name}: {report.status} {report.error}: {report.cause}")
        return report

    def scalar(self, sql: str) -> Any:
        with psycopg.connect(self.info.database_url) as conn:
            row = conn.execute(sql).fetchone()
        return row[0] if row else None

    def workers(self) -> list[psutil.Process]:
        """The handler worker processes: the forkserver's children (and the forkserver)."""
        found = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if "forkserver" in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.Error:
                continue
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the stack's parts: moto (its Step Functions engine and S3), the
        handler workers, and PostgreSQL (its backends, the ended ones included)."""
        up = psutil.Process(self.process.pid)
        groups = {"moto_and_step_functions": _own(up), "workers": sum(_own(p) for p in self.workers())}
        postgres = 0.0
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if str(self.dir) in " ".join(proc.info["cmdline"] or ()) and "postgres" in proc.name():
                    times = proc.cpu_times()
                    postgres += _own(proc) + times.children_user + times.children_system
                    postgres += sum(_own(child) for child in proc.children(recursive=True))
            except psutil.Error:
                continue
        groups["postgres"] = postgres
        return groups

    def stop(self) -> None:
        stack_process.stop(self.process)
        for key, value in self._saved_environ.items():  # what comes next must not reach a stopped stack
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(self.dir, ignore_errors=True)


def raw_objects(raw: Path, hours: HourFilter | None = None) -> Iterator[tuple[Path, str]]:
    """(file, key) of every raw object under ``raw``, in key order, of the receive hours ``hours`` accepts."""
    for path in sorted((raw / "raw").rglob("*.gz")):
        key = path.relative_to(raw).as_posix()
        if hours is None or hours(layout.partition_hour(key)):
            yield path, key


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _own(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def peak_rss_mb(process: psutil.Process) -> float:
    """VmHWM: the most resident memory the process ever had, in MiB."""
    with open(f"/proc/{process.pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def state_times(report: ExecutionReport) -> dict[str, float]:
    """Each state's time in seconds; the Map's inner state is its first entry to its last exit."""
    return {run.name: round(run.seconds, 3) for run in report.states if run.seconds is not None}


def end_to_end(stack: BenchStack, truth: Truth, log: Any = print) -> dict[str, Any]:
    hour = last_receive_hour(truth)
    log(f"end to end: executing {layout.hour_iso(hour)} over {truth.objects_written:,} raw objects ...")
    cpu_before = stack.cpu_seconds()
    began = time.perf_counter()
    report = stack.execute(hour, layout.execution_name(hour, "bench"))
    wall = time.perf_counter() - began
    cpu = {name: round(secs - cpu_before[name], 1) for name, secs in stack.cpu_seconds().items()}
    load_avg = [round(x, 2) for x in os.getloadavg()]
    seconds = report.seconds or wall
    states = state_times(report)
    loaded = stack.scalar("select count(*) from fact_events")
    sessions = stack.scalar("select count(*) from fact_sessions")
    lines_read = int(stack.scalar("select coalesce(sum(lines_read), 0) from etl_runs"))
    items = next((run.attempts for run in report.states if run.name == "TransformPartition"), 0)
    lines = truth.lines_written
    result = {
        "lines": lines,
        "objects": truth.objects_written,
        "events_loaded": loaded,
        "sessions": sessions,
        "duplicates": truth.duplicate_lines,
        "rejected": truth.rejected_lines,
        "execution": report.name,
        "seconds": round(seconds, 3),
        "wall_seconds": round(wall, 3),
        "events_per_s": round(lines / seconds),
        "states": {
            name: {"seconds": secs, "events_per_s": round(lines / secs) if secs > 0 else None}
            for name, secs in states.items()
        },
        "lines_read": lines_read,
        "cpu_seconds": cpu,
        "cpu_seconds_per_1m_events": {name: round(secs * 1e6 / lines, 1) for name, secs in cpu.items()},
        "load_avg_after": load_avg,
        "map_items": items,
    }
    log(
        f"  {lines:,} lines in {seconds:.1f} s: {lines / seconds:,.0f} events/s; "
        + ", ".join(f"{name} {secs:.2f} s" for name, secs in states.items())
    )
    log("  CPU seconds: " + ", ".join(f"{name} {secs:.1f}" for name, secs in cpu.items()))
    log(f"  load average after: {load_avg}")
    return result


def storage(stack: BenchStack, events: int, log: Any = print) -> dict[str, Any]:
    """Bytes on disk of the warehouse's tables and indexes after the load, per stored event."""
    with psycopg.connect(stack.info.database_url, autocommit=True) as conn:
        conn.execute("vacuum analyze")  # the visibility and free-space maps, as an hour later
        rows = conn.execute(sqlfiles.plain("bench/storage_bytes.sql")).fetchall()
    tables = {name: {"table_bytes": int(t), "index_bytes": int(i)} for name, t, i in rows}
    total = sum(t["table_bytes"] + t["index_bytes"] for t in tables.values())
    facts = tables.get("fact_events", {"table_bytes": 0, "index_bytes": 0})
    result = {
        "events": events,
        "bytes": total,
        "bytes_per_event": round(total / events, 1) if events else None,
        "fact_events_bytes_per_event": (
            round((facts["table_bytes"] + facts["index_bytes"]) / events, 1) if events else None
        ),
        "tables": tables,
    }
    log(
        f"storage: {total / 2**20:,.0f} MiB in tables and indexes, {result['bytes_per_event']} bytes a "
        f"stored event ({result['fact_events_bytes_per_event']} of them fact_events')"
    )
    return result


def idle(stack: BenchStack, after: datetime, runs: int, log: Any = print) -> dict[str, Any]:
    """``runs`` executions of later hours with nothing new: what every quiet hour costs."""
    seconds, walls, per_state = [], [], []
    for n in range(1, runs + 1):
        hour = after + timedelta(hours=n)
        began = time.perf_counter()
        report = stack.execute(hour, layout.execution_name(hour, "idle"))
        walls.append(time.perf_counter() - began)
        seconds.append(report.seconds or walls[-1])
        per_state.append(state_times(report))
    names = list(per_state[0])
    result = {
        "runs": runs,
        "seconds_p50": round(statistics.median(seconds), 3),
        "seconds_max": round(max(seconds), 3),
        "wall_seconds_p50": round(statistics.median(walls), 3),
        "states_p50": {
            name: round(statistics.median(s.get(name, 0.0) for s in per_state), 3) for name in names
        },
    }
    log(f"idle hour: {result['seconds_p50']:.2f} s (p50 of {runs}), max {result['seconds_max']:.2f} s")
    return result


def memory(stack: BenchStack, log: Any = print) -> dict[str, Any]:
    peaks = {str(p.pid): round(peak_rss_mb(p), 1) for p in stack.workers()}
    result = {
        "workers": len(peaks),
        "peak_rss_mb_max": max(peaks.values(), default=0.0),
        "peak_rss_mb": peaks,
    }
    log(f"worker memory: peak {result['peak_rss_mb_max']:.0f} MiB over {len(peaks)} processes")
    return result


def run(
    events: int = 1_000_000,
    hours: int = 24,
    seed: int = 11,
    idle_runs: int = 5,
    floor: bool = True,
    log: Any = print,
) -> tuple[dict[str, Any], Path, Truth]:
    """End to end, storage, idle, memory and (``floor``) the floor of a durable load on one stack.

    Returns the results, the raw directory and its truth.
    """
    raw, truth, generated_s = traffic(events, hours, seed, log=log)
    stack = BenchStack(raw, log=log)
    try:
        e2e = end_to_end(stack, truth, log=log)
        e2e["generate_seconds"] = round(generated_s, 1)
        stored = storage(stack, int(e2e["events_loaded"]), log=log)
        quiet = idle(stack, last_receive_hour(truth), idle_runs, log=log)
        mem = memory(stack, log=log)
        results = {"end_to_end": e2e, "storage": stored, "idle": quiet, "memory": mem}
        if floor:
            results["floor"] = durable_floor.run(
                stack.info.database_url, raw, lines=truth.lines_written, cpu=stack.cpu_seconds, log=log
            )
            results["floor"]["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        stack.stop()
    return results, raw, truth


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench e2e", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--idle", type=int, default=5, help="executions of empty hours to time")
    parser.add_argument("--no-floor", action="store_true", help="leave out the floor of a durable load")
    args = parser.parse_args(argv)
    results, _, _ = run(args.events, args.hours, args.seed, args.idle, floor=not args.no_floor)
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    return 0
