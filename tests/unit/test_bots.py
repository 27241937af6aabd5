"""Bot and spam rules and the user-agent parser on hand-picked real user agents (docs/BOTS.md)."""

from __future__ import annotations

import pytest

from clickstream.pipeline import bots, transform
from clickstream.pipeline.bots import (
    BOT_USER_AGENT,
    REFERRER_SPAM,
    filter_reason,
    parse_user_agent,
    spam_referrer,
)
from clickstream.pipeline.normalize import device_from_user_agent
from clickstream.tools.generate import GeneratorConfig
from clickstream.tools.generate.generator import TrafficGenerator
from clickstream.tools.generate.traffic import CRAWLER_USER_AGENTS, USER_AGENTS
from tests.support.transform import line, make_event, ndjson, run

# (user agent, expected bot family): crawlers, SEO tools, AI scrapers, monitors, previews,
# HTTP libraries and headless browsers as they appear in real access logs.
CRAWLERS = [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"),
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
        "+http://www.google.com/bot.html)",
        "Googlebot",
    ),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bingbot"),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "YandexBot"),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", "Baiduspider"),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "DuckDuckBot"),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot"),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", "SemrushBot"),
    ("Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", "MJ12bot"),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)",
        "GPTBot",
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
        "+claudebot@anthropic.com)",
        "ClaudeBot",
    ),
    ("CCBot/2.0 (https://commoncrawl.org/faq/)", "CCBot"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "FacebookBot"),
    ("Twitterbot/1.0", "Twitterbot"),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.6099.109 Safari/537.36",
        "HeadlessChrome",
    ),
    (
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
        "PhantomJS/2.1.1 Safari/538.1",
        "PhantomJS",
    ),
    ("curl/8.4.0", "curl"),
    ("Wget/1.21.4", "Wget"),
    ("python-requests/2.31.0", "python-requests"),
    ("Go-http-client/2.0", "Go-http-client"),
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "UptimeRobot"),
    ("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", "PingdomBot"),
    ("Mozilla/5.0 (compatible; Applebot/0.1; +http://www.apple.com/go/applebot)", "Applebot"),
    ("Screaming Frog SEO Spider/19.4", "Screaming Frog SEO Spider"),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome-Lighthouse",
        "Chrome-Lighthouse",
    ),
]

# (user agent, device, browser, OS): people's browsers, none of them a bot.
HUMANS = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        "Chrome",
        "Windows",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.4 "
        "Safari/605.1.15",
        "desktop",
        "Safari",
        "Mac OS X",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "desktop",
        "Firefox",
        "Windows",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.0.0",
        "desktop",
        "Edge",
        "Windows",
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
        "desktop",
        "Firefox",
        "Ubuntu",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.5 "
        "Mobile/15E148 Safari/604.1",
        "mobile",
        "Mobile Safari",
        "iOS",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Mobile Safari/537.36",
        "mobile",
        "Chrome Mobile",
        "Android",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/23.0 "
        "Chrome/115.0.0.0 Mobile Safari/537.36",
        "mobile",
        "Samsung Internet",
        "Android",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
        "Mobile/15E148 Safari/604.1",
        "tablet",
        "Mobile Safari",
        "iOS",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "tablet",
        "Chrome",
        "Android",
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/130.1.1 "
        "like Chrome/130.0.6723.102 Safari/537.36",
        "tablet",
        "Amazon Silk",
        "Android",
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        "mobile",
        "Firefox Mobile",
        "Android",
    ),
]


@pytest.mark.parametrize(("user_agent", "family"), CRAWLERS)
def test_known_crawlers_tools_and_headless_browsers_are_bots_with_their_family(
    user_agent: str, family: str
) -> None:
    assert parse_user_agent(user_agent).bot == family
    assert filter_reason(user_agent, None) == (BOT_USER_AGENT, family)


@pytest.mark.parametrize(("user_agent", "device", "browser", "os"), HUMANS)
def test_browsers_are_people_with_device_browser_and_os(
    user_agent: str, device: str, browser: str, os: str
) -> None:
    assert parse_user_agent(user_agent) == (device, browser, os, None)
    assert device_from_user_agent(user_agent) == device
    assert filter_reason(user_agent, "google.com") is None


