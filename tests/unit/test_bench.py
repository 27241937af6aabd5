"""The benchmark's own logic: the DuckDB reference query computes what the contract says, and the
results become verdicts, a cost estimate and docs/PERFORMANCE.md's tables. (Speed is measured by
``make bench``, never asserted here.)"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench import duckdb_reference, pii, report, suite
from clickstream.tools import cost
from clickstream.tools.generate import GeneratorConfig
from clickstream.tools.generate.generator import generate_to_dir


def python_sessions(raw_dir: Path) -> tuple[int, int]:
    """Unique events and sessions by the contract's rules, independently of DuckDB."""
    import gzip

    first: dict[str, tuple[str, datetime, str]] = {}
    for path in sorted((raw_dir / "raw").rglob("*.gz")):
        for line in gzip.decompress(path.read_bytes()).splitlines():
            try:
                event = orjson.loads(line)
                ts = datetime.fromisoformat(event["ts"])
                received = datetime.fromisoformat(event["received_at"])
            except (ValueError, KeyError, TypeError):
                continue
            if received - ts > timedelta(hours=72):
                continue
            seen = first.get(event["event_id"])
            if seen is None or event["received_at"] < seen[2]:
                first[event["event_id"]] = (event["anonymous_id"], ts, event["received_at"])
    by_visitor: dict[str, list[tuple[datetime, str]]] = {}
    for event_id, (visitor, ts, _) in first.items():
        by_visitor.setdefault(visitor, []).append((ts, event_id))
    sessions = 0
    for events in by_visitor.values():
        events.sort()
        sessions += 1 + sum(1 for (a, _), (b, _) in pairwise(events) if b - a > timedelta(minutes=30))
    return len(first), sessions


def test_duckdb_reference_counts_the_events_and_sessions_the_contract_defines(tmp_path: Path) -> None:
    config = GeneratorConfig(
        seed=4,
        start=datetime(2025, 9, 3, tzinfo=UTC),
        hours=30,
        events_per_day=4_000,
        duplicate_rate=0.05,
        late_rate=0.05,
    )
    truth = generate_to_dir(config, tmp_path)
    result = duckdb_reference.run(tmp_path, repeat=1, log=lambda _: None)
    events, sessions = python_sessions(tmp_path)
    assert result["events"] == truth.unique_valid_events == events
    assert result["sessions"] == sessions
    assert result["lines"] == truth.lines_written
    assert result["events_per_s"] > 0


def results_fixture() -> dict[str, Any]:
    return {
        "date": "2026-11-22",
        "seconds": 300.0,
        "machine": {"cpu": "Test CPU", "cores": 2, "memory_gb": 8.0, "python": "3.11.7", "system": "Linux"},
        "arguments": {"events": 1_000_000, "hours": 24, "skip": []},
        "end_to_end": {
            "lines": 1_000_000,
            "objects": 1_000,
            "events_loaded": 970_000,
            "sessions": 150_000,
            "duplicates": 20_000,
            "rejected": 10_000,
            "seconds": 40.0,
            "events_per_s": 25_000,
            "map_items": 100,
            "states": {
                "ListNew": {"seconds": 2.0, "events_per_s": 500_000},
                "TransformPartitions": {"seconds": 20.0, "events_per_s": 50_000},
                "TransformPartition": {"seconds": 20.0, "events_per_s": 50_000},
                "CheckStagedBatches": {"seconds": 1.0, "events_per_s": 1_000_000},
                "SessionizeAndUpsert": {"seconds": 16.0, "events_per_s": 62_500},
                "AdvanceWatermark": {"seconds": 0.05, "events_per_s": None},
            },
        },
        "reference": {
            "engine": "duckdb 2.0.0",
            "threads": 2,
            "lines": 1_000_000,
            "seconds": 8.0,
            "events_per_s": 125_000,
            "sessions": 150_000,
            "events": 970_000,
            "ratio": 0.2,
            "same_counts": True,
        },
        "idle": {
            "runs": 5,
            "seconds_p50": 0.5,
            "seconds_max": 0.7,
            "states_p50": {
                "ListNew": 0.12,
                "CheckStagedBatches": 0.05,
                "SessionizeAndUpsert": 0.1,
                "NotifySuccess": 0.03,
            },
        },
        "memory": {"workers": 3, "peak_rss_mb_max": 160.0,
                   "peak_rss_mb": {"1": 50.0, "2": 160.0, "3": 120.0}},
        "incremental": {
            "history_days": 30,
            "events_per_day": 20_000,
            "ratio": 1.05,
            "load_ratio": 1.1,
            "one_day": {"history_events": 20_000, "history_sessions": 3_000, "hours": [{}] * 3,
                        "seconds_p50": 1.0, "load_seconds_p50": 0.3},
            "history": {"history_events": 600_000, "history_sessions": 90_000, "hours": [{}] * 3,
                        "seconds_p50": 1.05, "load_seconds_p50": 0.33},
        },
    }  # fmt: skip


