"""The behaviour rule (docs/BOTS.md "Behaviour"): bursts no person produces, judged per raw object.

Hand-counted objects, and the determinism promise: an object's filtered counts are the same
whichever objects share its batch and in whatever order.
"""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clickstream.pipeline.bots import (
    BEHAVIOUR_RATE,
    BURST_EVENTS,
    BURST_FAMILY,
    BURST_SECONDS,
    burst_visitors,
)
from clickstream.tools.generate import GeneratorConfig, generate_to_dir
from tests.support.transform import line, make_event, ndjson, run

T0 = datetime(2025, 10, 18, 13, 5, tzinfo=UTC)


def visitor_lines(visitor: str, count: int, spacing_s: float, first: int) -> list[bytes]:
    """``count`` valid views of one visitor, ``spacing_s`` apart from T0 (ids from ``first``)."""
    lines = []
    for n in range(count):
        ts = T0 + timedelta(seconds=spacing_s * n)
        stamp = ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines.append(
            line(
                make_event(
                    first + n,
                    anonymous_id=visitor,
                    ts=stamp,
                    received_at="2025-10-18T13:07:00.000Z",
                    event_type="view",
                    ecom=None,
                )
            )
        )
    return lines


def test_the_thresholds_are_what_the_docs_say() -> None:
    assert (BURST_EVENTS, BURST_SECONDS) == (40, 10)
    assert BURST_FAMILY == "40+ events in 10 s"


def test_a_burst_is_filtered_whole_and_people_are_kept() -> None:
    burst = visitor_lines("burst", 45, 0.2, 0)  # 45 events in 8.8 s
    edge = visitor_lines("edge", 40, 10 / 39, 100)  # 40 events in exactly 10 s: a burst (inclusive)
    short = visitor_lines("short", 39, 0.1, 200)  # 39 events in 3.8 s: one too few
    spread = visitor_lines("spread", 45, 1.0, 300)  # 45 events, at most 11 in any 10 s
    retried = burst[:5]  # the tracker sent five of the burst's lines twice
    data = ndjson(*burst, *edge, *short, *spread, *retried)

    [result], rows = run(data)

    assert result.lines_read == 45 + 40 + 39 + 45 + 5
    assert result.filters == {BEHAVIOUR_RATE: {BURST_FAMILY: 45 + 5 + 40}}
    assert result.filtered == 90 and result.duplicates == 0 and result.rejected == 0
    assert result.staged == 39 + 45 == len(rows)
    assert {r["anonymous_id"] for r in rows} == {"short", "spread"}
    assert result.lines_read == result.staged + result.duplicates + result.rejected + result.filtered


def test_a_known_bot_keeps_its_user_agent_reason() -> None:
    bot = [
        line(
            make_event(
                n,
                anonymous_id="crawler",
                ts=(T0 + timedelta(seconds=0.1 * n))
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                received_at="2025-10-18T13:07:00.000Z",
                device={
                    "user_agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
                },
            )
        )
        for n in range(50)
    ]
    [result], _ = run(ndjson(*bot))
    assert set(result.filters) == {"bot_user_agent"} and result.filtered == 50


def test_burst_visitors_counts_distinct_events() -> None:
    visitor = "v"
    same = [(visitor, "one-id", T0)] * 60  # one event sent sixty times: not a burst
    assert burst_visitors(same) == set()
    many = [(visitor, str(uuid.uuid4()), T0 + timedelta(seconds=i / 10)) for i in range(40)]
    assert burst_visitors(many) == {visitor}


def test_an_objects_counts_do_not_depend_on_its_batch(tmp_path: Path) -> None:
    # Given generated traffic (people only) plus an object with two bursts
    generate_to_dir(GeneratorConfig(seed=3, hours=3, events_per_day=30000, duplicate_rate=0.05), tmp_path)
    objects = [gzip.decompress(p.read_bytes()) for p in sorted((tmp_path / "raw").rglob("*.ndjson.gz"))]
    objects.append(ndjson(*visitor_lines("burst-a", 50, 0.1, 0), *visitor_lines("burst-b", 40, 0.2, 100)))
    assert len(objects) >= 3

    # When they are transformed all in one batch, each alone, and in reverse order
    together, _ = run(*objects)
    alone = [run(data)[0][0] for data in objects]
    reverse, _ = run(*reversed(objects))

    # Then every object has the same filtered counts each time: only the two bursts, none of the people
    def filters(results: list) -> list[dict[str, dict[str, int]]]:
        return [r.filters for r in results]

    assert filters(together) == filters(alone) == filters(list(reversed(reverse)))
    assert [f for f in filters(together) if f] == [{BEHAVIOUR_RATE: {BURST_FAMILY: 90}}]
