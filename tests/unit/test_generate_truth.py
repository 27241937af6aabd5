"""The truth file equals an independent recount of what the generator wrote.

The recount below applies the rules of ``clickstream.tools.generate.Truth`` with the
contract model itself, not with anything the generator knows, so a line the
generator mislabels shows up as a mismatch.
"""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from datetime import timedelta
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from clickstream.core.contract import MAX_LINE_BYTES, RawEvent
from clickstream.tools.generate import GeneratorConfig, Truth, generate_objects, generate_to_dir
from clickstream.tools.generate.generator import TrafficGenerator


def recount(objects: list[tuple[str, bytes]]) -> dict[str, object]:
    """Classify every line the way the transform will (see Truth's docstring)."""
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    corrupt: list[str] = []
    empty: list[str] = []
    for key, body in objects:
        try:
            data = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            corrupt.append(key)
            continue
        if not data:
            empty.append(key)
            continue
        for line in data.split(b"\n")[:-1]:
            counts["lines"] += 1
            if len(line) > MAX_LINE_BYTES:
                counts["malformed"] += 1
                continue
            try:
                parsed = orjson.loads(line)
            except orjson.JSONDecodeError:
                counts["malformed"] += 1
                continue
            if not isinstance(parsed, dict):
                counts["malformed"] += 1
                continue
            try:
                event = RawEvent.model_validate_json(line)
            except ValidationError:
                counts["violation"] += 1
                continue
            if event.received_at - event.ts > timedelta(hours=72):
                counts["too_late"] += 1
                continue
            if event.ts - event.received_at > timedelta(minutes=5):
                counts["future_ts"] += 1
            if any(k in event.props for k in ("email", "phone", "customer_name")) or "@" in (
                event.user_id or ""
            ):
                counts["pii"] += 1
            if str(event.event_id) in seen:
                counts["duplicates"] += 1
            else:
                seen.add(str(event.event_id))
                counts["unique"] += 1
    return {"counts": counts, "corrupt": corrupt, "empty": empty}


def streamed_lines(body: bytes, in_chunk: int, out_max: int) -> int:
    """Complete lines a streaming gunzip (chunked like a real reader) yields before it fails."""
    inflater = zlib.decompressobj(wbits=31)
    data, pos = b"", 0
    try:
        while True:
            if inflater.unconsumed_tail:
                chunk = inflater.unconsumed_tail
            elif pos < len(body):
                chunk, pos = body[pos : pos + in_chunk], pos + in_chunk
            else:
                data += inflater.flush()
                break
            data += inflater.decompress(chunk, out_max)
    except zlib.error:
        pass
    return data.count(b"\n")


def assert_truth_matches(truth: Truth, objects: list[tuple[str, bytes]]) -> None:
    found = recount(objects)
    counts = found["counts"]
    assert isinstance(counts, Counter)
    assert truth.objects_written == len(objects)
    assert truth.unique_valid_events == counts["unique"]
    assert truth.duplicate_lines == counts["duplicates"]
    assert truth.rejects["malformed"] == counts["malformed"]
    assert truth.rejects["violation"] == counts["violation"]
    assert truth.rejects["too_late"] == counts["too_late"]
    assert truth.pii_lines == counts["pii"]
    assert truth.future_ts_lines == counts["future_ts"]
    assert [c.key for c in truth.corrupt_objects] == found["corrupt"]
    assert truth.rejects["corrupt_object"] == sum(c.lines for c in truth.corrupt_objects)
    assert truth.empty_objects == found["empty"]
    bodies = dict(objects)
    for corrupt in truth.corrupt_objects:
        body = bodies[corrupt.key]
        for in_chunk, out_max in ((7, 100), (4096, 1 << 20), (256 * 1024, 1 << 20)):
            assert streamed_lines(body, in_chunk, out_max) == corrupt.lines_decodable <= corrupt.lines
    unread = sum(c.lines - c.lines_decodable for c in truth.corrupt_objects)
    assert truth.quarantined_lines_unread == unread
    assert truth.expected_rejected_lines == truth.rejected_lines
    # the lines of readable objects plus the lines the corrupt ones were meant to hold
    assert truth.lines_written == counts["lines"] + truth.rejects["corrupt_object"]
    assert truth.lines_written == truth.unique_valid_events + truth.duplicate_lines + truth.rejected_lines
    assert truth.rejected_lines == sum(truth.rejects.values())
    assert truth.lines_written == sum(p.lines for p in truth.partitions.values())
    assert truth.objects_written == sum(p.objects for p in truth.partitions.values())


