"""Transform: raw lake objects in, one staged batch (COPY rows + manifest) out.

``BatchTransformer`` is the logic (bytes in, bytes and counts out, no I/O);
``transform_work_item`` is the one function the handler calls: it reads the
work file and the raw objects through a ``Lake``, feeds them to a
``BatchTransformer`` and writes the staged batch, its manifest and the rejects.

Counting, per object (and so per batch):

- ``lines_read = staged + duplicates + rejected + filtered``,
  ``rejected = sum(rejects.values())`` and ``filtered`` = the sum of
  ``filters`` ({reason: {family: lines}}), always. A *filtered* line is a
  valid event that a bot or spam rule of clickstream.pipeline.bots says no
  human sent (docs/BOTS.md): it is counted, not staged. The rules run before
  dedupe, so every copy of a bot's line is filtered (never a duplicate),
  whichever batch or run it arrives in: a filtered event is never in the
  warehouse to be a duplicate of.
- A line is the bytes between two newlines. Blank lines (empty or only
  whitespace, e.g. a trailing newline or CRLF leftovers) carry no event: they
  are skipped and not counted at all, but ``line_no`` in reject records counts
  every physical line (1-based) so a reject can be found in the raw object.
- Duplicates: the first occurrence of an event_id in the batch wins (object
  order, then line order); a later copy counts as a duplicate of the object it
  is in. Only valid lines take part: a line is first checked against the
  contract and the clock, and only then deduplicated.
- A corrupt or truncated gzip object is quarantined whole: its exact bytes are
  copied beside its rejects (``*.quarantined.gz``), nothing of it is staged,
  and its complete lines decoded before the corruption are its
  ``lines_read``, all ``rejected`` with reason ``corrupt_gzip`` (0 and 0 when
  the corruption is in the first block). Its rejects object holds one record
  for the whole object.

Reason codes (``REASONS``), from pydantic's structured errors (type and loc),
never from message text. When a line breaks several rules the first code in
this order is its reason: corrupt_gzip, line_too_long, not_utf8, invalid_json,
not_an_object, missing_field (absent, or null where a value is needed),
unknown_event_type (a string outside the enum), negative_price, bad_currency
(any problem with ecom.currency), invalid_field (any other contract error, a
timestamp out of range, a NUL character, which PostgreSQL cannot store, or a
revenue beyond numeric(14, 2)), too_late (ts more than 72 hours before
received_at; ts more than 5 minutes after received_at is clamped, not rejected).

Speed: a line is parsed by orjson and checked by ``fast_event``, a
hand-written check that accepts only the plain, common shape of a valid event
and answers None for anything else; pydantic (``RawEvent``) is the authority
for every line the fast check does not accept, so the fast check can only
make the common case cheaper, never change a decision
(tests/unit/test_transform_fastpath.py checks both on generated and mutated lines).
"""

from __future__ import annotations

import gc
import importlib
import math
import re
import time
import zlib
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from clickstream.core import lake as layout
from clickstream.core.contract import MAX_LINE_BYTES, MAX_LIST_PRODUCTS, RawEvent
from clickstream.core.errors import ContractViolation
from clickstream.core.observability import logger
from clickstream.core.settings import Settings
from clickstream.core.storage import Lake
from clickstream.pipeline.bots import (
    BEHAVIOUR_RATE,
    BURST_EVENTS,
    BURST_FAMILY,
    RULES_VERSION,
    UserAgent,
    burst_visitors,
    filter_reason,
    parse_user_agent,
    rule_for,
)
from clickstream.pipeline.normalize import (
    PageContext,
    check_clock,
    clean_props,
    hash_user_id,
    page_context,
    props_json,
    utc_text,
)
from clickstream.pipeline.staged import NULL, copy_line
from clickstream.pipeline.states import TransformPartitionInput, parse_event

# The staged batch's compressor: ISA-L's deflate when installed (the same gzip format, about
# 7x faster than zlib at level 1 and a little smaller), else zlib. Decompression stays zlib's.
_deflate: Any
try:
    _deflate = importlib.import_module("isal.isal_zlib")
except ImportError:
    _deflate = zlib

# ------------------------------------------------------------------ reasons

CORRUPT_GZIP = "corrupt_gzip"
LINE_TOO_LONG = "line_too_long"
NOT_UTF8 = "not_utf8"
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
NEGATIVE_PRICE = "negative_price"
BAD_CURRENCY = "bad_currency"
INVALID_FIELD = "invalid_field"
TOO_LATE = "too_late"
REASONS = (
    CORRUPT_GZIP,
    LINE_TOO_LONG,
    NOT_UTF8,
    INVALID_JSON,
    NOT_AN_OBJECT,
    MISSING_FIELD,
    UNKNOWN_EVENT_TYPE,
    NEGATIVE_PRICE,
    BAD_CURRENCY,
    INVALID_FIELD,
    TOO_LATE,
)
_PRIORITY = {reason: i for i, reason in enumerate(REASONS)}
MAX_REVENUE = Decimal(10) ** 12  # fact_events.revenue is numeric(14, 2)


