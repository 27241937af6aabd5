"""Normalisation of one valid event: pure functions, no I/O, no settings.

Everything here turns contract values into warehouse values (DESIGN.md, "Event
contract" and "Warehouse"): the page path and UTM fields of ``page_url``, the
referrer host, the device type (from the user agent when the tracker sent
none), the keyed hash of ``user_id``, PII removal from ``props``, the
``search_query`` column, and the clock checks on ``ts``.

Functions that see the same inputs over and over (URLs, user agents, user
ids, props values) are memoised with a bounded ``lru_cache``: a batch has far
fewer distinct values than events, and the caches are what keeps transform
fast. Every cached function is pure, so a cache never changes a result; long
inputs bypass the caches so that their memory stays small whatever the data.
Every pattern is bounded (no nested or unbounded repetition that can
backtrack), so a hostile 32 KB line costs microseconds, not seconds.
"""

from __future__ import annotations

import hmac
import math
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import orjson

from clickstream.pipeline.channels import channel_of

# ---------------------------------------------------------------- clock checks

# ts more than this after received_at is clamped to received_at (is_ts_clamped).
MAX_CLOCK_AHEAD = timedelta(minutes=5)
# ts more than this before received_at is rejected as too_late.
MAX_LATENESS = timedelta(hours=72)


def check_clock(ts: datetime, received_at: datetime) -> tuple[bool, bool]:
    """(is_ts_clamped, is_too_late) for one event.

    A client clock that runs ahead is corrected: ts more than 5 minutes after
    received_at is clamped, i.e. stored as received_at. An event more than 72
    hours older than its receipt is too late to be trusted and is rejected by
    the caller. Both bounds are exclusive (exactly 5 minutes ahead is kept).
    """
    delta = ts - received_at  # never overflows, unlike received_at + 5 min
    if delta > MAX_CLOCK_AHEAD:
        return True, False
    return False, delta < -MAX_LATENESS


def utc_text(value: datetime) -> str:
    """ISO-8601 in UTC with an explicit offset, as PostgreSQL reads it.

    Milliseconds (the contract's precision) unless the value has more:
    2025-10-18T13:05:01.123+00:00 or 2025-10-18T13:05:01.123456+00:00.
    """
    utc = value.astimezone(UTC).replace(tzinfo=None)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    return utc.isoformat(timespec=spec) + "+00:00"


# ----------------------------------------------------------------------- URLs

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class PageUrl(NamedTuple):
    host: str | None  # lower case, without "www." (for the internal-referrer test)
    path: str | None  # the path only: no query, no fragment; "/" for a bare host
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None


_NO_PAGE = PageUrl(None, None, None, None, None, None, None)


def _host(netloc_host: str | None) -> str | None:
    if not netloc_host:
        return None
    host = netloc_host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


_CACHED_TEXT = 512  # longer strings are not kept in a cache


def parse_page_url(url: str | None) -> PageUrl:
    """Host, path and UTM parameters of a page URL; all None when it cannot be parsed.

    UTM names are matched case-insensitively, the first occurrence of each
    wins, values are percent-decoded and stripped, and an empty value is
    absent. A NUL character (which PostgreSQL cannot store) is removed from
    decoded values.
    """
    if not url:
        return _NO_PAGE
    try:
        parts = urlsplit(url.strip())
        host = _host(parts.hostname)
    except ValueError:  # an invalid IPv6 host or port
        return _NO_PAGE
    path = parts.path or ("/" if parts.netloc else None)
    utm: dict[str, str] = {}
    query = parts.query
    if query and "utm_" in query.lower():
        for name, value in parse_qsl(query, keep_blank_values=False):
            name = name.strip().lower()
            if name in UTM_FIELDS and name not in utm:
                cleaned = value.replace("\x00", "").strip()
                if cleaned:
                    utm[name] = cleaned
    return PageUrl(
        host,
        path,
        utm.get("utm_source"),
        utm.get("utm_medium"),
        utm.get("utm_campaign"),
        utm.get("utm_term"),
        utm.get("utm_content"),
    )