def test_every_generator_user_agent_is_classified_as_the_generator_means() -> None:
    for kind, agents in USER_AGENTS.items():
        for agent in agents:
            assert parse_user_agent(agent).bot is None, agent
            assert device_from_user_agent(agent) == kind, agent
    for agent in CRAWLER_USER_AGENTS:
        assert parse_user_agent(agent).bot is not None, agent


def test_referrer_spam_matches_listed_domains_and_their_subdomains_only() -> None:
    assert spam_referrer("semalt.com") == "semalt.com"
    assert spam_referrer("fr.semalt.com") == "semalt.com"
    assert spam_referrer("notsemalt.com") is None
    assert spam_referrer("google.com") is None
    assert spam_referrer(None) is None
    human = HUMANS[0][0]
    assert filter_reason(human, "best-seo-offer.com") == (REFERRER_SPAM, "best-seo-offer.com")
    # a bot user agent is the reason first
    assert filter_reason(CRAWLERS[0][0], "semalt.com") == (BOT_USER_AGENT, "Googlebot")


def test_rules_are_versioned_with_their_list_versions() -> None:
    assert bots.CRAWLER_LIST_VERSION in bots.RULES_VERSION
    assert bots.RULES_VERSION.startswith("bots-")


def test_long_user_agents_bypass_the_cache_and_give_the_same_answer() -> None:
    long_agent = CRAWLERS[0][0] + " x" * 400
    assert len(long_agent) > 512
    assert parse_user_agent(long_agent).bot == "Googlebot"


@pytest.mark.parametrize("fast_path", [True, False])
def test_transform_filters_bots_and_spam_before_dedupe_and_reconciles(fast_path: bool) -> None:
    googlebot, headless = CRAWLERS[0][0], CRAWLERS[14][0]
    human = make_event(0)
    bot = make_event(1, device={"user_agent": googlebot})
    declared_bot = make_event(2, device={"type": "desktop", "user_agent": headless})
    spam = make_event(3, referrer="https://fr.semalt.com/best")
    second_bot = make_event(4, device={"user_agent": googlebot})
    lines = [line(human), line(bot), line(declared_bot), line(spam), line(bot), line(second_bot), b"{junk"]
    (result,), rows = run(ndjson(*lines), fast_path=fast_path)
    # Then only the human is staged; junk is a reject, every bot or spam line filtered (copies too)
    assert [r["event_id"] for r in rows] == [human["event_id"]]
    counts = (result.lines_read, result.staged, result.duplicates, result.rejected, result.filtered)
    assert counts == (7, 1, 0, 1, 5)
    assert result.lines_read == result.staged + result.duplicates + result.rejected + result.filtered
    assert result.filters == {
        BOT_USER_AGENT: {"Googlebot": 3, "HeadlessChrome": 1},
        REFERRER_SPAM: {"semalt.com": 1},
    }
    entry = result.manifest_entry()
    assert entry["filtered"] == 5 and entry["filters"] == result.filters


def test_the_generator_mixes_in_crawlers_only_when_asked() -> None:
    base = {"seed": 3, "hours": 2, "events_per_day": 3000}
    plain, mixed = (
        TrafficGenerator(GeneratorConfig(**base)),
        TrafficGenerator(GeneratorConfig(**base, crawler_rate=0.2)),
    )
    plain_objects, _ = list(plain.objects()), list(mixed.objects())
    assert plain.truth is not None and mixed.truth is not None
    assert plain.truth.filtered_lines == 0
    assert mixed.truth.filtered_lines > 0
    truth = mixed.truth
    assert truth.lines_written == (
        truth.unique_valid_events + truth.duplicate_lines + truth.rejected_lines + truth.filtered_lines
    )
    # and the crawlers' lines are filtered by the transform, the rest staged
    results, rows = run(*(body for _, body in _regenerate(base)))
    assert sum(r.filtered for r in results) == truth.filtered_lines
    assert len(rows) == truth.unique_valid_events
    assert plain_objects