class Rejection(NamedTuple):
    reason: str
    detail: str


def _error_reason(error: ErrorDetails) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "json_invalid":
        return INVALID_JSON
    if kind == "model_type" and loc == ():
        return NOT_AN_OBJECT
    if kind == "missing" or error.get("input", 0) is None:
        return MISSING_FIELD
    if loc == ("event_type",) and kind == "enum" and isinstance(error.get("input"), str):
        return UNKNOWN_EVENT_TYPE
    if loc == ("ecom", "price") and kind == "greater_than_equal":
        return NEGATIVE_PRICE
    if loc == ("ecom", "currency"):
        return BAD_CURRENCY
    return INVALID_FIELD


def rejection_from_errors(errors: list[ErrorDetails]) -> Rejection:
    """The reason (by the priority of REASONS) and a short detail of a ValidationError."""
    reasons = [_error_reason(e) for e in errors] or [INVALID_FIELD]
    reason = min(reasons, key=_PRIORITY.__getitem__)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(line)'}: {e['type']}: {e['msg']}" for e in errors[:3]]
    if len(errors) > 3:
        parts.append(f"and {len(errors) - 3} more")
    return Rejection(reason, "; ".join(parts))


# ------------------------------------------------------------------ events


class Event(NamedTuple):
    """One valid line, flattened; what both the fast and the pydantic path produce."""

    event_id: str  # canonical lower-case UUID, the dedupe key
    ts: datetime  # UTC
    received_at: datetime  # UTC
    ts_text: str  # normalize.utc_text(ts)
    received_text: str  # normalize.utc_text(received_at)
    event_type: str
    session_id: str
    anonymous_id: str
    user_id: str | None
    page_url: str | None
    referrer: str | None
    device_type: str | None
    user_agent: str | None
    country: str | None
    city: str | None
    product_id: str | None
    category: str | None
    currency: str | None
    price: Decimal | None
    qty: int | None
    props: dict[str, Any]
    item_list: dict[str, Any] | None = None  # {"name", "product_ids"?}: stored as props.item_list
    product_name: str | None = None  # ecom.name