def referrer_host(referrer: str | None) -> str | None:
    """The referrer's host in lower case without "www." and port; None when there is none."""
    if not referrer:
        return None
    try:
        return _host(urlsplit(referrer.strip()).hostname)
    except ValueError:
        return None


class PageContext(NamedTuple):
    """Everything derived from (page_url, referrer)."""

    path: str | None
    referrer_host: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    channel: str
    # A UTM value has a backslash, tab, newline or CR (percent-decoded), so
    # the COPY text of the row needs escaping.
    needs_escape: bool


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def page_context(page_url: str | None, referrer: str | None) -> PageContext:
    """Path, referrer host, UTM fields and channel of one page view (one cache lookup per event)."""
    if (page_url is None or len(page_url) <= _CACHED_TEXT) and (
        referrer is None or len(referrer) <= _CACHED_TEXT
    ):
        return _cached_page_context(page_url, referrer)
    return _page_context(page_url, referrer)


def _page_context(page_url: str | None, referrer: str | None) -> PageContext:
    page = parse_page_url(page_url)
    ref_host = referrer_host(referrer)
    utm = page[2:]
    tagged = any(v is not None for v in utm)
    return PageContext(
        page.path,
        ref_host,
        *utm,
        channel_of(page.utm_source, page.utm_medium, tagged, ref_host, page.host),
        any(v is not None and _COPY_SPECIAL.search(v) is not None for v in utm),
    )


_cached_page_context = lru_cache(maxsize=1 << 14)(_page_context)


# ---------------------------------------------------------------- device type

_TABLET_MARKERS = ("ipad", "tablet", "kindle", "silk/", "playbook", "nexus 7", "nexus 9", "sm-t")
_MOBILE_MARKERS = ("mobi", "iphone", "ipod", "android", "windows phone", "blackberry", "opera mini", "bb10")


@lru_cache(maxsize=1 << 12)
def device_from_user_agent(user_agent: str) -> str:
    """mobile, tablet or desktop from a user agent string.

    Tablets first (an Android tablet says "Android" without "Mobile"), then
    phones; anything else that names itself is a desktop browser.
    """
    ua = user_agent.lower()
    if any(marker in ua for marker in _TABLET_MARKERS) or ("android" in ua and "mobile" not in ua):
        return "tablet"
    if any(marker in ua for marker in _MOBILE_MARKERS):
        return "mobile"
    return "desktop"


def device_type(declared: str | None, user_agent: str | None) -> str:
    """The tracker's device.type when sent, else parsed from the user agent, else 'unknown'."""
    if declared:
        return declared
    if user_agent and user_agent.strip():
        return device_from_user_agent(user_agent)
    return "unknown"


# ------------------------------------------------------------------- user ids

USER_HASH_PREFIX = "h1:"
_USER_HASH = re.compile(r"h1:[0-9a-f]{64}")


@lru_cache(maxsize=1 << 16)
def hash_user_id(user_id: str | None, key: bytes) -> str | None:
    """``h1:`` + hex HMAC-SHA256 of user_id under key; idempotent.

    Ingest hashes before it writes the raw lake, so a value that already has
    the form ``h1:<64 hex>`` is kept as it is. Any other value (an e-mail
    address too) is hashed as sent, without case folding.
    """
    if user_id is None:
        return None
    if _USER_HASH.fullmatch(user_id):
        return user_id
    return USER_HASH_PREFIX + hmac.digest(key, user_id.encode("utf-8"), "sha256").hex()


# ------------------------------------------------------------------------ PII

# Keys are compared after lower-casing and removing everything but a-z0-9,
# so "E-Mail", "first_name" and "firstName" all match.
PII_KEYS = frozenset(
    {
        "email",
        "mail",
        "phone",
        "mobile",
        "mobilenumber",
        "tel",
        "telephone",
        "cell",
        "cellphone",
        "fax",
        "name",
        "username",
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "familyname",
        "middlename",
        "surname",
        "customername",
        "contactname",
        "address",
        "street",
        "postcode",
        "postalcode",
        "zip",
        "zipcode",
        "birthday",
        "birthdate",
        "dateofbirth",
        "dob",
        "ssn",
        "ip",
    }
)
# ... and a key containing any of these is PII too ("user_email", "billing_address").
PII_KEY_PARTS = ("email", "phone", "address", "firstname", "lastname", "fullname", "surname", "customername")

