"""The fast path (orjson + a hand-written check) decides exactly as pydantic does.

For every generated or mutated line, ``decode_line(line, fast_path=True)``
and ``decode_line(line, fast_path=False)`` (pydantic only) must agree: both
reject with the same reason and detail, or both accept and the staged row is
byte for byte the same.
"""

from __future__ import annotations

import json
import os
from typing import Any

import orjson
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from clickstream.pipeline.staged import copy_line
from clickstream.pipeline.transform import Event, Rejection, decode_line, event_line, event_values, fast_event
from tests.support.transform import make_event

KEY = b"fast-path-key"
# FASTPATH_EXAMPLES=20000 for a long search before changing fast_event.
SETTINGS = settings(
    max_examples=int(os.environ.get("FASTPATH_EXAMPLES", "600")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

UUIDS = st.sampled_from(
    [
        "0b6e3a1e-6c1f-4f3e-9a57-4c4b7a0c9e11",
        "0B6E3A1E-6C1F-4F3E-9A57-4C4B7A0C9E11",
        "0b6e3a1e6c1f4f3e9a574c4b7a0c9e11",
        "urn:uuid:0b6e3a1e-6c1f-4f3e-9a57-4c4b7a0c9e11",
        "{0b6e3a1e-6c1f-4f3e-9a57-4c4b7a0c9e11}",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "0b6e3a1e-6c1f-4f3e-9a57-4c4b7a0c9e1",
        "0b6e3a1e-6c1f-4f3e-9a57-4c4b7a0c9e11 ",
        "0b6e3a1e-6c1f-4f3e-9a57-4c4b7a0c9e1g",
        "",
    ]
) | st.uuids().map(str)

TIMESTAMPS = st.sampled_from(
    [
        "2025-10-18T13:05:01.123Z",
        "2025-10-18T13:05:01Z",
        "2025-10-18T13:05:01.1Z",
        "2025-10-18T13:05:01.123456Z",
        "2025-10-18T13:05:01.1234567Z",
        "2025-10-18T13:05:01.000Z",
        "2025-10-18T15:05:01.123+02:00",
        "2025-10-18T13:05:01-23:59",
        "2025-10-18T13:05:01+24:00",
        "2025-10-18T13:05:01+0200",
        "2025-10-18t13:05:01.123z",
        "2025-10-18 13:05:01.123Z",
        "2025-10-18T13:05:01.123",
        "2025-10-18",
        "2025-W42-6T13:05:01.123Z",
        "2025-10-18T23:59:60Z",
        "2025-02-29T00:00:00Z",
        "2024-02-29T00:00:00.5Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "0000-01-01T00:00:00Z",
        "2025-10-18T13:05:01,123Z",
        "٢٠٢٥-10-18T13:05:01Z",
        "20251018T130501Z",
        "2025-10-15T13:05:01.123Z",
        "2025-10-18T13:15:01.123Z",
    ]
) | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())

TEXT = st.text(max_size=12) | st.sampled_from(["", " ", "x" * 129, "x" * 257, "é", "a\tb", "\\", "a\x00b"])
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
PRICES = (
    st.integers(min_value=-5, max_value=10**13)
    | st.floats(min_value=-1, max_value=1e11)
    | st.floats()
    | st.decimals(allow_nan=False, allow_infinity=False).map(str)
    | st.sampled_from(
        ["79.99", "79.9", "79.900", "0", "0.00", "-0", "-0.0", "1e2", " 1.5", "01.5", "1.", ".5"]
    )
    | st.sampled_from([0.0, -0.0, 79.99, 100.0, 1e10, 9999999999.99, 0.1 + 0.2, 5e-324, True, None, [], {}])
)
CODES = st.sampled_from(["EUR", "USD", "eur", "EU", "EURO", "ÄBC", "E1R", "DE", "de", "ÅÅ", "", 978, None])
URLS = (
    st.none()
    | TEXT
    | st.sampled_from(
        [
            "https://shop.example.com/p?utm_source=google&utm_medium=cpc",
            "https://shop.example.com/?utm_source=a%09b&utm_medium=%5C",
            "https://www.google.com/",
            "http://[::1",
            "x" * 4097,
        ]
    )
)


def _optional(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, or the key left out (MISSING)."""
    return st.just(MISSING) | value


MISSING: Any = object()

DEVICES = (
    st.none()
    | JSON_VALUES
    | st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["mobile", "desktop", "tablet", "phone", "", None, 1]),
            "user_agent": st.none() | TEXT | st.just("u" * 1025),
        },
    )
)
GEOS = (
    st.none() | JSON_VALUES | st.fixed_dictionaries({}, optional={"country": CODES, "city": st.none() | TEXT})
)
ECOMS = (
    st.none()
    | JSON_VALUES
    | st.fixed_dictionaries(
        {},
        optional={
            "product_id": TEXT | st.just(1),
            "category": st.none() | TEXT,
            "currency": CODES,
            "price": PRICES,
            "qty": st.sampled_from([1, 2, 0, 10_000, 10_001, -1, True, 1.0, None, "2"]),
        },
    )
)
EVENT_TYPES = st.sampled_from(
    ["view", "click", "search", "add_to_cart", "checkout", "purchase", "impression", "VIEW", "x", 1]
)
ITEM_LISTS = (
    st.none()
    | JSON_VALUES
    | st.fixed_dictionaries(
        {},
        optional={
            "name": st.none() | TEXT | st.just("n" * 129) | st.just(1),
            "product_ids": st.none()
            | st.lists(TEXT | st.just(1) | st.just("p" * 257), max_size=4)
            | st.just(["p"] * 201)
            | JSON_VALUES,
            "extra": JSON_VALUES,
        },
    )
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with any subset of its fields replaced by interesting values."""
    event = make_event(draw(st.integers(0, 1000)))
    candidates = {
        "event_id": UUIDS | JSON_SCALARS,
        "session_id": UUIDS,
        "ts": TIMESTAMPS | JSON_SCALARS,
        "received_at": TIMESTAMPS,
        "event_type": EVENT_TYPES,
        "anonymous_id": TEXT | JSON_SCALARS,
        "user_id": st.none() | TEXT,
        "page_url": URLS,
        "referrer": URLS,
        "device": DEVICES,
        "geo": GEOS,
        "ecom": ECOMS,
        "item_list": ITEM_LISTS,
        "props": st.none() | JSON_VALUES | st.dictionaries(TEXT, JSON_VALUES, max_size=4),
        "extra": JSON_VALUES,
    }
    for name in draw(st.sets(st.sampled_from(sorted(candidates)), max_size=4)):
        value = draw(_optional(candidates[name]))
        if value is MISSING:
            event.pop(name, None)
        else:
            event[name] = value
    return event


def serialise(event: dict[str, Any], ascii_only: bool) -> bytes:
    # The standard library writes what orjson refuses (NaN, big integers), like a foreign client.
    return json.dumps(event, ensure_ascii=ascii_only, allow_nan=True).encode("utf-8", errors="surrogatepass")


def assert_same_decision(line: bytes) -> None:
    fast = decode_line(line, fast_path=True)
    slow = decode_line(line, fast_path=False)
    if isinstance(slow, Rejection) or isinstance(fast, Rejection):
        assert fast == slow
        return
    # repr: exact Decimal digits, tzinfo, and NaN in props compare as written
    assert repr(fast) == repr(slow)
    for clamped in (False, True):
        row = event_line(7, fast, clamped, KEY, line)
        assert row == event_line(7, slow, clamped, KEY, line)
        # The row is joined without escaping only when that gives exactly copy_line's text.
        assert row == copy_line(event_values(7, fast, clamped, KEY))


@SETTINGS
@given(events(), st.booleans())
@example(make_event(ecom={"product_id": "p", "currency": "EUR", "price": 5.0}), False)
@example(make_event(ecom={"product_id": "p", "currency": "EUR", "price": -0.0}), False)
@example(make_event(props={"big": 2**64 + 1}), False)
@example(make_event(props={"big": -(2**63) - 1}), False)
@example(make_event(props={"x": float("nan")}), False)
@example(
    make_event(
        props={"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
    ),
    False,
)
@example(make_event(ts="0001-01-01T00:00:00+01:00"), False)
@example(
    make_event(event_type="impression", ecom=None, item_list={"name": "l", "product_ids": ["a", "b"]}), False
)
@example(make_event(event_type="impression", item_list={"name": "l", "product_ids": []}), False)
@example(make_event(event_type="impression"), False)
@example(make_event(event_type="click", ecom=None, item_list={"name": "l"}), False)
@example(make_event(event_type="click", item_list={"name": "l", "x": 1}), False)
@example(make_event(event_type="view", item_list={"name": "l", "product_ids": ["p"] * 201}), False)
@example(make_event(user_id="a\ud800b"), True)
def test_fast_path_and_pydantic_agree_on_generated_events(event: dict[str, Any], ascii_only: bool) -> None:
    assert_same_decision(serialise(event, ascii_only))


@st.composite
def mutated_lines(draw: st.DrawFn) -> bytes:
    """A valid line with bytes inserted, deleted or replaced, or a key duplicated."""
    raw = bytearray(orjson.dumps(make_event(draw(st.integers(0, 1000)))))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        at = draw(st.integers(0, len(raw) - 1))
        if kind == "insert":
            raw[at:at] = draw(
                st.binary(min_size=1, max_size=4) | st.sampled_from([b"\\u0000", b"\\ud800", b"\\\\"])
            )
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 8))]
        elif kind == "replace":
            raw[at] = draw(st.integers(0, 255))
        else:
            field = draw(st.sampled_from([b'"event_type":"click",', b'"event_id":5,', b'"ts":"bad",']))
            raw[1:1] = field
        if not raw:
            raw = bytearray(b"{}")
    return bytes(raw)