def slow_event(line: bytes) -> Event | Rejection:
    """The authority: pydantic's strict RawEvent, for any line."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(NOT_UTF8, f"invalid UTF-8 at byte {exc.start}: {exc.reason}")
    try:
        raw = RawEvent.model_validate_json(line)
    except ValidationError as exc:
        return rejection_from_errors(exc.errors(include_url=False, include_context=False))
    try:
        ts, received_at = raw.ts.astimezone(UTC), raw.received_at.astimezone(UTC)
    except OverflowError:
        return Rejection(INVALID_FIELD, "ts or received_at is out of range in UTC")
    ecom = raw.ecom
    return Event(
        str(raw.event_id),
        ts,
        received_at,
        utc_text(ts),
        utc_text(received_at),
        raw.event_type.value,
        str(raw.session_id),
        raw.anonymous_id,
        raw.user_id,
        raw.page_url,
        raw.referrer,
        raw.device.type.value if raw.device.type is not None else None,
        raw.device.user_agent,
        raw.geo.country,
        raw.geo.city,
        ecom.product_id if ecom else None,
        ecom.category if ecom else None,
        ecom.currency if ecom else None,
        ecom.price if ecom else None,
        ecom.qty if ecom else None,
        dict(raw.props),
        raw.item_list.model_dump(exclude_none=True) if raw.item_list is not None else None,
        ecom.name if ecom else None,
    )


# The fast check: the narrow shapes below are a subset of what RawEvent
# accepts, chosen so that the values come out the same as pydantic's.
_UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_TS_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
# event_id|session_id|ts|received_at in one match (a regex call costs more than its
# characters): "|" is in neither alphabet, so a match splits at the original boundaries.
_IDS_AND_TIMES = re.compile(f"{_UUID_RE}\\|{_UUID_RE}\\|{_TS_RE}\\|{_TS_RE}").fullmatch
_PRICE_TEXT = re.compile(r"(?:0|[1-9][0-9]{0,9})(?:\.[0-9]{1,2})?").fullmatch
_EVENT_TYPES = frozenset({"view", "click", "search", "add_to_cart", "checkout", "purchase", "impression"})
_DEVICE_TYPES = frozenset({"mobile", "desktop", "tablet"})
_MISSING: Any = object()
_MAX_PROPS_DEPTH = 32  # pydantic's JSON parser refuses deep nesting that orjson reads
_BIG_FLOAT = float(2**63)  # orjson reads integers beyond 64 bits as floats; pydantic as ints


def _fast_utc(value: str) -> tuple[datetime, str]:
    """(UTC datetime, utc_text) of a timestamp that matched _TS_RE; ValueError, OverflowError."""
    parsed = datetime.fromisoformat(value)
    if value[-1] != "Z":
        parsed = parsed.astimezone(UTC)
    elif len(value) == 24:  # YYYY-MM-DDTHH:MM:SS.mmmZ is its own utc_text but for the offset
        return parsed, value[:23] + "+00:00"
    return parsed, utc_text(parsed)


def _fast_price(value: Any) -> Decimal | None:
    kind = type(value)
    if kind is int:
        return Decimal(value) if 0 <= value < 10**10 else None
    if kind is str:
        return Decimal(value) if _PRICE_TEXT(value) else None
    if kind is float and 0.0 <= value < 1e10 and math.copysign(1.0, value) > 0:
        if value.is_integer():
            return Decimal(int(value))
        text = repr(value)
        return Decimal(text) if _PRICE_TEXT(text) else None
    return None


# Every string ^[A-Z]{2}$ (geo.country) and ^[A-Z]{3}$ (ecom.currency) matches: a set lookup.
_LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
_ALPHA2 = frozenset(a + b for a in _LETTERS for b in _LETTERS)
_ALPHA3 = frozenset(a + b for a in _ALPHA2 for b in _LETTERS)


def _plain_json(value: Any, depth: int) -> bool:
    """True when orjson and pydantic read this props value the same way."""
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is float:
            if not -_BIG_FLOAT < item < _BIG_FLOAT:
                return False
        elif (kind is dict or kind is list) and (
            depth >= _MAX_PROPS_DEPTH or not _plain_json(item, depth + 1)
        ):
            return False
    return True


def _two_fields(value: Any, first: str, second: str) -> tuple[Any, Any] | None:
    """Two fields of an optional nested object (device, geo): both None when it is absent
    (_MISSING), None when it is there but not an object."""
    if value is _MISSING:
        return None, None
    if type(value) is not dict:
        return None
    return value.get(first), value.get(second)


def fast_event(obj: dict[str, Any]) -> Event | None:
    """The Event of a parsed line in the common valid shape, else None (ask pydantic).

    Every check mirrors a RawEvent rule (strict types, lengths, enums,
    patterns, bounds) but accepts less: None means "not sure", never "invalid".
    """
    get = obj.get
    event_id = get("event_id")
    session_id = get("session_id")
    ts_raw = get("ts")
    received_raw = get("received_at")
    if not (
        type(event_id) is str
        and type(session_id) is str
        and type(ts_raw) is str
        and type(received_raw) is str
        and _IDS_AND_TIMES(f"{event_id}|{session_id}|{ts_raw}|{received_raw}")
    ):
        return None
    try:
        ts = _fast_utc(ts_raw)
        received = _fast_utc(received_raw)
    except (ValueError, OverflowError):
        return None
    event_type = get("event_type")
    anonymous_id = get("anonymous_id")
    user_id = get("user_id")
    page_url = get("page_url")
    referrer = get("referrer")
    if not (
        type(event_type) is str
        and event_type in _EVENT_TYPES
        and type(anonymous_id) is str
        and 0 < len(anonymous_id) <= 128
        and (user_id is None or (type(user_id) is str and 0 < len(user_id) <= 256))
        and (page_url is None or (type(page_url) is str and len(page_url) <= 4096))
        and (referrer is None or (type(referrer) is str and len(referrer) <= 4096))
    ):
        return None

    device = _two_fields(get("device", _MISSING), "type", "user_agent")
    geo = _two_fields(get("geo", _MISSING), "country", "city")
    if device is None or geo is None:
        return None
    declared, user_agent = device
    country, city = geo
    if not (
        (declared is None or (type(declared) is str and declared in _DEVICE_TYPES))
        and (user_agent is None or (type(user_agent) is str and len(user_agent) <= 1024))
        and (country is None or (type(country) is str and country in _ALPHA2))
        and (city is None or (type(city) is str and len(city) <= 128))
    ):
        return None

    product_id = category = currency = price = qty = product_name = None
    ecom = get("ecom")
    if ecom is not None:
        if type(ecom) is not dict:
            return None
        product_id = ecom.get("product_id")
        category = ecom.get("category")
        currency = ecom.get("currency")
        qty = ecom.get("qty", 1)
        price = _fast_price(ecom.get("price"))
        product_name = ecom.get("name")
        if not (
            price is not None
            and type(product_id) is str
            and 0 < len(product_id) <= 256
            and (category is None or (type(category) is str and 0 < len(category) <= 256))
            and (product_name is None or (type(product_name) is str and 0 < len(product_name) <= 256))
            and type(currency) is str
            and currency in _ALPHA3
            and type(qty) is int
            and 1 <= qty <= 10_000
        ):
            return None

    props = get("props", _MISSING)
    if props is _MISSING:
        props = {}
    elif type(props) is not dict or (props and not _plain_json(props, 1)):
        return None

    item_list = get("item_list")
    if item_list is not None:
        item_list = _fast_item_list(item_list)
        if item_list is None or (event_type == "click" and ecom is None):
            return None
    if event_type == "impression" and not (item_list and item_list.get("product_ids")):
        return None

    return Event(
        event_id,
        ts[0],
        received[0],
        ts[1],
        received[1],
        event_type,
        session_id,
        anonymous_id,
        user_id,
        page_url,
        referrer,
        declared,
        user_agent,
        country,
        city,
        product_id,
        category,
        currency,
        price,
        qty,
        props,
        item_list,
        product_name,
    )


def _fast_item_list(value: Any) -> dict[str, Any] | None:
    """RawEvent's item_list in its plain shape, as pydantic dumps it (no unknown keys), else None."""
    if type(value) is not dict:
        return None
    name = value.get("name")
    ids = value.get("product_ids")
    if not (type(name) is str and 0 < len(name) <= 128):
        return None
    if ids is None:
        return {"name": name}
    if not (
        type(ids) is list
        and len(ids) <= MAX_LIST_PRODUCTS
        and all(type(i) is str and 0 < len(i) <= 256 for i in ids)
    ):
        return None
    return {"name": name, "product_ids": ids}


