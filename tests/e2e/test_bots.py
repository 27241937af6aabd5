"""Crawler traffic mixed into generated traffic, through the state machine (docs/BOTS.md).

Every count reconciles (lines read = loaded + duplicates + rejected + filtered, per
object and per run), the filtered lines are exactly the crawlers' first-seen valid
lines the generator wrote (every copy), no crawler is in any fact or session, and the warehouse
equals the from-scratch reference computed over the loaded (human) events.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

from clickstream.core.lake import execution_name, hour_iso, hours_between, parse_hour
from clickstream.pipeline.bots import RULES_VERSION
from clickstream.tools import reference
from clickstream.tools.generate import GeneratorConfig, generate_to_dir
from clickstream.tools.generate.traffic import CRAWLER_USER_AGENTS
from tests.support.stack import RunningStack


def crawler_visitors(out: Path) -> set[str]:
    """anonymous_id of every raw line sent with a crawler's user agent."""
    ids = set()
    for path in (out / "raw").rglob("*.ndjson.gz"):
        try:
            text = gzip.decompress(path.read_bytes())
        except (OSError, EOFError):
            continue  # a corrupt object (quarantined whole)
        for line in text.splitlines():
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            device = event.get("device") if isinstance(event, dict) else None
            if isinstance(device, dict) and device.get("user_agent") in CRAWLER_USER_AGENTS:
                ids.add(str(event.get("anonymous_id")))
    return ids


def test_crawler_traffic_is_filtered_counted_and_reconciled(stack: RunningStack, tmp_path: Path) -> None:
    # Given twelve hours of faulty traffic in which 15 % of new visitors are crawlers
    start = datetime(2025, 11, 3, tzinfo=UTC)
    config = GeneratorConfig.with_faults(
        seed=16, start=start, hours=12, events_per_day=6000, crawler_rate=0.15
    )
    truth = generate_to_dir(config, tmp_path)
    for path in sorted((tmp_path / "raw").rglob("*.ndjson.gz")):
        stack.lake.put_bytes(path.relative_to(tmp_path).as_posix(), path.read_bytes())
    crawlers = crawler_visitors(tmp_path)
    assert truth.filtered_lines > 100 and crawlers

    # When the hours are backfilled through the state machine, then the last receive hour run
    last_hour = start + timedelta(hours=11)
    result = stack.cli("backfill", "--from", hour_iso(start), "--to", hour_iso(last_hour))
    assert "failed" not in result.stdout.lower()
    last = parse_hour(max(truth.partitions))
    if last > last_hour:
        stack.cli("run", "--hour", hour_iso(last))
    names = {r["name"]: r["status"] for r in stack.op.list_executions()}
    assert all(names[execution_name(h)] == "SUCCEEDED" for h in hours_between(start, last_hour))

    # Then every object and every run reconciles, filtered lines included
    lines, loaded, dups, rejected, filtered = stack.query(
        "select sum(lines_read), sum(loaded), sum(duplicates), sum(rejected), sum(filtered)"
        " from etl_processed_objects"
    )[0]
    assert lines == loaded + dups + rejected + filtered
    unbalanced = "where lines_read <> loaded + duplicates + rejected + filtered"
    assert stack.scalar(f"select count(*) from etl_processed_objects {unbalanced}") == 0
    assert stack.scalar(f"select count(*) from etl_runs {unbalanced}") == 0
    assert stack.scalar("select sum(filtered) from etl_runs") == filtered
    versions = stack.query("select distinct rules_version from etl_runs where objects > 0")
    assert {row[0] for row in versions} == {RULES_VERSION}
    # and they are exactly what the generator wrote
    assert filtered == truth.filtered_lines
    assert loaded == truth.unique_valid_events == stack.scalar("select count(*) from fact_events")
    assert dups == truth.duplicate_lines
    assert rejected + truth.quarantined_lines_unread == truth.expected_rejected_lines
    # and the per-family counts add up, every one a bot recognised from its user agent
    by_family = dict(stack.query("select family, sum(count_lines)::bigint from etl_filtered group by 1"))
    assert sum(by_family.values()) == filtered
    assert {"Googlebot", "HeadlessChrome"} <= set(by_family)
    assert {r[0] for r in stack.query("select distinct reason from etl_filtered")} == {"bot_user_agent"}

    # and no crawler is in any fact or session
    for table in ("fact_events", "fact_sessions"):
        found = f"select count(*) from {table} where anonymous_id = any(%s)"
        assert stack.scalar(found, (list(crawlers),)) == 0, table

    # and the warehouse equals the from-scratch reference over the human events
    with psycopg.connect(stack.info.database_url) as conn:
        assert reference.compare(conn) == []
