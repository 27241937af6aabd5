"""Bot and spam filtering of accepted events: pure functions, cached per distinct input.

An accepted event is *filtered* (not staged, counted by reason and family)
when one of these rules says no human produced it (docs/BOTS.md):

- ``bot_user_agent``: its user agent matches the known-crawler list of the
  ``crawler-user-agents`` package (github.com/monperrus/crawler-user-agents:
  search engines, SEO tools, AI scrapers, uptime monitors, link previews,
  HTTP libraries, headless browsers). The family is ua-parser's browser
  family when uap-core names the bot (``Googlebot``, ``AhrefsBot``), else
  the text the list's pattern matched (``HeadlessChrome``, ``curl``).
- ``referrer_spam``: its referrer host (or a parent domain of it) is in
  REFERRER_SPAM_DOMAINS. No maintained referrer-spam list is published on
  PyPI, so the list is a small copy of the best-known entries of Matomo's
  community list (github.com/matomo-org/referrer-spam-list, public domain);
  the family is the listed domain.

RULES_VERSION names this set of rules (the two lists' versions included): it
is recorded with every batch manifest and every run, so a count can always be
traced to the rules that produced it. Change it whenever a rule changes.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

import crawleruseragents
from ua_parser import parse as _ua_parse

CRAWLER_LIST_VERSION = "crawler-user-agents 1.67.0"

# The shop's own user-agent patterns (regular expressions, one a line), checked before the list:
# the transform function's environment (docs/BOTS.md "A rule of your own"). Part of RULES_VERSION.
SITE_PATTERNS_ENV = "CLICKSTREAM_BOT_PATTERNS"


def _site_patterns(text: str) -> tuple[re.Pattern[str], ...]:
    patterns = []
    for line in text.splitlines():
        if line.strip():
            try:
                patterns.append(re.compile(line.strip()))
            except re.error as exc:
                raise ValueError(
                    f"{SITE_PATTERNS_ENV}: {line.strip()!r} is not a regular expression: {exc}"
                ) from exc
    return tuple(patterns)


SITE_PATTERNS = _site_patterns(os.environ.get(SITE_PATTERNS_ENV, ""))
_SITE = (
    f"; site patterns {hashlib.sha256(os.environ[SITE_PATTERNS_ENV].strip().encode()).hexdigest()[:8]}"
    if SITE_PATTERNS
    else ""
)
# behaviour_rate: a visitor with at least BURST_EVENTS distinct events whose client times fall within
# BURST_SECONDS of each other, in one raw object (docs/BOTS.md "Behaviour").
BURST_EVENTS = 40
BURST_SECONDS = 10
RULES_VERSION = (
    f"bots-2 ({CRAWLER_LIST_VERSION}; ua-parser-builtins 202610; referrer-spam 2026-12; "
    f"behaviour {BURST_EVENTS} events in {BURST_SECONDS} s per object{_SITE})"
)

BOT_USER_AGENT = "bot_user_agent"
REFERRER_SPAM = "referrer_spam"
BEHAVIOUR_RATE = "behaviour_rate"
REASONS = (BOT_USER_AGENT, REFERRER_SPAM, BEHAVIOUR_RATE)

# Matomo's referrer-spam-list, the domains most often seen in analytics reports.
REFERRER_SPAM_DOMAINS = frozenset(
    {
        "semalt.com",
        "buttons-for-website.com",
        "buttons-for-your-website.com",
        "darodar.com",
        "best-seo-offer.com",
        "best-seo-solution.com",
        "blackhatworth.com",
        "hulfingtonpost.com",
        "ilovevitaly.com",
        "priceg.com",
        "savetubevideo.com",
        "kambasoft.com",
        "free-share-buttons.com",
        "get-free-traffic-now.com",
        "free-social-buttons.com",
        "100dollars-seo.com",
        "4webmasters.org",
        "event-tracking.com",
        "trafficmonetize.com",
        "traffic2money.com",
        "social-buttons.com",
        "simple-share-buttons.com",
        "o-o-6-o-o.com",
        "o-o-8-o-o.com",
        "success-seo.com",
        "videos-for-your-business.com",
        "video--production.com",
        "rank-checker.online",
        "site-auditor.online",
        "floating-share-buttons.com",
    }
)

_CHUNK = 50
_PATTERNS = [entry["pattern"] for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA]
_CHUNKS = [
    (re.compile("|".join(_PATTERNS[i : i + _CHUNK])), [re.compile(p) for p in _PATTERNS[i : i + _CHUNK]])
    for i in range(0, len(_PATTERNS), _CHUNK)
]
_FAMILY_TRIM = re.compile(r"[\s/;:(),+_.-]+$")

_DESKTOP = "desktop"
_MOBILE_OSES = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS"})
_TABLET_HINT = re.compile(
    r"ipad|tablet|kindle|silk/|playbook|nexus (?:7|9)|sm-t|sm-x|kf[a-z]{2,4}\b", re.IGNORECASE
)
_MAX_UA = 512  # longer user agents are not cached (clickstream.pipeline.normalize._CACHED_TEXT)


class UserAgent(NamedTuple):
    device: str  # desktop, mobile or tablet
    browser: str | None  # ua-parser's family, None for "Other"
    os: str | None
    bot: str | None  # the bot's family when the user agent is a known crawler, else None


def crawler_family(user_agent: str) -> str | None:
    """The known crawler a user agent names (the site's patterns, then crawler-user-agents), or None."""
    for site in SITE_PATTERNS:
        found = site.search(user_agent)
        if found is not None:
            return _FAMILY_TRIM.sub("", found.group(0)) or found.group(0)
    for combined, patterns in _CHUNKS:
        if combined.search(user_agent) is None:
            continue
        for pattern in patterns:
            match = pattern.search(user_agent)
            if match is not None:
                return _FAMILY_TRIM.sub("", match.group(0)) or match.group(0)
    return None


def _parse(user_agent: str) -> UserAgent:
    result = _ua_parse(user_agent)
    browser = result.user_agent.family if result.user_agent is not None else None
    os = result.os.family if result.os is not None else None
    brand = result.device.family if result.device is not None else None
    browser = None if browser == "Other" else browser
    os = None if os == "Other" else os
    bot = crawler_family(user_agent)
    if bot is not None and brand == "Spider" and browser:
        bot = browser
    lower = user_agent.lower()
    if _TABLET_HINT.search(lower) or (os == "Android" and "mobile" not in lower and "android" in lower):
        device = "tablet"
    elif os in _MOBILE_OSES or "mobi" in lower or "opera mini" in lower:
        device = "mobile"
    else:
        device = _DESKTOP
    return UserAgent(device, browser, os, bot)


_cached_parse = lru_cache(maxsize=1 << 12)(_parse)


def parse_user_agent(user_agent: str) -> UserAgent:
    """Device type, browser, OS and bot family of one user agent (cached per distinct value)."""
    if len(user_agent) <= _MAX_UA:
        return _cached_parse(user_agent)
    return _parse(user_agent)


@lru_cache(maxsize=1 << 12)
def _spam_domain(host: str) -> str | None:
    parts = host.split(".")
    for i in range(len(parts) - 1):
        candidate = ".".join(parts[i:])
        if candidate in REFERRER_SPAM_DOMAINS:
            return candidate
    return None


def spam_referrer(referrer_host: str | None) -> str | None:
    """The listed spam domain a referrer host belongs to, or None."""
    if not referrer_host or len(referrer_host) > 253:
        return None
    return _spam_domain(referrer_host)


def filter_reason(user_agent: str | None, referrer_host: str | None) -> tuple[str, str] | None:
    """(reason, family) when an accepted event is filtered, None when it is kept."""
    return rule_for(parse_user_agent(user_agent).bot if user_agent else None, referrer_host)


def rule_for(bot: str | None, referrer_host: str | None) -> tuple[str, str] | None:
    """filter_reason from the user agent's bot family (None: not a bot) and the referrer's host,
    for a caller that parsed the user agent already."""
    if bot is not None:
        return BOT_USER_AGENT, bot
    spam = spam_referrer(referrer_host)
    if spam is not None:
        return REFERRER_SPAM, spam
    return None


BURST_FAMILY = f"{BURST_EVENTS}+ events in {BURST_SECONDS} s"


def burst_visitors(events: Iterable[tuple[str, str, datetime]]) -> set[str]:
    """The visitors of one raw object's valid lines, ``(anonymous_id, event_id, ts)``, that sent
    at least BURST_EVENTS distinct events within BURST_SECONDS (inclusive) of client time.

    Judged per raw object, which is written once and always transformed whole, so the answer is
    the same however the pipeline groups objects into batches, hours and runs.
    """
    by_visitor: dict[str, dict[str, datetime]] = {}
    for visitor, event_id, ts in events:
        by_visitor.setdefault(visitor, {}).setdefault(event_id, ts)
    window = timedelta(seconds=BURST_SECONDS)
    found = set()
    for visitor, times in by_visitor.items():
        if len(times) < BURST_EVENTS:
            continue
        ordered = sorted(times.values())
        first = 0
        for last, ts in enumerate(ordered):
            while ts - ordered[first] > window:
                first += 1
            if last - first + 1 >= BURST_EVENTS:
                found.add(visitor)
                break
    return found