@SETTINGS
@given(mutated_lines())
def test_fast_path_and_pydantic_agree_on_mutated_lines(line: bytes) -> None:
    assume(line.strip())
    assert_same_decision(line)


@SETTINGS
@given(JSON_VALUES)
def test_fast_path_and_pydantic_agree_on_any_json(value: Any) -> None:
    assert_same_decision(json.dumps(value, allow_nan=True).encode("utf-8", errors="surrogatepass"))


def test_deep_props_are_left_to_pydantic() -> None:
    for depth in (30, 33, 150, 250, 900, 1100):
        line = orjson.dumps(make_event(props={"deep": 0}))
        assert_same_decision(line.replace(b'"deep":0', b'"deep":' + b"[" * depth + b"1" + b"]" * depth))


def test_the_fast_path_takes_the_common_valid_shapes() -> None:
    # Not a correctness property: it is what makes the fast path worth having.
    common = [
        make_event(),
        make_event(user_id="u1", page_url=None, referrer=None, ecom=None, props={}),
        make_event(ts="2025-10-18T15:05:01+02:00", device={"user_agent": "Mozilla/5.0"}, geo={}),
        make_event(ecom={"product_id": "p", "currency": "USD", "price": "12.50", "qty": 3}),
        make_event(ecom={"product_id": "p", "currency": "USD", "price": 12}),
        make_event(props={"search_query": "usb c", "nested": {"a": [1, 2.5, None, True]}}),
    ]
    for event in common:
        assert isinstance(fast_event(orjson.loads(orjson.dumps(event))), Event), event


def test_one_match_for_ids_and_times_cannot_shift_boundaries() -> None:
    # The four fields are checked in one match over "event_id|session_id|ts|received_at".
    u, t = "0b6e3a1e-6c1f-4f3e-9a57-4c4b7a0c9e11", "2025-10-18T13:05:01.123Z"
    shifted = [
        {"event_id": f"{u}|{u}", "session_id": t, "ts": t, "received_at": ""},
        {"event_id": u, "session_id": f"{u}|{t}", "ts": t, "received_at": ""},
        {"event_id": u, "session_id": u, "ts": f"{t}|{t}", "received_at": ""},
        {"event_id": u, "session_id": u, "ts": "", "received_at": f"{t}|{t}"},
        {"event_id": f"{u}|", "session_id": u, "ts": t, "received_at": t},
    ]
    for fields in shifted:
        line = orjson.dumps(make_event(**fields))
        assert fast_event(orjson.loads(line)) is None
        assert_same_decision(line)
