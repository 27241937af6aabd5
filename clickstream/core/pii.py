"""The one PII rule set: what counts as personal data, and how it is removed.

The rules are data, ``pii_rules.json`` beside this file, which the tracker
(sdk/src/tracker.ts) bundles too, so the browser, ingest and transform drop
the same things; docs/PRIVACY.md explains them and
tests/fixtures/pii_cases.json holds the cases both test suites run.

- A key is personal when, lower-cased with everything but a-z0-9 removed
  ("E-Mail", "first_name" and "firstName" alike), it is one of
  ``keys.exact`` or contains one of ``keys.contains``; or when the key itself
  looks like personal data (below).
- A string value is personal when it holds an e-mail address, is a phone
  number (or holds an international one) or holds a payment card number (a
  pattern match that passes the Luhn check). Numbers, booleans and null never are.
- ``strip_props`` drops personal keys and values at any depth (dicts and lists);
  ``clean_url`` drops the query parameters whose name or value is personal.

Ingest (clickstream/pipeline/ingest.py) applies them to props, page_url, referrer and
anonymous_id (hashed, not dropped); transform (clickstream/pipeline/normalize.py) to
props, page_url and referrer again, for raw lines that did not come through
ingest. Every pattern is bounded or linear, so a hostile 32 KB line costs
microseconds; short inputs are memoised (a batch repeats its values), long
ones bypass the caches so that their memory stays small.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

RULES: dict[str, Any] = json.loads(Path(__file__).with_name("pii_rules.json").read_text(encoding="utf-8"))

PII_KEYS = frozenset(RULES["keys"]["exact"])
PII_KEY_PARTS = tuple(RULES["keys"]["contains"])
_NOT_KEY_CHAR = re.compile(r"[^a-z0-9]")
_EMAIL = re.compile(RULES["email"])
_PHONE_WHOLE = tuple(re.compile(pattern) for pattern in RULES["phone"]["whole"])
_PHONE_WITHIN = re.compile(RULES["phone"]["within"])
_PHONE_WITHIN_MIN_DIGITS: int = RULES["phone"]["within_min_digits"]
_CARD = re.compile(RULES["card"])
_NOT_DIGIT = re.compile(r"[^0-9]")

_CACHED_TEXT = 512  # longer strings are not kept in a cache


def looks_like_email(value: str) -> bool:
    return "@" in value and _EMAIL.search(value) is not None


def looks_like_phone(value: str) -> bool:
    """The whole value is a phone number, or it holds an international one (+...)."""
    text = value.strip()
    if any(pattern.match(text) for pattern in _PHONE_WHOLE):
        return True
    return (
        "+" in value
        and _PHONE_WITHIN.search(value) is not None
        and len(_NOT_DIGIT.sub("", value)) >= _PHONE_WITHIN_MIN_DIGITS
    )


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def looks_like_card(value: str) -> bool:
    """The value holds a payment card number: 13 to 19 digits (spaces or dashes between) that pass Luhn."""
    return any(_luhn(_NOT_DIGIT.sub("", m.group(1))) for m in _CARD.finditer(value))


def looks_like_pii(value: str) -> bool:
    """An e-mail address or a card number anywhere in the text, or a phone number."""
    return _cached_looks_like_pii(value) if len(value) <= _CACHED_TEXT else _looks_like_pii(value)


def _looks_like_pii(value: str) -> bool:
    return looks_like_email(value) or looks_like_phone(value) or looks_like_card(value)


_cached_looks_like_pii = lru_cache(maxsize=1 << 14)(_looks_like_pii)


def is_pii_key(key: str) -> bool:
    return _cached_is_pii_key(key) if len(key) <= _CACHED_TEXT else _is_pii_key(key)


def _is_pii_key(key: str) -> bool:
    compact = _NOT_KEY_CHAR.sub("", key.lower())
    return compact in PII_KEYS or any(part in compact for part in PII_KEY_PARTS) or looks_like_pii(key)


_cached_is_pii_key = lru_cache(maxsize=1 << 12)(_is_pii_key)


def _clean_value(value: Any) -> tuple[bool, Any]:
    """(keep, cleaned value) for one props value, at any depth."""
    if type(value) is str:
        return (not looks_like_pii(value)), value
    if type(value) is dict:
        return True, strip_props(value)
    if type(value) is list:
        cleaned = []
        for item in value:
            keep, item = _clean_value(item)
            if keep:
                cleaned.append(item)
        return True, cleaned
    return True, value


def strip_props(props: dict[str, Any]) -> dict[str, Any]:
    """A copy of props without personal keys and values, at every depth (the input is not changed)."""
    out: dict[str, Any] = {}
    for key, value in props.items():
        if is_pii_key(key):
            continue
        keep, value = _clean_value(value)
        if keep:
            out[key] = value
    return out


def _pii_param(param: str) -> bool:
    name, _, value = param.partition("=")
    return is_pii_key(unquote_plus(name)) or looks_like_pii(unquote_plus(value))


def clean_url(url: str) -> str:
    """The URL without its personal query parameters; the same string when it has none.

    Parameters are split on "&" and judged percent-decoded; the ones kept stay
    as they were written, in their order, and the "?" goes when none is left.
    Everything outside the query (the fragment too) is kept.
    """
    start = url.find("?")
    end = url.find("#")
    if start < 0 or 0 <= end < start:
        return url
    if end < 0:
        end = len(url)
    params = url[start + 1 : end].split("&")
    kept = [param for param in params if not _pii_param(param)]
    if len(kept) == len(params):
        return url
    query = "&".join(kept)
    return url[:start] + ("?" + query if query else "") + url[end:]