def decode_line(line: bytes, fast_path: bool = True) -> Event | Rejection:
    """A non-blank line of at most MAX_LINE_BYTES -> its Event, or why it is rejected."""
    if fast_path:
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is dict:
            event = fast_event(obj)
            if event is not None:
                return event
    return slow_event(line)


def _has_nul(value: Any) -> bool:
    if type(value) is str:
        return "\x00" in value
    if type(value) is dict:
        return any("\x00" in k or _has_nul(v) for k, v in value.items())
    if type(value) in (list, tuple, Event):
        return any(_has_nul(v) for v in value)
    return False


def check_event(event: Event, line: bytes) -> Rejection | None:
    """The checks beyond the contract: what PostgreSQL could not store."""
    if b"\\u0000" in line and _has_nul(event):
        return Rejection(INVALID_FIELD, "a string contains U+0000, which PostgreSQL cannot store")
    price, qty = event.price, event.qty
    if (
        event.event_type == "purchase"
        and price is not None
        and qty is not None
        and price * qty >= MAX_REVENUE
    ):
        return Rejection(INVALID_FIELD, "ecom.price x ecom.qty exceeds numeric(14, 2)")
    return None


# ----------------------------------------------------------------- staged rows

Row = tuple[str | None, ...]


def event_values(
    src: int,
    event: Event,
    clamped: bool,
    hmac_key: bytes,
    page: PageContext | None = None,
    null: str | None = None,
    ua: Any = _MISSING,
) -> Row:
    """The STAGED_COLUMNS values of one accepted event, as text.

    ``clamped``: ts was more than 5 minutes after received_at, so the row's ts
    is received_at. ``page`` is ``page_context(event.page_url,
    event.referrer)`` when the caller has it; page_url and referrer are
    stored as it has them, without personal query parameters. ``null``
    stands for a null value: None (the default) for ``copy_line``, or
    ``\\N`` when the values are joined as they are (see event_line).
    ``ua`` is ``user_agent_of(event.user_agent)`` when the caller has it.
    """
    (
        event_id,
        ts,
        received_at,
        ts_text,
        received_text,
        event_type,
        session_id,
        anonymous_id,
        user_id,
        page_url,
        referrer,
        declared_device,
        user_agent,
        country,
        city,
        product_id,
        category,
        currency,
        price,
        qty,
        props,
        item_list,
        product_name,
    ) = event
    if page is None:
        page = page_context(page_url, referrer)
    if clamped:
        ts, ts_text = received_at, received_text
    # device (when the tracker sent none), browser and OS from the user agent (cached per distinct one)
    if ua is _MISSING:
        ua = user_agent_of(user_agent)
    search_query = None
    if props:
        props, search_query = clean_props(props)
    # props.item_list is where the warehouse keeps the event's item_list (never a client's props)
    if item_list is not None:
        props = {**props, "item_list": item_list}
    elif "item_list" in props:
        props = {k: v for k, v in props.items() if k != "item_list"}
    price_text = qty_text = revenue_text = null
    if price is not None and qty is not None:
        price_text, qty_text = format(price, "f"), str(qty)
        if event_type == "purchase":
            revenue_text = format(price * qty, "f")
    return (
        str(src),
        event_id,
        session_id,
        anonymous_id,
        null if user_id is None else hash_user_id(user_id, hmac_key),
        event_type,
        ts_text,
        received_text,
        ts_text[:10],
        str(ts.hour),
        null if page.page_url is None else page.page_url,
        null if page.path is None else page.path,
        null if page.referrer is None else page.referrer,
        null if page.referrer_host is None else page.referrer_host,
        null if page.utm_source is None else page.utm_source,
        null if page.utm_medium is None else page.utm_medium,
        null if page.utm_campaign is None else page.utm_campaign,
        null if page.utm_term is None else page.utm_term,
        null if page.utm_content is None else page.utm_content,
        page.channel,
        declared_device or (ua.device if ua is not None else "unknown"),
        null if country is None else country,
        null if city is None else city,
        null if product_id is None else product_id,
        null if category is None else category,
        null if currency is None else currency,
        price_text,
        qty_text,
        revenue_text,
        null if search_query is None else search_query,
        props_json(props),
        "t" if clamped else "f",
        null if ua is None or ua.browser is None else ua.browser,
        null if ua is None or ua.os is None else ua.os,
        null if product_name is None else product_name,
    )