def test_verdicts_compare_each_figure_with_its_target() -> None:
    results = results_fixture()
    rows = {row["measure"]: row for row in suite.verdicts(results)}
    assert rows["End to end"]["met"] is False  # 25k < 50k
    assert rows["Idle hour, start to end (p50)"]["met"] is True
    assert rows["Worker peak memory"]["met"] is True
    assert rows["Incremental ratio, 30 days / 1 day of history"]["met"] is True
    assert rows["Dashboards, worst page p95"]["met"] is None  # not measured in this run
    results["incremental"]["ratio"] = 1.31
    rows = {row["measure"]: row for row in suite.verdicts(results)}
    assert rows["Incremental ratio, 30 days / 1 day of history"]["met"] is False


def test_cost_inputs_feed_clickstream_cost() -> None:
    results = results_fixture()
    inputs = suite.cost_inputs(results)
    assert inputs is not None
    # Two workers (the forkserver is the third process) busy for the Map's 20 s over 1M lines.
    assert inputs["transform_s_per_event"] == pytest.approx(20.0 * 2 / 1_000_000)
    assert inputs["load_s_per_event"] == pytest.approx((1.0 + 16.0 + 0.05) / 970_000)
    assert inputs["idle_s_per_state"]["ListNew"] == 0.12
    assert inputs["idle_s_per_state"]["AdvanceWatermark"] == 0.0  # not seen in the idle runs
    measured = cost.Measured.from_results({**results, "cost_inputs": inputs})
    assert measured.transform_s_per_event == inputs["transform_s_per_event"]
    small, large = cost.estimate(10_000, measured), cost.estimate(10_000_000, measured)
    assert 0 < small.total < large.total
    # With the CPU split, the CPU seconds: the workers' per line, PostgreSQL's per event loaded.
    results["end_to_end"]["cpu_seconds"] = {"moto_and_step_functions": 9.0, "workers": 30.0, "postgres": 48.5}
    inputs = suite.cost_inputs(results)
    assert inputs is not None
    assert inputs["transform_s_per_event"] == pytest.approx(30.0 / 1_000_000)
    assert inputs["load_s_per_event"] == pytest.approx(48.5 / 970_000)


def test_performance_md_keeps_its_prose_and_replaces_only_the_generated_part(tmp_path: Path) -> None:
    results = results_fixture()
    results["cost_inputs"] = suite.cost_inputs(results)
    results["targets"] = suite.verdicts(results)
    path = tmp_path / "PERFORMANCE.md"
    prose = "# Performance\n\nHand-written intro.\n\n## Where we fall short\n\nWhy.\n"
    path.write_text(prose, encoding="utf-8")
    report.update_performance_md(results, path)
    first = path.read_text(encoding="utf-8")
    assert first.startswith("# Performance\n\nHand-written intro.")
    assert "| End to end | >= 50,000 events/s | 25,000 events/s | **not met** |" in first
    assert "**0.20x** DuckDB's" in first and "the same counts" in first
    assert "\n## AWS cost" not in first and "\n### AWS cost, from these figures" in first
    assert first.count(report.BEGIN) == 1

    later = copy.deepcopy(results)
    later["end_to_end"]["events_per_s"] = 60_000
    later["targets"] = suite.verdicts(later)
    report.update_performance_md(later, path)
    second = path.read_text(encoding="utf-8")
    assert "| End to end | >= 50,000 events/s | 60,000 events/s | met |" in second
    assert "| 25,000 events/s |" not in second
    assert "Hand-written intro." in second and "## Where we fall short\n\nWhy." in second
    assert second.count(report.BEGIN) == 1 and second.count(report.END) == 1


