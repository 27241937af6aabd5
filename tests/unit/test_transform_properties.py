"""Properties of a batch: dedupe and reconciliation of counts, for any mix of lines."""

from __future__ import annotations

import gzip
from collections import Counter
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickstream.core.contract import MAX_LINE_BYTES
from tests.support.transform import line, make_event, rejects_of, run

BAD_LINES = {
    "invalid_json": b'{"event_id": ',
    "not_utf8": b'{"x": "\xff"}',
    "not_an_object": b"[1, 2, 3]",
    "missing_field": b'{"event_type": "view"}',
    "unknown_event_type": line(make_event(event_type="pageview")),
    "negative_price": line(make_event(ecom={"product_id": "p", "currency": "EUR", "price": -3})),
    "bad_currency": line(make_event(ecom={"product_id": "p", "currency": "eur", "price": 3})),
    "invalid_field": line(make_event(geo={"country": "Germany"})),
    "too_late": line(make_event(ts="2025-10-01T00:00:00.000Z")),
    "line_too_long": b'{"pad": "' + b"x" * MAX_LINE_BYTES + b'"}',
}

# One line of an object: a valid event (by id), a bad line (by reason), or a blank line.
LINE_SPECS = st.one_of(
    st.tuples(st.just("valid"), st.integers(0, 15), st.booleans()),
    st.tuples(st.just("bad"), st.sampled_from(sorted(BAD_LINES)), st.booleans()),
    st.tuples(st.just("blank"), st.sampled_from([b"", b"  ", b"\r"]), st.booleans()),
)
OBJECTS = st.lists(
    st.tuples(st.lists(LINE_SPECS, max_size=25), st.sampled_from(["gzip", "plain", "corrupt"])),
    min_size=1,
    max_size=5,
)


def render(specs: list[tuple[str, Any, bool]]) -> bytes:
    out = []
    for kind, value, variant in specs:
        if kind == "valid":
            # The same id may come with different content: the first one seen wins.
            out.append(line(make_event(value, event_type="click" if variant else "view")))
        elif kind == "bad":
            out.append(BAD_LINES[value])
        else:
            out.append(value)
    return b"".join(x + b"\n" for x in out)


def encode(data: bytes, how: str) -> bytes:
    if how == "plain":
        return data
    packed = gzip.compress(data, compresslevel=1)
    return packed[: len(packed) // 2] if how == "corrupt" else packed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OBJECTS)
def test_counts_reconcile_and_each_event_id_is_staged_once(objects: list[tuple[list[Any], str]]) -> None:
    results, rows = run(*(encode(render(specs), how) for specs, how in objects))

    # Reconciliation, per object and in total.
    for result in results:
        assert result.lines_read == result.staged + result.duplicates + result.rejected
        assert result.rejected == sum(result.rejects.values())
    total = Counter[str]()
    for result in results:
        total.update(
            lines_read=result.lines_read, staged=result.staged, dup=result.duplicates, rej=result.rejected
        )
    assert total["lines_read"] == total["staged"] + total["dup"] + total["rej"]
    assert total["staged"] == len(rows)

    # Dedupe: output ids are unique, and every distinct valid id of a readable object is staged once.
    staged_ids = [row["event_id"] for row in rows]
    assert len(staged_ids) == len(set(staged_ids))
    expected: dict[str, tuple[int, str]] = {}  # event_id -> (src, event_type) of its first valid line
    for src, ((specs, how), result) in enumerate(zip(objects, results, strict=True)):
        if how == "corrupt":
            assert result.quarantined and result.staged == 0
            continue
        non_blank = [s for s in specs if s[0] != "blank"]
        assert result.lines_read == len(non_blank)
        assert result.rejects == dict(Counter(s[1] for s in non_blank if s[0] == "bad"))
        for kind, value, variant in non_blank:
            if kind == "valid":
                event = make_event(value)
                expected.setdefault(event["event_id"], (src, "click" if variant else "view"))
    assert {row["event_id"]: (int(row["src"] or -1), row["event_type"]) for row in rows} == expected

    # Staged rows per object match its count; every rejected line has its record.
    per_src = Counter(int(row["src"] or -1) for row in rows)
    for src, result in enumerate(results):
        assert per_src[src] == result.staged
        if result.rejected and not result.quarantined:
            records = rejects_of(result)
            assert len(records) == result.rejected
            assert Counter(r["reason"] for r in records) == Counter(result.rejects)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=200))
def test_staged_equals_distinct_ids(ids: list[int]) -> None:
    data = b"".join(orjson.dumps(make_event(i)) + b"\n" for i in ids)
    (result,), rows = run(gzip.compress(data))
    assert result.staged == len(set(ids)) == len(rows)
    assert result.duplicates == len(ids) - len(set(ids))