# Bounded like RFC 5321 (64-character local part, 255-character domain).
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']{1,64}@[^\s@<>()\[\],;:\"']{1,255}\.[^\s@<>()\[\],;:\"'.0-9]{2,}")
# Digits with the separators people write phone numbers with; "." and "/" are
# left out on purpose (versions and dates), plain digit runs are ids unless
# they start with + or 0.
_PHONE = re.compile(r"\+?[0-9 ()\-]{7,24}")
_DATE_LIKE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}.*")


def is_pii_key(key: str) -> bool:
    return _cached_is_pii_key(key) if len(key) <= _CACHED_TEXT else _is_pii_key(key)


def _is_pii_key(key: str) -> bool:
    compact = "".join(ch for ch in key.lower() if ch.isascii() and ch.isalnum())
    return compact in PII_KEYS or any(part in compact for part in PII_KEY_PARTS)


_cached_is_pii_key = lru_cache(maxsize=1 << 12)(_is_pii_key)


def looks_like_email(value: str) -> bool:
    return "@" in value and _EMAIL.search(value) is not None


def looks_like_phone(value: str) -> bool:
    text = value.strip()
    if not _PHONE.fullmatch(text) or _DATE_LIKE.fullmatch(text):
        return False
    digits = sum(ch.isdigit() for ch in text)
    if not 7 <= digits <= 15:
        return False
    has_separator = any(ch in " ()-" for ch in text)
    return text[0] == "+" or text[0] == "0" or has_separator


def looks_like_pii(value: str) -> bool:
    """An e-mail address anywhere in the text, or text that is a phone number."""
    return _cached_looks_like_pii(value) if len(value) <= _CACHED_TEXT else _looks_like_pii(value)


def _looks_like_pii(value: str) -> bool:
    return looks_like_email(value) or looks_like_phone(value)


_cached_looks_like_pii = lru_cache(maxsize=1 << 14)(_looks_like_pii)


def _clean_value(value: Any) -> tuple[bool, Any]:
    """(keep, cleaned value) for one props value, at any depth."""
    if type(value) is str:
        return (not looks_like_pii(value)), value
    if type(value) is dict:
        return True, _clean_dict(value)
    if type(value) is list:
        cleaned = []
        for item in value:
            keep, item = _clean_value(item)
            if keep:
                cleaned.append(item)
        return True, cleaned
    return True, value


def _clean_dict(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in props.items():
        if is_pii_key(key):
            continue
        keep, value = _clean_value(value)
        if keep:
            out[key] = value
    return out


def clean_props(props: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(props without PII and without search_query, search_query).

    PII keys are removed at every depth, and so is every string value (in a
    dict or a list) that looks like an e-mail address or a phone number.
    ``search_query`` becomes a column of its own when it is a string that is
    not PII; it never stays in props.
    """
    if not props:
        return props, None
    query = props.get("search_query")
    search_query = query if type(query) is str and not looks_like_pii(query) else None
    rest = {k: v for k, v in props.items() if k != "search_query"} if "search_query" in props else props
    return _clean_dict(rest), search_query


def _finite(value: Any) -> Any:
    """A copy with NaN and infinities as null (what orjson writes; jsonb has no NaN)."""
    if type(value) is float and not math.isfinite(value):
        return None
    if type(value) is dict:
        return {k: _finite(v) for k, v in value.items()}
    if type(value) is list:
        return [_finite(v) for v in value]
    return value


def props_json(props: dict[str, Any]) -> str:
    """Compact JSON of props for the jsonb column ('{}' when empty).

    orjson writes NaN and infinities as null. Integers beyond 64 bits (which
    orjson refuses) take the standard library, which jsonb reads fine.
    """
    if not props:
        return "{}"
    try:
        return orjson.dumps(props).decode()
    except TypeError:
        import json

        return json.dumps(_finite(props), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