def test_pii_bench_calls_the_checks_it_times() -> None:
    # `python -m bench pii` times the hostile texts whose results test_normalize.py and
    # test_ingest.py check; here only its parts, on short text.
    # an e-mail is personal as a value and as a key (docs/PRIVACY.md), so props keep only "k", emptied
    assert pii.normalize_checks("ann@example.com")() == (True, True, ({"k": []}, None))
    assert pii.ingest_request(["a note", "+1" * 10])().body["accepted"] == 2
    measured = pii.case(lambda: None, lambda: None, budget_ms=1.0, repeat=1)
    assert set(measured) == {"ms", "ordinary_ms", "ratio", "budget_ms", "within_budget"}
    assert len(pii.ordinary(1234)) == 1234 and "@" not in pii.ordinary(1234)


def test_report_shows_the_floor_the_cpu_split_and_the_bytes_per_event(tmp_path: Path) -> None:
    results = results_fixture()
    run = results["end_to_end"]
    run["cpu_seconds"] = {"moto_and_step_functions": 10.0, "workers": 30.0, "postgres": 40.0}
    run["cpu_seconds_per_1m_events"] = {"moto_and_step_functions": 10.0, "workers": 30.0, "postgres": 40.0}
    results["floor"] = {
        "engine": "duckdb 2.0.0 (2 threads) + PostgreSQL COPY",
        "lines": 1_000_000,
        "events": 970_000,
        "parse_seconds": 2.0,
        "copy_seconds": 8.0,
        "seconds": 10.0,
        "events_per_s": 100_000,
        "cpu_seconds": {"duckdb": 3.0, "postgres": 7.5},
        "bytes_per_event": 450.0,
        "ratio": 0.25,
    }
    results["storage"] = {
        "events": 970_000,
        "bytes": 970_000 * 900,
        "bytes_per_event": 900.0,
        "fact_events_bytes_per_event": 500.0,
        "tables": {
            "fact_events": {"table_bytes": 970_000 * 400, "index_bytes": 970_000 * 100},
            "dim_date": {"table_bytes": 8192, "index_bytes": 8192},
        },
    }
    results["cost_inputs"] = suite.cost_inputs(results)
    results["targets"] = suite.verdicts(results)
    path = tmp_path / "PERFORMANCE.md"
    report.update_performance_md(results, path)
    text = path.read_text(encoding="utf-8")
    assert "**0.25x** this floor's" in text
    # the floor: (3.0 + 7.5) CPU-s for 1M lines; ours 80 CPU-s per 1M
    assert "the floor 10.5, our run 80.0 (**7.6x** the floor's)" in text
    assert "**10.00 s, 100,000 events/s**" in text
    # 80 CPU-s per 1M lines on 2 cores: no run of 1M lines can take less than 40 s
    assert "| **All** | 80.0 | **80.0** |" in text and "less than 40.0 s per 1M lines" in text
    assert "**900.0 bytes a stored event** (500.0 of them fact_events'" in text
    assert "| fact_events | 370.0 | 92.5 | 500.0 |" in text
    assert "| dim_date |" not in text  # under 1 MiB


def test_load_bench_synthesises_rows_of_the_staged_format() -> None:
    """``bench load``'s synthetic staged rows have one field per STAGED_COLUMNS (it broke once
    when the format gained browser, os and product_name)."""
    from bench import load as load_bench
    from clickstream.pipeline.staged import STAGED_COLUMNS

    objects = load_bench.synthesise(200, 4, seed=1)
    lines = [line for body in objects for line in body.decode().splitlines()]
    assert len(lines) == 200
    assert {len(line.split("\t")) for line in lines} == {len(STAGED_COLUMNS)}
