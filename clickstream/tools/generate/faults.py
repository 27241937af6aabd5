"""The faults real traffic has, applied to single events, lines or objects.

The line and event faults take what they damage and a seeded ``random.Random``
and say what they did (a short detail name, used in ``Truth.reject_details``).
None of them mutate their input: events share nested dicts (device, geo, ecom)
with other events, so a damaged event is a copy.

- ``malformed_line``: the line cannot be read as a JSON object at all;
- ``violate``: the line is JSON but breaks the contract, except ``future_ts``,
  which is valid (the transform clamps ts to received_at);
- ``add_pii``: a name, e-mail or phone number where none belongs (valid; the
  transform drops or hashes it);
- ``late_delay_ms``: how long after its last event an offline session is received;
- ``corrupt_gzip``: a whole object that does not decompress, one of ``DAMAGES``
  (``decodable_lines``: how much of it a reader still gets).
"""

from __future__ import annotations

import random
import zlib
from typing import Any

import orjson

from clickstream.core.contract import MAX_LINE_BYTES
from clickstream.tools.generate.traffic import FIRST_NAMES, HOUR_MS, LAST_NAMES, MAIL_DOMAINS

# The transform rejects an event received more than this long after its ts.
TOO_LATE_MS = 72 * HOUR_MS
# ...and clamps ts to received_at when ts is more than this far ahead of it.
FUTURE_TOLERANCE_MS = 5 * 60_000

_REQUIRED = ("event_id", "ts", "event_type", "session_id", "anonymous_id")
_UNKNOWN_TYPES = ("page_view", "scroll", "add_to_wishlist", "remove_from_cart")
_SNAPSHOT = (
    b'<div class="product-grid"><article data-sku="sku-lap-0001"><img src="/img/1.webp"></article></div>'
)


def _copy(event: dict[str, Any]) -> dict[str, Any]:
    out = dict(event)
    if out.get("ecom") is not None:
        out["ecom"] = dict(out["ecom"])
    out["props"] = dict(out["props"])
    return out


def malformed_line(event: dict[str, Any], rng: random.Random) -> tuple[bytes, str]:
    """A line that is not a readable JSON object, or is over the 32 KiB line limit."""
    line = orjson.dumps(event)
    r = rng.random()
    if r < 0.35:
        return line[: rng.randint(8, len(line) - 1)], "truncated"
    if r < 0.6:
        variant = rng.randrange(3)
        if variant == 0:
            return line[:-1] + b",}", "invalid_json"  # trailing comma
        if variant == 1:
            return repr(event).encode(), "invalid_json"  # a Python dict printed instead of JSON
        return line + line, "invalid_json"  # two objects on one line (a lost newline)
    if r < 0.85:
        # Latin-1 bytes inside a string: not UTF-8, so not JSON.
        return line[:-1] + b',"note":"caf\xe9 cr\xe8me \xff"}', "non_utf8"
    big = _copy(event)
    repeat = (MAX_LINE_BYTES + rng.randint(512, 8192)) // len(_SNAPSHOT) + 1
    big["props"]["dom_snapshot"] = (_SNAPSHOT * repeat).decode()
    return orjson.dumps(big), "oversize"


def violate(
    event: dict[str, Any], ts_ms: int, received_ms: int, rng: random.Random, iso: Any
) -> tuple[dict[str, Any], str]:
    """A copy of ``event`` that breaks the contract, and the detail name.

    ``future_ts`` is the one kind that is *not* a reject: ts far ahead of received_at
    (a device clock that is wrong) passes the contract and the transform clamps it.
    ``iso`` formats epoch ms as contract text.
    """
    bad = _copy(event)
    ecom = bad.get("ecom")
    kinds = ["missing_field", "ts_number", "unknown_event_type", "future_ts"]
    weights = [2, 2, 2, 2]
    if ecom is not None:
        kinds += ["qty_string", "negative_price", "bad_currency"]
        weights += [1, 1, 1]
    kind = rng.choices(kinds, weights)[0]
    if kind == "missing_field":
        del bad[rng.choice(_REQUIRED)]
    elif kind == "ts_number":
        bad["ts"] = ts_ms  # epoch milliseconds instead of ISO text
    elif kind == "unknown_event_type":
        bad["event_type"] = rng.choice(_UNKNOWN_TYPES)
    elif kind == "future_ts":
        ahead = rng.randint(2 * HOUR_MS, 400 * 24 * HOUR_MS)
        bad["ts"] = iso(received_ms + ahead)
    elif kind == "qty_string":
        assert ecom is not None
        bad["ecom"]["qty"] = str(ecom["qty"])
    elif kind == "negative_price":
        assert ecom is not None
        bad["ecom"]["price"] = -ecom["price"] if ecom["price"] > 0 else -1.0
    else:
        bad["ecom"]["currency"] = "US$"
    return bad, kind


def add_pii(event: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], str]:
    """A copy of ``event`` carrying personal data (still contract-valid)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"
    out = _copy(event)
    r = rng.random()
    if r < 0.3:
        out["props"]["email"] = email
        return out, "props_email"
    if r < 0.5:
        out["props"]["phone"] = f"+1 {rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}"
        return out, "props_phone"
    if r < 0.7:
        out["props"]["customer_name"] = f"{first.title()} {last.title()}"
        return out, "props_customer_name"
    out["user_id"] = email
    return out, "user_id_email"


def late_delay_ms(rng: random.Random, span_ms: int) -> int:
    """How long after its last event an offline session reaches ingest.

    Mostly between one hour and 70 hours minus the session's span (so every line
    stays within the 72 hour limit); 15 % between 73 hours and ten days (too late).
    """
    if rng.random() < 0.85:
        return HOUR_MS + min(int(rng.expovariate(1 / (8 * HOUR_MS))), max(0, 69 * HOUR_MS - span_ms))
    return 73 * HOUR_MS + int(rng.random() * 7 * 24 * HOUR_MS)


DAMAGES = ("truncated", "bad_first_block")


def corrupt_gzip(body: bytes, damage: str) -> bytes:
    """A gzip object that fails to decompress, damaged so that every reader sees the same.

    - ``truncated``: cut short (an upload that stopped). Streaming inflate yields the
      same prefix however the input is split, so every reader decodes the same lines
      before it fails (``decodable_lines``).
    - ``bad_first_block``: the first deflate block has the reserved block type, so
      every reader fails before any output.
    """
    if damage == "truncated":
        return body[: max(10, len(body) // 2)]
    damaged = bytearray(body)
    damaged[10] |= 0b110  # after the 10-byte header: BTYPE = 11, reserved
    return bytes(damaged)


def decodable_lines(body: bytes) -> int:
    """Complete lines a streaming gunzip of a damaged object yields before it fails."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body) + inflater.flush()
    except zlib.error:
        return 0
    return data.count(b"\n")