def event_line(
    src: int,
    event: Event,
    clamped: bool,
    hmac_key: bytes,
    line: bytes,
    page: PageContext | None = None,
    ua: Any = _MISSING,
) -> str:
    """The COPY row of one accepted event read from ``line``: ``copy_line(event_values(...))``.

    Escaping is needed only when the raw line has a backslash (every JSON
    string with a backslash, tab, newline, CR or quote has one) or a
    percent-decoded UTM value brought such a character in; otherwise the
    values, with ``\\N`` for null, are joined as they are. ``page`` and ``ua``
    as in event_values.
    """
    if page is None:
        page = page_context(event.page_url, event.referrer)
    if b"\\" in line or page.needs_escape:
        return copy_line(event_values(src, event, clamped, hmac_key, page, None, ua))
    return "\t".join(event_values(src, event, clamped, hmac_key, page, NULL, ua))  # type: ignore[arg-type]


def user_agent_of(user_agent: str | None) -> UserAgent | None:
    """Device, browser, OS and bot of a user agent that is not blank (cached per distinct one), else None."""
    return parse_user_agent(user_agent) if user_agent and not user_agent.isspace() else None


def event_filter(event: Event) -> tuple[str, str] | None:
    """(reason, family) when a bot or spam rule filters the event (clickstream.pipeline.bots), else None."""
    referrer = event.referrer
    host = page_context(event.page_url, referrer).referrer_host if referrer else None
    return filter_reason(event.user_agent, host)


def _filter_rule(event: Event, page: PageContext, ua: UserAgent | None) -> tuple[str, str] | None:
    """event_filter(event) from what the row needs anyway: its page context and its user agent.

    ``ua`` is ``user_agent_of(event.user_agent)``; a blank (whitespace) user agent, None there,
    is still matched against the bot patterns, as filter_reason does.
    """
    if ua is None:
        return filter_reason(event.user_agent, page.referrer_host)
    return rule_for(ua.bot, page.referrer_host)


# ---------------------------------------------------------------- raw objects

GZIP_MAGIC = b"\x1f\x8b"
ROWS_PER_CHUNK = 2048  # staged rows compressed at a time
_IN_CHUNK = 256 * 1024
_OUT_CHUNK = 1024 * 1024


class CorruptGzip(Exception):
    """The object starts like gzip but does not decompress to its end."""


def _gunzip_chunks(data: bytes) -> Iterator[bytes]:
    """Decompressed chunks of a (possibly multi-member) gzip object, bounded in size."""
    view = memoryview(data)
    size, pos = len(data), 0
    inflater = zlib.decompressobj(wbits=31)
    while True:
        if inflater.unconsumed_tail:
            chunk: bytes | memoryview = inflater.unconsumed_tail
        elif pos < size:
            chunk = view[pos : pos + _IN_CHUNK]
            pos += len(chunk)
        else:
            try:
                rest = inflater.flush()
            except zlib.error as exc:
                raise CorruptGzip(f"gzip stream broken: {exc}") from exc
            if rest:
                yield rest
            if not inflater.eof:
                raise CorruptGzip(f"gzip stream truncated after {size} compressed bytes")
            return
        try:
            out = inflater.decompress(chunk, _OUT_CHUNK)
        except zlib.error as exc:
            raise CorruptGzip(f"gzip stream broken near compressed byte {pos}: {exc}") from exc
        if out:
            yield out
        if inflater.eof:
            pos -= len(inflater.unused_data)
            if pos >= size or not any(view[pos:]):  # the end, or zero padding
                return
            if view[pos : pos + 2] != GZIP_MAGIC:
                raise CorruptGzip(f"garbage after the gzip stream at byte {pos}")
            inflater = zlib.decompressobj(wbits=31)


def _plain_chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), _OUT_CHUNK):
        yield data[start : start + _OUT_CHUNK]