def _regenerate(base: dict[str, int]) -> list[tuple[str, bytes]]:
    return list(TrafficGenerator(GeneratorConfig(**base, crawler_rate=0.2)).objects())


# User agents for the cache checks: people, crawlers, the generator's, and odd or long strings.
ODD_USER_AGENTS = [
    " ",
    "\t\n",
    "-",
    "Mozilla/5.0",
    "curl/8.5.0",
    "Googlebot",
    "googlebot",  # the list's patterns are case-sensitive where uap-core's are not
    "Mozilla/5.0 (Linux; Android 14) Mobile \u00e9\u4e2d\u6587 \U0001f600",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X)\x00",
    "x" * 512,
    "x" * 513,
    CRAWLERS[0][0].ljust(512, "x"),
    CRAWLERS[0][0].ljust(513, "x"),
    HUMANS[0][0] + " x" * 400,
]


def test_the_cached_parse_equals_the_uncached_one_and_the_transform_asks_it_once() -> None:
    agents = (
        [agent for agent, _ in CRAWLERS]
        + [human[0] for human in HUMANS]
        + [agent for kind in USER_AGENTS.values() for agent in kind]
        + list(CRAWLER_USER_AGENTS)
        + ODD_USER_AGENTS
    )
    for agent in agents:
        # Given a user agent asked twice (the second answer from the cache when it is short)
        first, second = parse_user_agent(agent), parse_user_agent(agent)
        # Then both equal the parse without any cache, field by field
        assert first == second == bots._parse(agent), agent
        assert filter_reason(agent, None) == (
            (BOT_USER_AGENT, first.bot) if first.bot is not None else None
        ), agent
    # and only the short ones are kept, one entry each: the long ones bypass the cache
    bots._cached_parse.cache_clear()
    for agent in agents:
        parse_user_agent(agent)
    assert bots._cached_parse.cache_info().currsize == len({a for a in agents if len(a) <= bots._MAX_UA})


@pytest.mark.parametrize("fast_path", [True, False])
def test_the_transform_filters_as_event_filter_says_for_every_user_agent_and_referrer(
    fast_path: bool,
) -> None:
    # The transform looks the page context and the user agent up once for the rules and the row
    # (transform._filter_rule); event_filter and filter_reason ask for them on their own.
    referrers = [None, "", "https://www.google.com/", "https://fr.semalt.com/x", "not a url", "https://[::1"]
    # (a NUL character is rejected before the rules: PostgreSQL cannot store it)
    odd = [agent for agent in ODD_USER_AGENTS if "\x00" not in agent]
    agents = [None, "", *odd, CRAWLERS[0][0], CRAWLERS[14][0], HUMANS[0][0]]
    events = [
        make_event(i, referrer=referrer, device={"user_agent": agent})
        for i, (referrer, agent) in enumerate((r, a) for r in referrers for a in agents)
    ]
    (result,), rows = run(ndjson(*(line(event) for event in events)), fast_path=fast_path)
    expected: dict[str, dict[str, int]] = {}
    kept = []
    for event in events:
        decoded = transform.decode_line(line(event), fast_path)
        assert isinstance(decoded, transform.Event)
        rule = transform.event_filter(decoded)
        if rule is None:
            kept.append(event["event_id"])
        else:
            families = expected.setdefault(rule[0], {})
            families[rule[1]] = families.get(rule[1], 0) + 1
    assert result.filters == expected
    assert [r["event_id"] for r in rows] == kept
    assert set(expected) == {BOT_USER_AGENT, REFERRER_SPAM}
    # and the rows' device, browser and OS are the parsed user agent's (unknown/none when blank)
    for row, event in zip(rows, (e for e in events if e["event_id"] in set(kept)), strict=True):
        agent = event["device"]["user_agent"]
        parsed = parse_user_agent(agent) if agent and not agent.isspace() else None
        assert row["device_type"] == (parsed.device if parsed else "unknown")
        assert row["browser"] == (parsed.browser if parsed else None)
        assert row["os"] == (parsed.os if parsed else None)
