"""The raw lake, the rejects and the warehouse survive a restart, even a kill -9 of clickstream up."""

from __future__ import annotations

import gzip
import signal
from pathlib import Path

from clickstream.core.lake import parse_hour, partition_prefix
from tests.support.stack import start_stack_process, stop_stack_process
from tests.support.transform import line, make_event

HOUR = "2025-12-01T08"


def event_line(n: int) -> bytes:
    return line(
        make_event(
            n,
            ts="2025-12-01T08:10:00.000Z",
            received_at="2025-12-01T08:10:01.000Z",
            anonymous_id=f"visitor-{n % 3}",
            page_url="https://shop.example.com/p/thinkpad-x1",
        )
    )


def test_data_survives_a_killed_stack(data_dir: Path) -> None:
    # Given a stack that received raw data and loaded one hour, and one object still unprocessed
    stack = start_stack_process(data_dir)
    try:
        prefix = partition_prefix(parse_hour(HOUR))
        stack.lake.put_bytes(
            f"{prefix}events-a.ndjson.gz", gzip.compress(b"\n".join(map(event_line, range(5))))
        )
        stack.lake.put_bytes(f"{prefix}events-b.ndjson.gz", gzip.compress(b"{not json\n"))
        stack.cli("run", "--hour", HOUR)
        stack.lake.put_bytes(
            f"{partition_prefix(parse_hour('2025-12-01T09'))}events-c.ndjson.gz",
            gzip.compress(b"\n".join(map(event_line, range(5, 8)))),
        )
    finally:
        # When the process is killed outright
        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait(30)

    # Then a new `clickstream up` on the same data directory has everything back
    again = start_stack_process(data_dir)
    try:
        keys = {o.key for o in again.lake.list("raw/")} | {o.key for o in again.lake.list("rejects/")}
        assert any(k.endswith("events-a.ndjson.gz") for k in keys)
        assert any(k.endswith("events-c.ndjson.gz") for k in keys)
        assert any(k.startswith("rejects/") and "events-b" in k for k in keys)
        assert again.scalar("select count(*) from fact_events") == 5
        assert again.scalar("select sum(rejected) from etl_processed_objects") == 1
        # and the next hour loads the object that arrived before the kill, once
        again.cli("run", "--hour", "2025-12-01T09")
        again.cli("run", "--hour", "2025-12-01T09", "--name", "hour-2025-12-01T09-again")
        assert again.scalar("select count(*) from fact_events") == 8
    finally:
        stop_stack_process(again)