def iter_line_blocks(data: bytes) -> Iterator[list[bytes]]:
    """Lists of lines (without their newline) of a raw object, gzip or plain NDJSON.

    The object is decompressed incrementally, so its decompressed form never
    sits whole in memory. A line longer than MAX_LINE_BYTES may come out cut
    after MAX_LINE_BYTES + 1 bytes (it is rejected as too long either way).
    Raises CorruptGzip after the blocks that could be decoded.
    """
    chunks = _gunzip_chunks(data) if data[:2] == GZIP_MAGIC else _plain_chunks(data)
    carry = b""
    for chunk in chunks:
        lines = chunk.split(b"\n")
        if carry:
            lines[0] = carry + lines[0]
        carry = lines.pop()
        if len(carry) > MAX_LINE_BYTES:
            carry = carry[: MAX_LINE_BYTES + 1]
        if lines:
            yield lines
    if carry:
        yield [carry]


# ------------------------------------------------------------------ the batch


@dataclass(frozen=True, slots=True)
class SourceObject:
    key: str
    etag: str
    size: int

    @property
    def partition_hour(self) -> str:
        return layout.hour_iso(layout.partition_hour(self.key))


@dataclass(slots=True)
class ObjectResult:
    """What one raw object produced: its counts, and its rejects object if any."""

    source: SourceObject
    lines_read: int = 0
    staged: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects: dict[str, int] = field(default_factory=dict)
    filtered: int = 0
    filters: dict[str, dict[str, int]] = field(default_factory=dict)  # reason -> family -> lines
    quarantined: bool = False
    rejects_body: bytes | None = None  # gzipped NDJSON reject records

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "key": self.source.key,
            "etag": self.source.etag,
            "size": self.source.size,
            "partition_hour": self.source.partition_hour,
            "lines_read": self.lines_read,
            "staged": self.staged,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejects": dict(self.rejects),
            "filtered": self.filtered,
            "filters": {reason: dict(families) for reason, families in self.filters.items()},
            "quarantined": self.quarantined,
        }


def reject_record(reason: str, detail: str, line_no: int | None, line: bytes | None) -> dict[str, Any]:
    """One line of a rejects object: the original line, cut to MAX_LINE_BYTES."""
    record: dict[str, Any] = {"reason": reason, "detail": detail, "line_no": line_no, "line": None}
    if line is not None:
        truncated = len(line) > MAX_LINE_BYTES
        record["line"] = line[:MAX_LINE_BYTES].decode("utf-8", errors="backslashreplace")
        record["truncated"] = truncated
    return record


class _RejectsWriter:
    def __init__(self) -> None:
        self._gz = zlib.compressobj(6, zlib.DEFLATED, 31)
        self._parts: list[bytes] = []

    def add(self, record: dict[str, Any]) -> None:
        self._parts.append(self._gz.compress(orjson.dumps(record) + b"\n"))

    def body(self) -> bytes:
        return b"".join(self._parts) + self._gz.flush()


def quarantine_key(raw_key: str) -> str:
    """rejects/<partition>/<name>.quarantined.gz, beside the object's rejects."""
    return layout.quarantine_key(raw_key)


