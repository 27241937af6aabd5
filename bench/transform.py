"""Transform throughput in one process: raw objects in memory -> staged batches, no S3.

    python -m bench transform [--events 1000000] [--faults] [--no-fast-path]

Generates about ``--events`` events with ``clickstream.tools.generate`` (cached
under bench/data/, so later runs skip generation), then runs them through
``BatchTransformer`` in work items of ``Settings().max_objects_per_item``
objects, as the Map would, and times that alone: decompression, validation,
normalisation, dedupe, COPY encoding and compression. Prints one JSON object
with ``events_per_s`` (lines read per second) to stdout, and a summary to stderr.

Machines differ and shared ones are busy, so the report also gives yardsticks
measured on the same lines in the same run: gunzip, ``orjson.loads`` and
``RawEvent.model_validate_json`` alone, in lines per second.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import orjson

from bench.common import machine
from clickstream.core.contract import RawEvent
from clickstream.core.settings import Settings
from clickstream.pipeline import transform
from clickstream.pipeline.transform import BatchTransformer, SourceObject
from clickstream.tools.generate import GeneratorConfig, generate_objects

DATA_DIR = Path(__file__).resolve().parent / "data"
HOURS = 24


def objects(events: int, seed: int, faults: bool) -> list[tuple[str, bytes]]:
    """(key, body) of a generated day of about ``events`` events, from the cache when there."""
    cache = DATA_DIR / f"transform-{events}-{seed}-{'faults' if faults else 'clean'}"
    if (cache / "keys.json").exists():
        keys = orjson.loads((cache / "keys.json").read_bytes())
        return [(key, (cache / f"{i:06d}.gz").read_bytes()) for i, key in enumerate(keys)]
    config_args: dict[str, Any] = {"seed": seed, "hours": HOURS, "events_per_day": events * 24 // HOURS}
    config = GeneratorConfig.with_faults(**config_args) if faults else GeneratorConfig(**config_args)
    started = time.perf_counter()
    generated = list(generate_objects(config))
    print(f"generated {len(generated)} objects in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    for i, (_, body) in enumerate(generated):
        (cache / f"{i:06d}.gz").write_bytes(body)
    (cache / "keys.json").write_bytes(orjson.dumps([key for key, _ in generated]))
    return generated


def run(raw: list[tuple[str, bytes]], per_item: int, fast_path: bool) -> dict[str, int]:
    counts = dict.fromkeys(("objects", "lines_read", "staged", "duplicates", "rejected", "quarantined"), 0)
    counts["staged_bytes"] = 0
    for start in range(0, len(raw), per_item):
        batch = BatchTransformer(b"bench-key", fast_path=fast_path)
        for src, (key, body) in enumerate(raw[start : start + per_item]):
            result = batch.add_object(src, SourceObject(key, "", len(body)), body)
            counts["objects"] += 1
            counts["lines_read"] += result.lines_read
            counts["staged"] += result.staged
            counts["duplicates"] += result.duplicates
            counts["rejected"] += result.rejected
            counts["quarantined"] += result.quarantined
        counts["staged_bytes"] += len(batch.finish())
    return counts


def yardsticks(raw: list[tuple[str, bytes]], limit: int = 200_000) -> dict[str, int]:
    """Lines per second of gunzip, orjson and pydantic alone (gc off, results dropped)."""
    started = time.perf_counter()
    lines = [line for _, body in raw for line in zlib.decompress(body, 31).split(b"\n") if line]
    rates = {"gunzip_lines_per_s": round(len(lines) / (time.perf_counter() - started))}
    lines = lines[:limit]
    for name, parse in (
        ("orjson_lines_per_s", orjson.loads),
        ("pydantic_lines_per_s", RawEvent.model_validate_json),
    ):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            started = time.perf_counter()
            for line in lines:
                parse(line)
            rates[name] = round(len(lines) / (time.perf_counter() - started))
        finally:
            if was_enabled:
                gc.enable()
    return rates


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench transform", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", action="store_true", help="generate with the FAULT_MIX rates")
    parser.add_argument(
        "--no-fast-path", dest="fast_path", action="store_false", help="pydantic for every line"
    )
    parser.add_argument("--repeat", type=int, default=1, help="report the best of N timed runs")
    parser.add_argument("--no-yardsticks", dest="yardsticks", action="store_false")
    args = parser.parse_args(argv)

    raw = objects(args.events, args.seed, args.faults)
    per_item = Settings().max_objects_per_item
    best = best_cpu = float("inf")
    counts: dict[str, int] = {}
    for _ in range(max(1, args.repeat)):
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        counts = run(raw, per_item, args.fast_path)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    report = {
        "bench": "transform",
        "events_per_s": round(counts["lines_read"] / best),
        # On a shared machine the process waits for a core; CPU time is what it used.
        "events_per_cpu_s": round(counts["lines_read"] / best_cpu),
        "seconds": round(best, 3),
        "cpu_seconds": round(best_cpu, 3),
        **counts,
        "raw_bytes": sum(len(b) for _, b in raw),
        "fast_path": args.fast_path,
        # The staged batch's compressor: isal.isal_zlib when installed (several times faster), else zlib.
        "deflate": transform._deflate.__name__,
        "faults": args.faults,
        **machine(),
        **(yardsticks(raw) if args.yardsticks else {}),
    }
    print(
        f"transform: {report['events_per_s']:,} events/s per process, "
        f"{report['events_per_cpu_s']:,} per CPU second "
        f"({counts['lines_read']:,} lines in {best:.2f} s, {counts['objects']} objects)",
        file=sys.stderr,
    )
    print(orjson.dumps(report).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
