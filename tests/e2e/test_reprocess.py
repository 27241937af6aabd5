"""clickstream reprocess: a rule change, then the warehouse re-derived from the raw lake (docs/BOTS.md).

The stack loads generated traffic under the shipped rules, is restarted with a
rule of the shop's own (``CLICKSTREAM_BOT_PATTERNS``: one desktop browser's user
agent), and reprocesses through the state machine: first a range of receive
hours, then, after a failed attempt that must change nothing, the whole lake.
Each time the facts are exactly the expected set, computed independently from
the raw lines and the facts before, the warehouse equals the from-scratch
reference over them, and every count reconciles.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import pytest

from clickstream.core.lake import hour_iso, hour_label, partition_hour
from clickstream.local.process import CLI, ROOT
from clickstream.tools import reference
from clickstream.tools.generate import GeneratorConfig, generate_to_dir
from tests.support.analyses_sample import assert_analyses_equal_rebuild
from tests.support.stack import RunningStack, start_stack_process, stop_stack_process

START = datetime(2025, 11, 10, tzinfo=UTC)
HOURS = 8
PATTERN = "X11; Linux x86_64"  # the generator's Firefox on Linux: people until the rule says otherwise
MATCHED_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"


def matched_lines(out: Path) -> dict[str, list[datetime]]:
    """event_id -> the receive partitions of every raw line sent with the matched user agent."""
    found: dict[str, list[datetime]] = {}
    for path in sorted((out / "raw").rglob("*.ndjson.gz")):
        hour = partition_hour(path.relative_to(out).as_posix())
        for line in gzip.decompress(path.read_bytes()).splitlines():
            event = orjson.loads(line)
            device = event.get("device") or {}
            if device.get("user_agent") == MATCHED_UA:
                found.setdefault(str(event["event_id"]), []).append(hour)
    return found


def facts(stack: RunningStack) -> dict[str, datetime]:
    return {str(e): p for e, p in stack.query("select event_id, source_partition from fact_events")}


def reconciled(stack: RunningStack) -> None:
    unbalanced = "where lines_read <> loaded + duplicates + rejected + filtered"
    assert stack.scalar(f"select count(*) from etl_processed_objects {unbalanced}") == 0
    assert stack.scalar("select sum(loaded) from etl_processed_objects") == stack.scalar(
        "select count(*) from fact_events"
    )
    per_family = stack.scalar("select coalesce(sum(count_lines), 0) from etl_filtered")
    assert per_family == stack.scalar("select sum(filtered) from etl_processed_objects")
    with psycopg.connect(stack.info.database_url) as conn:
        assert reference.compare(conn) == []
        # issue 17's analyses (sql/013) too: the reprocess clears them, the load recomputes them
        assert_analyses_equal_rebuild(conn)


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="clickstream-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_rule_change_then_reprocess_gives_the_reference(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given eight hours of traffic with duplicates and late events, loaded under the shipped rules
    monkeypatch.delenv("CLICKSTREAM_BOT_PATTERNS", raising=False)
    config = GeneratorConfig(
        seed=10, start=START, hours=HOURS, events_per_day=9000, duplicate_rate=0.04, late_rate=0.05
    )
    generate_to_dir(config, tmp_path)
    matched = matched_lines(tmp_path)
    stack = start_stack_process(data_dir)
    try:
        for path in sorted((tmp_path / "raw").rglob("*.ndjson.gz")):
            stack.lake.put_bytes(path.relative_to(tmp_path).as_posix(), path.read_bytes())
        last = START + timedelta(hours=HOURS - 1)
        partitions = sorted(
            {partition_hour(p.relative_to(tmp_path).as_posix()) for p in (tmp_path / "raw").rglob("*.gz")}
        )
        # one catch-up execution (a first run lists every partition up to its hour)
        stack.cli("run", "--hour", hour_iso(partitions[-1]))
        before = facts(stack)
        assert set(before.values()) <= set(partitions)  # each fact knows its raw object's partition
        lines_before = stack.scalar("select sum(lines_read) from etl_processed_objects")
        assert set(matched) & set(before), "the rule must match some loaded events"
        reconciled(stack)
    finally:
        stop_stack_process(stack)

    # When the rules change (the transform function's environment) and the stack comes back
    monkeypatch.setenv("CLICKSTREAM_BOT_PATTERNS", PATTERN)
    monkeypatch.setenv("MAX_BYTES_PER_EXECUTION", "100000")  # a small budget: the lake takes several parts
    stack = start_stack_process(data_dir)
    try:
        # and a range of receive hours is reprocessed
        first, upto = START + timedelta(hours=2), START + timedelta(hours=4)
        result = stack.cli("reprocess", "--from", hour_label(first), "--to", hour_label(upto))
        assert "part 1: reprocess-" in result.stdout and "SUCCEEDED" in result.stdout, result.stdout

        # Then exactly the matched events whose fact came from those partitions are gone
        in_range = {e for e in matched if e in before and first <= before[e] <= upto}
        assert in_range and len(in_range) < len(set(matched) & set(before))
        assert facts(stack).keys() == before.keys() - in_range
        reconciled(stack)
        family = stack.query(
            "select partition_hour, sum(count_lines) from etl_filtered where family = %s group by 1",
            (PATTERN,),
        )
        expected_lines: dict[datetime, int] = {}
        for event_id, hours in matched.items():
            if event_id in before:  # valid lines only: the generator's matched events all loaded
                for hour in hours:
                    if first <= hour <= upto:
                        expected_lines[hour] = expected_lines.get(hour, 0) + 1
        assert dict(family) == expected_lines
        assert stack.scalar("select sum(lines_read) from etl_processed_objects") == lines_before
        runs = stack.query(
            "select reprocess_from, reprocess_to, rules_version from etl_runs where reprocess_to is not null"
        )
        assert [(r[0], r[1]) for r in runs] == [(first, upto)] and PATTERN not in runs[0][2]
        assert "site patterns" in runs[0][2]

        # When a reprocess of the whole lake fails in its publishing state
        stack.faults(
            {"load": [{"error": "ConfigurationError", "action": "sessionize_and_upsert", "times": -1}]}
        )
        after_range = facts(stack)
        failed = stack.cli("reprocess", "--all", "--to", hour_label(partitions[-1]), check=False)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "run the same command again" in failed.stdout
        failed_name = re.findall(r"reprocess-\d{8}T\d{6}-p1", failed.stdout)[0]
        refused = stack.cli("redrive", "--execution", failed_name, check=False)
        assert refused.returncode == 2 and "is a reprocess, not an hour" in refused.stderr
        # Then nothing changed
        assert facts(stack) == after_range
        reconciled(stack)

        # When the cause is gone and the same command runs again
        (data_dir / "faults.json").unlink()
        result = stack.cli("reprocess", "--all", "--to", hour_label(partitions[-1]))
        # Then it took several parts (the budget), and the facts are the human events under the new rule
        assert "part 2:" in result.stdout, result.stdout
        assert facts(stack).keys() == before.keys() - set(matched)
        reconciled(stack)
        assert stack.scalar("select sum(lines_read) from etl_processed_objects") == lines_before
        expected_filtered = sum(len(hours) for event_id, hours in matched.items() if event_id in before)
        assert (
            stack.scalar("select sum(count_lines) from etl_filtered where family = %s", (PATTERN,))
            == expected_filtered
        )
        # and no execution moved the watermark past the last partition, and hourly runs go on
        assert stack.scalar("select watermark_hour from etl_watermark") == partitions[-1]
        assert last <= partitions[-1]
    finally:
        stop_stack_process(stack)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_reprocess_refuses_what_it_cannot_do(data_dir: Path) -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    result = cli("reprocess", "--from", "2025-11-10", "--to", future, "--data-dir", str(data_dir))
    assert (
        result.returncode == 2
        and "has not ended yet" in result.stderr
        and "nothing was started" in result.stderr
    )
    result = cli("reprocess", "--from", "2025-11-11", "--to", "2025-11-10", "--data-dir", str(data_dir))
    assert result.returncode == 2 and "is after --to" in result.stderr
    result = cli("reprocess", "--from", "yesterday", "--data-dir", str(data_dir))
    assert result.returncode == 2 and "neither a date" in result.stderr