class BatchTransformer:
    """Turns the raw objects of one work item into one staged COPY stream.

    Call ``add_object`` for each object in work-file order (``src`` is its
    ordinal), then ``finish`` for the gzipped COPY rows. The event ids seen so
    far are kept for the batch, so a duplicate is one of an earlier line of
    any object in the batch.
    """

    def __init__(self, hmac_key: bytes, *, fast_path: bool = True, level: int = 1) -> None:
        self._hmac_key = hmac_key
        self._fast_path = fast_path
        self._level = level
        self._out = bytearray()
        self._seen: dict[str, None] = {}  # insertion-ordered, so a rollback pops the newest
        self.rows = 0

    def add_object(self, src: int, source: SourceObject, data: bytes) -> ObjectResult:
        result = ObjectResult(source)
        rejects = _RejectsWriter()
        # What to roll back to if the object turns out to be corrupt: its rows are a gzip member
        # of their own at the end of the output, so dropping them leaves a valid stream.
        out_before, seen_before = len(self._out), len(self._seen)
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._read_object(src, data, result, rejects)
        except CorruptGzip as exc:
            del self._out[out_before:]
            while len(self._seen) > seen_before:
                self._seen.popitem()
            return self._quarantined(source, result.lines_read, str(exc))
        finally:
            if gc_was_enabled:
                gc.enable()
        self.rows += result.staged
        if result.rejected:
            result.rejects_body = rejects.body()
        return result

    def _read_object(self, src: int, data: bytes, result: ObjectResult, rejects: _RejectsWriter) -> None:
        # The hot loop: locals instead of attributes, no per-line allocations
        # beyond the event and its row.
        seen = self._seen
        key = self._hmac_key
        fast_path = self._fast_path
        gz = _deflate.compressobj(self._level, _deflate.DEFLATED, 31)  # this object's gzip member
        compress = gz.compress
        out = self._out
        counts = result.rejects
        filters = result.filters
        line_no = read = staged = duplicates = filtered = 0

        def reject(reason: str, detail: str, line: bytes) -> None:
            counts[reason] = counts.get(reason, 0) + 1
            rejects.add(reject_record(reason, detail, line_no, line))

        try:
            # The object's valid lines, in order, as (event_id, anonymous_id, ts, bot or spam rule,
            # COPY row): behaviour_rate needs the whole object, but each event is made into its row
            # at once and dropped, so only these small tuples wait for the verdict, not the events
            # (a row that a burst or a duplicate in the same object makes useless is the price).
            pending: list[tuple[str, str, datetime, tuple[str, str] | None, str | None]] = []
            for block in iter_line_blocks(data):
                for line in block:
                    line_no += 1
                    if not line or line.isspace():
                        continue
                    read += 1
                    if len(line) > MAX_LINE_BYTES:
                        reject(LINE_TOO_LONG, f"line longer than {MAX_LINE_BYTES} bytes", line)
                        continue
                    event = decode_line(line, fast_path)
                    if isinstance(event, Rejection):
                        reject(event.reason, event.detail, line)
                        continue
                    problem = check_event(event, line)
                    if problem is not None:
                        reject(problem.reason, problem.detail, line)
                        continue
                    clamped, too_late = check_clock(event.ts, event.received_at)
                    if too_late:
                        detail = f"ts {event.ts.isoformat()} is more than 72 h before received_at"
                        reject(TOO_LATE, detail, line)
                        continue
                    # one lookup each of the page context and the user agent, for the rules and the row
                    page = page_context(event.page_url, event.referrer)
                    ua = user_agent_of(event.user_agent)
                    rule = _filter_rule(event, page, ua)
                    event_id = event.event_id
                    row = (
                        None
                        if rule is not None or event_id in seen  # filtered, or a duplicate if not
                        else event_line(src, event, clamped, key, line, page, ua)
                    )
                    pending.append((event_id, event.anonymous_id, event.ts, rule, row))
            # behaviour_rate is judged on the whole object (its visitors' bursts), then each line;
            # only a visitor with BURST_EVENTS lines or more in the object can have a burst
            lines_of = Counter(visitor for _, visitor, _, _, _ in pending)
            heavy = {visitor for visitor, lines in lines_of.items() if lines >= BURST_EVENTS}
            bursts = (
                burst_visitors((v, event_id, ts) for event_id, v, ts, _, _ in pending if v in heavy)
                if heavy
                else ()
            )
            rows: list[str] = []
            for event_id, visitor, _, rule, row in pending:
                if rule is None and visitor in bursts:
                    rule = (BEHAVIOUR_RATE, BURST_FAMILY)
                if rule is not None:  # before dedupe: every copy of a bot's line is filtered
                    families = filters.setdefault(rule[0], {})
                    families[rule[1]] = families.get(rule[1], 0) + 1
                    filtered += 1
                    continue
                if event_id in seen:
                    duplicates += 1
                    continue
                seen[event_id] = None
                # made above: no rule, and not in seen then (seen only grows since)
                assert row is not None
                rows.append(row)
                staged += 1
                if len(rows) >= ROWS_PER_CHUNK:
                    rows.append("")
                    out += compress("\n".join(rows).encode("utf-8"))
                    rows = []
            if rows:
                rows.append("")
                out += compress("\n".join(rows).encode("utf-8"))
            if staged:
                out += gz.flush()
        finally:
            result.lines_read = read
            result.staged = staged
            result.duplicates = duplicates
            result.filtered = filtered
            result.rejected = sum(counts.values())

    def _quarantined(self, source: SourceObject, lines_before: int, detail: str) -> ObjectResult:
        rejects = _RejectsWriter()
        record = reject_record(CORRUPT_GZIP, detail, None, None)
        record["quarantine_key"] = quarantine_key(source.key)
        record["lines_before_corruption"] = lines_before
        rejects.add(record)
        return ObjectResult(
            source,
            lines_read=lines_before,
            rejected=lines_before,
            rejects={CORRUPT_GZIP: lines_before},
            quarantined=True,
            rejects_body=rejects.body(),
        )

    def finish(self) -> bytearray:
        """The gzipped COPY text of every staged row (a valid empty gzip when none).

        One gzip member per object with rows, in object order (gzip readers read them as one
        stream). The buffer itself, not a copy: a large batch is not held twice.
        """
        if not self._out:
            gz = _deflate.compressobj(self._level, _deflate.DEFLATED, 31)
            self._out += gz.flush()
        return self._out


# ----------------------------------------------------------------- the work item