def run(config: GeneratorConfig) -> tuple[Truth, list[tuple[str, bytes]]]:
    generator = TrafficGenerator(config)
    objects = list(generator.objects())
    assert generator.truth is not None
    return generator.truth, objects


def test_truth_reconciles_with_every_fault_turned_up() -> None:
    # Given every knob well above its production rate
    config = GeneratorConfig(
        seed=21,
        hours=8,
        events_per_day=9_000,
        duplicate_rate=0.1,
        late_rate=0.1,
        malformed_rate=0.03,
        violation_rate=0.05,
        pii_rate=0.05,
    )
    # When the generator runs
    truth, objects = run(config)
    # Then every kind of fault happened, and the truth equals the recount
    assert all(
        truth.rejects[reason] > 0 for reason in ("malformed", "violation", "too_late", "corrupt_object")
    )
    assert {
        "malformed.truncated",
        "malformed.invalid_json",
        "malformed.non_utf8",
        "malformed.oversize",
    } <= set(truth.reject_details)
    assert {"violation.missing_field", "violation.ts_number", "violation.unknown_event_type"} <= set(
        truth.reject_details
    )
    assert {"violation.qty_string", "violation.negative_price", "violation.bad_currency"} <= set(
        truth.reject_details
    )
    assert truth.duplicate_lines > 0 and truth.pii_lines > 0 and truth.future_ts_lines > 0
    assert set(truth.pii_details) == {"props_email", "props_phone", "props_customer_name", "user_id_email"}
    assert truth.late_lines > 0 and truth.empty_objects and truth.corrupt_objects
    assert {c.damage for c in truth.corrupt_objects} == {"truncated", "bad_first_block"}
    assert any(c.lines_decodable > 0 for c in truth.corrupt_objects)
    assert_truth_matches(truth, objects)


def test_late_arrivals_are_mostly_within_72_hours() -> None:
    truth, _ = run(GeneratorConfig(seed=8, hours=24, events_per_day=6_000, late_rate=0.1))
    assert 0 < truth.rejects["too_late"] < truth.late_lines
    # late lines land in receive hours after the generated range
    last_hour = max(truth.partitions)
    assert last_hour > (truth.config.end + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00:00Z")


def test_duplicates_of_rejected_lines_are_rejects_not_duplicates() -> None:
    config = GeneratorConfig(seed=4, hours=2, events_per_day=6_000, duplicate_rate=0.5, violation_rate=0.3)
    truth, objects = run(config)
    assert truth.reject_details.get("violation.missing_field", 0) > 0
    assert_truth_matches(truth, objects)


def test_truth_file_is_written_outside_raw(tmp_path: Path) -> None:
    truth = generate_to_dir(GeneratorConfig.with_faults(seed=2, hours=2, events_per_day=3_000), tmp_path)
    assert (tmp_path / "_generated.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_generated.json", "raw"]
    written = orjson.loads((tmp_path / "_generated.json").read_bytes())
    assert written["lines_written"] == truth.lines_written
    assert set(written["rejects"]) == {"malformed", "violation", "too_late", "corrupt_object"}


rates = st.floats(min_value=0, max_value=0.3, allow_nan=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    hours=st.integers(min_value=1, max_value=3),
    events_per_day=st.integers(min_value=0, max_value=3_000),
    duplicate_rate=rates,
    late_rate=rates,
    malformed_rate=rates,
    violation_rate=rates,
    pii_rate=rates,
    max_object_lines=st.integers(min_value=1, max_value=200),
)
def test_truth_reconciles_for_any_seed_and_rates(
    seed: int,
    hours: int,
    events_per_day: int,
    duplicate_rate: float,
    late_rate: float,
    malformed_rate: float,
    violation_rate: float,
    pii_rate: float,
    max_object_lines: int,
) -> None:
    config = GeneratorConfig(
        seed=seed,
        hours=hours,
        events_per_day=events_per_day,
        duplicate_rate=duplicate_rate,
        late_rate=late_rate,
        malformed_rate=malformed_rate,
        violation_rate=violation_rate,
        pii_rate=pii_rate,
        max_object_lines=max_object_lines,
    )
    truth, objects = run(config)
    assert_truth_matches(truth, objects)
    assert list(generate_objects(config)) == objects
