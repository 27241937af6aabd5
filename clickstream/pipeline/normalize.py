"""Normalisation of one valid event: pure functions, no I/O, no settings.

Everything here turns contract values into warehouse values (DESIGN.md, "Event
contract" and "Warehouse"): the page path and UTM fields of ``page_url``, the
referrer host, the device type (from the user agent when the tracker sent
none), the keyed hash of ``user_id``, PII removal from ``props``,
``page_url`` and ``referrer`` (the rules of clickstream.core.pii), the
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

from clickstream.core.pii import clean_url, looks_like_pii, strip_props
from clickstream.pipeline.bots import parse_user_agent
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
    """Everything derived from (page_url, referrer), personal query parameters removed first."""

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
    page_url: str | None  # without personal query parameters (clickstream.core.pii.clean_url)
    referrer: str | None  # likewise


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def page_context(page_url: str | None, referrer: str | None) -> PageContext:
    """Clean URLs, path, referrer host, UTM and channel of one page view (one cache lookup per event)."""
    if (page_url is None or len(page_url) <= _CACHED_TEXT) and (
        referrer is None or len(referrer) <= _CACHED_TEXT
    ):
        return _cached_page_context(page_url, referrer)
    return _page_context(page_url, referrer)


class _Page(NamedTuple):
    """What page_context takes from the page URL alone."""

    page_url: str | None  # without personal query parameters
    page: PageUrl
    tagged: bool  # any utm_* value
    needs_escape: bool


def _page_of(page_url: str | None) -> _Page:
    if page_url:
        page_url = clean_url(page_url)
    page = parse_page_url(page_url)
    utm = page[2:]
    return _Page(
        page_url,
        page,
        any(v is not None for v in utm),
        any(v is not None and _COPY_SPECIAL.search(v) is not None for v in utm),
    )


def _referrer_of(referrer: str | None) -> tuple[str | None, str | None]:
    """(the referrer without personal query parameters, its host)."""
    if referrer:
        referrer = clean_url(referrer)
    return referrer, referrer_host(referrer)


# A page view's (page_url, referrer) pair is often new while each URL is not (a batch has
# far fewer distinct pages and referrers than pairs): the parts are cached per URL too.
_cached_page_of = lru_cache(maxsize=1 << 14)(_page_of)
_cached_referrer_of = lru_cache(maxsize=1 << 14)(_referrer_of)


def _page_context(page_url: str | None, referrer: str | None) -> PageContext:
    part = (
        _cached_page_of(page_url) if page_url is None or len(page_url) <= _CACHED_TEXT else _page_of(page_url)
    )
    referrer, ref_host = (
        _cached_referrer_of(referrer)
        if referrer is None or len(referrer) <= _CACHED_TEXT
        else _referrer_of(referrer)
    )
    page = part.page
    return PageContext(
        page.path,
        ref_host,
        *page[2:],
        channel_of(page.utm_source, page.utm_medium, part.tagged, ref_host, page.host),
        part.needs_escape,
        part.page_url,
        referrer,
    )


_cached_page_context = lru_cache(maxsize=1 << 14)(_page_context)


# ---------------------------------------------------------------- device type


def device_from_user_agent(user_agent: str) -> str:
    """mobile, tablet or desktop from a user agent string.

    ua-parser (uap-core's maintained regexes) names the OS and browser
    (clickstream.pipeline.bots.parse_user_agent, cached per distinct user
    agent): an Android user agent without "Mobile" and the known tablet
    models are tablets, iOS/Android phones and "Mobi" user agents are
    phones, and anything else is a desktop browser.
    """
    return parse_user_agent(user_agent).device


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


def clean_props(props: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(props without PII and without search_query, search_query).

    PII is removed by ``clickstream.core.pii.strip_props`` (keys and values, at
    every depth). ``search_query`` becomes a column of its own when it is a
    string that is not PII; it never stays in props.
    """
    if not props:
        return props, None
    query = props.get("search_query")
    search_query = query if type(query) is str and not looks_like_pii(query) else None
    rest = {k: v for k, v in props.items() if k != "search_query"} if "search_query" in props else props
    return strip_props(rest), search_query


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