def _sources(work: dict[str, Any], work_key: str) -> list[SourceObject]:
    objects = work.get("objects")
    if not isinstance(objects, list):
        raise ContractViolation(f"work file {work_key} has no 'objects' list")
    try:
        sources = [
            SourceObject(str(o["key"]), str(o.get("etag", "")), int(o.get("size") or 0)) for o in objects
        ]
        for source in sources:
            layout.partition_hour(source.key)
    except (KeyError, TypeError, ValueError) as exc:
        raise ContractViolation(f"work file {work_key} lists an object that is not a raw key: {exc}") from exc
    return sources


FETCH_AHEAD = 2  # objects downloading while one is transformed
WRITERS = 2  # threads writing rejects and quarantined copies while the next objects are transformed


def _fetch_in_order(pool: ThreadPoolExecutor, lake: Lake, keys: list[str], ahead: int) -> Iterator[bytes]:
    """Object bodies in order, the next ``ahead`` downloading in ``pool`` while one is transformed."""
    pending: deque[Future[bytes]] = deque(pool.submit(lake.get_bytes, k) for k in keys[:ahead])
    for key in keys[ahead:]:
        data = pending.popleft().result()
        pending.append(pool.submit(lake.get_bytes, key))
        yield data
    while pending:
        yield pending.popleft().result()


def transform_work_item(
    lake: Lake, event: TransformPartitionInput | Mapping[str, Any], settings: Settings
) -> dict[str, Any]:
    """One Map item: transform the objects of its work file into one staged batch.

    ``event`` is the state's input (a mapping is parsed: ContractViolation if it
    does not fit). Writes, at keys derived from the item so that a retry
    overwrites them: each object's rejects (and a quarantined object's copy),
    then ``<batch_key>.tsv.gz`` and last ``<batch_key>.json``, the manifest.
    Returns the batch's counts, the fields of ``TransformPartitionResult``
    (small: Step Functions caps payloads at 256 KB).
    """
    task = parse_event(event, TransformPartitionInput)
    item, execution = task.item, task.execution
    work_key, batch_key = item.work_key, item.batch_key
    work = lake.get_json(work_key)
    if not isinstance(work, dict):
        raise ContractViolation(f"work file {work_key} is not a JSON object")
    sources = _sources(work, work_key)

    started = time.perf_counter()
    batch = BatchTransformer(settings.user_id_hmac_key.get_secret_value().encode("utf-8"))
    results: list[ObjectResult] = []
    # Rejects and quarantined copies are written in the background while the next objects are
    # transformed (a PUT is a round trip; the transform is CPU), the staged batch beside the last
    # of them; all are written before the manifest, which comes last: a manifest means all is there.
    writes: list[Future[str]] = []
    with ThreadPoolExecutor(max_workers=FETCH_AHEAD + WRITERS, thread_name_prefix="s3") as pool:
        bodies = _fetch_in_order(pool, lake, [s.key for s in sources], FETCH_AHEAD)
        for src, (source, data) in enumerate(zip(sources, bodies, strict=True)):
            result = batch.add_object(src, source, data)
            if result.quarantined:
                copy_key = quarantine_key(source.key)
                writes.append(pool.submit(lake.put_bytes, copy_key, data, "application/gzip"))
                logger.warning("object quarantined", key=source.key, quarantine_key=copy_key)
            if result.rejects_body is not None:
                rejects = layout.rejects_key(source.key)
                writes.append(pool.submit(lake.put_bytes, rejects, result.rejects_body, "application/gzip"))
            results.append(result)
            del data
        staged_key = f"{batch_key}.tsv.gz"
        # put_bytes hands the body to boto3, which takes any bytes-like object: no copy of a big batch.
        staged = cast(bytes, batch.finish())
        writes.append(pool.submit(lake.put_bytes, staged_key, staged, "application/gzip"))
        for write in writes:
            write.result()  # the first failed write fails the item (and the retry writes them all again)

    manifest = {
        "execution": execution,
        "batch_key": batch_key,
        "staged_key": staged_key,
        "rows": batch.rows,
        "rules_version": RULES_VERSION,
        "objects": [r.manifest_entry() for r in results],
    }
    lake.put_json(f"{batch_key}.json", manifest)

    summary = {
        "batch_key": batch_key,
        "lines_read": sum(r.lines_read for r in results),
        "staged": sum(r.staged for r in results),
        "duplicates": sum(r.duplicates for r in results),
        "rejected": sum(r.rejected for r in results),
        "filtered": sum(r.filtered for r in results),
        "objects": len(results),
        "quarantined": sum(r.quarantined for r in results),
    }
    seconds = time.perf_counter() - started
    logger.info(
        "partition transformed",
        batch=batch_key,
        partition_hour=layout.hour_iso(item.partition_hour),
        objects=summary["objects"],
        lines_read=summary["lines_read"],
        staged=summary["staged"],
        duplicates=summary["duplicates"],
        rejected=summary["rejected"],
        filtered=summary["filtered"],
        quarantined=summary["quarantined"],
        seconds=round(seconds, 3),
    )
    return summary
