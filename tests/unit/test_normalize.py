"""Normalisation: URL parts, UTM, channel rules, device type, user hash, PII, clock."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clickstream.core import pii
from clickstream.core.pii import is_pii_key, looks_like_pii
from clickstream.pipeline import bots, channels, normalize
from clickstream.pipeline.bots import parse_user_agent
from clickstream.pipeline.channels import (
    DIRECT,
    EMAIL,
    ORGANIC_SEARCH,
    ORGANIC_SOCIAL,
    PAID_SEARCH,
    PAID_SOCIAL,
    REFERRAL,
    UNASSIGNED,
    Rule,
    channel_of,
    classify,
    host_kind,
)
from clickstream.pipeline.normalize import (
    check_clock,
    clean_props,
    device_from_user_agent,
    device_type,
    hash_user_id,
    page_context,
    parse_page_url,
    props_json,
    referrer_host,
    utc_text,
)

KEY = b"test-key"

# ------------------------------------------------------------------ URLs


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://shop.example.com/products/laptop?utm_source=x#reviews", "/products/laptop"),
        ("https://shop.example.com", "/"),
        ("https://shop.example.com/", "/"),
        ("/cart?step=2", "/cart"),
        ("https://shop.example.com/a%20b/", "/a%20b/"),
    ],
)
def test_page_path_is_the_path_without_query_or_fragment(url: str, path: str) -> None:
    assert parse_page_url(url).path == path


@pytest.mark.parametrize("url", [None, "", "http://[::1/broken"])
def test_unparseable_or_missing_page_url_gives_nothing(url: str | None) -> None:
    page = parse_page_url(url)
    assert page.path is None and page.host is None and page.utm_source is None


def test_utm_fields_are_parsed_from_the_page_url() -> None:
    url = (
        "https://shop.example.com/p?utm_source=Google&utm_medium=cpc&utm_campaign=fall%20sale"
        "&utm_term=usb+c&utm_content=hero&other=1"
    )
    page = parse_page_url(url)
    assert (page.utm_source, page.utm_medium, page.utm_campaign, page.utm_term, page.utm_content) == (
        "Google",
        "cpc",
        "fall sale",
        "usb c",
        "hero",
    )


def test_utm_names_are_case_insensitive_first_wins_blank_is_absent() -> None:
    page = parse_page_url("https://s.example/?UTM_Source=a&utm_source=b&utm_medium=&utm_campaign=%20")
    assert page.utm_source == "a"
    assert page.utm_medium is None
    assert page.utm_campaign is None


def test_utm_value_loses_nul_characters() -> None:
    assert parse_page_url("https://s.example/?utm_source=a%00b").utm_source == "ab"


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("https://www.Google.com/search?q=x", "google.com"),
        ("http://news.example.org:8080/a", "news.example.org"),
        ("https://user:pw@www.example.com./", "example.com"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("", None),
        (None, None),
        ("not a url", None),
        ("http://[::1", None),
    ],
)
def test_referrer_host_is_lowercase_without_www_and_port(referrer: str | None, host: str | None) -> None:
    assert referrer_host(referrer) == host


def test_page_context_flags_utm_values_that_need_copy_escaping() -> None:
    assert page_context("https://s.example/?utm_source=a%09b", None).needs_escape
    assert page_context("https://s.example/?utm_source=a%5Cb", None).needs_escape
    assert not page_context("https://s.example/?utm_source=ab", None).needs_escape


# ------------------------------------------------------------------ channels

SHOP = "https://shop.example.com/p"


def channel(page_url: str, referrer: str | None = None) -> str:
    return page_context(page_url, referrer).channel


@pytest.mark.parametrize(
    ("page_url", "referrer", "expected"),
    [
        # Paid Search: paid medium and a search source (utm_source, or the referrer when absent)
        (f"{SHOP}?utm_source=google&utm_medium=cpc", None, PAID_SEARCH),
        (f"{SHOP}?utm_source=bing&utm_medium=ppc", None, PAID_SEARCH),
        (f"{SHOP}?utm_source=www.google.de&utm_medium=paid", None, PAID_SEARCH),
        (f"{SHOP}?utm_medium=cpc&utm_campaign=x", "https://www.google.com/", PAID_SEARCH),
        # Paid Social: a paid-social medium, or a paid medium with a social source
        (f"{SHOP}?utm_source=newsletter&utm_medium=paid_social", None, PAID_SOCIAL),
        (f"{SHOP}?utm_source=facebook&utm_medium=cpc", None, PAID_SOCIAL),
        (f"{SHOP}?utm_source=ig&utm_medium=paid", None, PAID_SOCIAL),
        # Email: an e-mail medium, or an e-mail source
        (f"{SHOP}?utm_source=weekly&utm_medium=email", None, EMAIL),
        (f"{SHOP}?utm_source=newsletter&utm_medium=blast", None, EMAIL),
        # Organic Social: a social medium, or a social source without a paid medium
        (f"{SHOP}?utm_source=blog&utm_medium=social", None, ORGANIC_SOCIAL),
        (f"{SHOP}?utm_source=twitter", None, ORGANIC_SOCIAL),
        # Organic Search: medium organic (or none) with a search source
        (f"{SHOP}?utm_source=google&utm_medium=organic", None, ORGANIC_SEARCH),
        # Referral: tagged as a referral
        (f"{SHOP}?utm_source=partner&utm_medium=referral", None, REFERRAL),
        # Tagged with something no rule knows: Unassigned (the referrer is not consulted)
        (f"{SHOP}?utm_source=partner&utm_medium=affiliate", "https://www.google.com/", UNASSIGNED),
        (f"{SHOP}?utm_medium=cpc", None, UNASSIGNED),
        (f"{SHOP}?utm_campaign=spring", None, UNASSIGNED),
        # Untagged: the referrer decides
        (SHOP, "https://www.google.co.uk/", ORGANIC_SEARCH),
        (SHOP, "https://duckduckgo.com/", ORGANIC_SEARCH),
        (SHOP, "https://l.facebook.com/l.php", ORGANIC_SOCIAL),
        (SHOP, "https://t.co/abc", ORGANIC_SOCIAL),
        (SHOP, "https://mail.google.com/mail/u/0/", EMAIL),
        (SHOP, "https://outlook.live.com/", EMAIL),
        (SHOP, None, DIRECT),
        (SHOP, "", DIRECT),
        (SHOP, "https://blog.example.org/post", REFERRAL),
        # An internal referrer (the page's own host) is no referral
        (SHOP, "https://shop.example.com/cart", DIRECT),
        ("https://www.shop.example.com/p", "https://shop.example.com/", DIRECT),
    ],
)
def test_channel_rules(page_url: str, referrer: str | None, expected: str) -> None:
    assert channel(page_url, referrer) == expected


def test_utm_medium_and_source_are_compared_case_insensitively() -> None:
    assert channel(f"{SHOP}?utm_source=Google&utm_medium=CPC") == PAID_SEARCH


def test_no_page_url_and_no_referrer_is_direct() -> None:
    assert page_context(None, None).channel == DIRECT


def test_an_unparseable_referrer_counts_as_none() -> None:
    assert channel(SHOP, "http://[::1") == DIRECT


def test_every_rule_names_a_known_channel_and_each_is_reachable() -> None:
    assert {rule.channel for rule in channels.RULES} | {UNASSIGNED} == set(channels.CHANNELS)


def test_rules_are_one_table_that_can_be_changed() -> None:
    # Given a table where any tagged traffic is Referral
    rules = (Rule(REFERRAL, tagged=True), *channels.RULES)
    # Then the first matching rule wins
    assert classify("google", "cpc", True, None, rules) == REFERRAL
    assert classify("google", "cpc", True, None) == PAID_SEARCH


def test_channel_of_drops_only_a_same_host_referrer() -> None:
    assert channel_of(None, None, False, "shop.example.com", "shop.example.com") == DIRECT
    assert channel_of(None, None, False, "other.example.com", "shop.example.com") == REFERRAL


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("google.com", "search"),
        ("news.google.co.uk", "search"),
        ("search.yahoo.com", "search"),
        ("mail.yahoo.com", "email"),
        ("webmail.example.org", "email"),
        ("m.facebook.com", "social"),
        ("lnkd.in", "social"),
        ("example.com", "other"),
        (None, "none"),
    ],
)
def test_host_kind(host: str | None, kind: str) -> None:
    assert host_kind(host) == kind


# ------------------------------------------------------------------ device

UA_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
UA_ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/129.0 Mobile Safari/537.36"
)
UA_ANDROID_TABLET = "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 Chrome/129.0 Safari/537.36"
UA_IPAD = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
UA_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/129.0 Safari/537.36"
UA_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"


@pytest.mark.parametrize(
    ("ua", "kind"),
    [
        (UA_IPHONE, "mobile"),
        (UA_ANDROID_PHONE, "mobile"),
        (UA_ANDROID_TABLET, "tablet"),
        (UA_IPAD, "tablet"),
        (UA_WINDOWS, "desktop"),
        (UA_MAC, "desktop"),
        ("Opera/9.80 (J2ME/MIDP; Opera Mini/9.80) Presto/2.5.25", "mobile"),
        ("Mozilla/5.0 (Linux; Android 9; KFTRWI) Silk/120 like Chrome", "tablet"),
        ("curl/8.5.0", "desktop"),
    ],
)
def test_device_from_user_agent(ua: str, kind: str) -> None:
    assert device_from_user_agent(ua) == kind


def test_declared_device_type_wins_over_the_user_agent() -> None:
    assert device_type("desktop", UA_IPHONE) == "desktop"


def test_device_type_is_unknown_only_without_type_and_user_agent() -> None:
    assert device_type(None, UA_IPHONE) == "mobile"
    assert device_type(None, None) == "unknown"
    assert device_type(None, "  ") == "unknown"


# ------------------------------------------------------------------ user ids


def test_user_id_is_hashed_with_the_keyed_hmac() -> None:
    expected = "h1:" + hmac.new(KEY, b"user-42", hashlib.sha256).hexdigest()
    assert hash_user_id("user-42", KEY) == expected


def test_user_hash_depends_on_the_key() -> None:
    assert hash_user_id("user-42", KEY) != hash_user_id("user-42", b"other")


def test_an_email_user_id_is_just_hashed() -> None:
    hashed = hash_user_id("Ann@Example.com", KEY)
    assert hashed is not None and hashed.startswith("h1:") and "@" not in hashed


def test_null_user_id_stays_null() -> None:
    assert hash_user_id(None, KEY) is None


@given(st.text(min_size=1, max_size=64))
def test_hashing_is_idempotent(user_id: str) -> None:
    once = hash_user_id(user_id, KEY)
    assert once is not None
    assert hash_user_id(once, KEY) == once
    assert hash_user_id(once, b"another key") == once


@pytest.mark.parametrize(
    "value", ["h1:" + "A" * 64, "h1:" + "a" * 63, "h2:" + "a" * 64, "h1:" + "a" * 64 + "\n"]
)
def test_only_the_exact_hash_form_is_kept(value: str) -> None:
    assert hash_user_id(value, KEY) != value


# ------------------------------------------------------------------ PII


def test_clean_props_drops_pii_keys_and_values_at_any_depth() -> None:
    props = {
        "button": "hero",
        "email": "x",
        "contact": "ann@example.com",
        "note": "+49 30 1234567",
        "nested": {"first_name": "Ann", "ok": 1, "list": ["fine", "bob@example.com", {"phone": "1"}]},
        "count": 5,
    }
    cleaned, query = clean_props(props)
    assert cleaned == {"button": "hero", "nested": {"ok": 1, "list": ["fine", {}]}, "count": 5}
    assert query is None
    assert props["email"] == "x"  # the input is not changed


def test_search_query_moves_to_its_column() -> None:
    cleaned, query = clean_props({"search_query": "usb c hub", "page": 2})
    assert query == "usb c hub"
    assert cleaned == {"page": 2}


@pytest.mark.parametrize("value", ["ann@example.com", "+49 30 1234567", 42, None, ["a"]])
def test_search_query_that_is_pii_or_not_text_is_dropped(value: object) -> None:
    cleaned, query = clean_props({"search_query": value})
    assert query is None
    assert cleaned == {}


def test_props_json_is_compact_and_empty_is_braces() -> None:
    assert props_json({}) == "{}"
    assert props_json({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'


def test_props_json_handles_values_orjson_refuses() -> None:
    text = props_json({"big": 2**70, "nan": float("nan"), "inner": [float("inf")]})
    assert orjson.loads(text.replace(str(2**70), "0")) == {"big": 0, "nan": None, "inner": [None]}
    assert str(2**70) in text


# ------------------------------------------------------------------ clock

RECEIVED = datetime(2025, 10, 18, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "clamped", "too_late"),
    [
        (timedelta(0), False, False),
        (timedelta(minutes=5), False, False),
        (timedelta(minutes=5, milliseconds=1), True, False),
        (timedelta(days=400), True, False),
        (-timedelta(hours=72), False, False),
        (-timedelta(hours=72, milliseconds=1), False, True),
    ],
)
def test_check_clock(offset: timedelta, clamped: bool, too_late: bool) -> None:
    assert check_clock(RECEIVED + offset, RECEIVED) == (clamped, too_late)


def test_utc_text_has_an_offset_and_keeps_precision() -> None:
    assert utc_text(datetime(2025, 10, 18, 13, 5, 1, 123000, tzinfo=UTC)) == "2025-10-18T13:05:01.123+00:00"
    assert (
        utc_text(datetime(2025, 10, 18, 13, 5, 1, 123456, tzinfo=UTC)) == "2025-10-18T13:05:01.123456+00:00"
    )
    cest = datetime.fromisoformat("2025-10-18T15:05:01+02:00")
    assert utc_text(cest) == "2025-10-18T13:05:01.000+00:00"


# Lines are up to 32 KB. None of these is an e-mail address or a phone number, and each would
# make a backtracking pattern take seconds; the time they take is measured by `python -m bench pii`.
HOSTILE_TEXT = [
    "a" * 16000 + "@" + "b" * 16000,
    "@" * 32000,
    "a@" * 16000,
    ("a." * 100 + "@") * 150,
    "x@" + "b" * 30000 + ".c",
]
# A "+" then digits is an international number inside text (the shared rule set, as ingest always
# read it): this one is dropped, however long; `python -m bench pii` times it too.
HOSTILE_PHONE = "+" + "1 " * 16000


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_long_hostile_text_is_not_taken_for_pii(value: str) -> None:
    assert not looks_like_pii(value)
    assert not is_pii_key(value)
    assert clean_props({value: value, "k": [value]}) == ({value: value, "k": [value]}, None)


def test_long_hostile_phone_like_text_is_dropped() -> None:
    assert looks_like_pii(HOSTILE_PHONE)
    assert clean_props({"note": HOSTILE_PHONE, "k": [HOSTILE_PHONE, "fine"]}) == ({"k": ["fine"]}, None)


def test_pii_at_the_end_of_long_text_is_still_found() -> None:
    # Long text is read to the end, not cut short or waved through.
    text = "a" * 30000 + " mail me: ann@example.com"
    assert looks_like_pii(text)
    assert clean_props({"note": text, "k": [text, "fine"]}) == ({"k": ["fine"]}, None)
    assert is_pii_key("x" * 30000 + "_email")


def test_long_values_bypass_the_caches() -> None:
    # The caches keep strings up to normalize._CACHED_TEXT characters; longer ones are computed
    # each time and never stored, so that a cache's memory stays small whatever the data.
    caches = {
        "page_context": normalize._cached_page_context,
        "page_of": normalize._cached_page_of,
        "referrer_of": normalize._cached_referrer_of,
        "looks_like_pii": pii._cached_looks_like_pii,
        "is_pii_key": pii._cached_is_pii_key,
        "parse_user_agent": bots._cached_parse,
    }

    limit = normalize._CACHED_TEXT
    assert limit == pii._CACHED_TEXT == bots._MAX_UA  # one limit for every cache
    base = f"https://shop.example.com/p?utm_source=google&id={uuid.uuid4()}&pad="
    at_limit, over_limit = base.ljust(limit, "x"), base.ljust(limit + 1, "x")

    calls = {
        # page_context checks each query parameter with looks_like_pii: only its own cache is read here
        # a (page_url, referrer) pair the pair cache has not seen reads the per-URL caches
        "page_of": lambda value: normalize._page_context(value, None).utm_source == "google",
        "referrer_of": lambda value: normalize._page_context(None, value).referrer_host == "shop.example.com",
        "page_context": lambda value: page_context(value, None).utm_source == "google",
        "looks_like_pii": lambda value: not looks_like_pii(value),
        "is_pii_key": lambda value: not is_pii_key(value),
        # the cached parse is the uncached one's answer (bots._parse reads no cache)
        "parse_user_agent": lambda value: parse_user_agent(value) == bots._parse(value),
    }
    for name, call in calls.items():
        # Given a value one character over the limit, called twice
        before = caches[name].cache_info()[:2]
        assert call(over_limit) and call(over_limit)
        # Then that cache was not consulted: no miss that stores it, no hit
        assert caches[name].cache_info()[:2] == before, name
        # While a value at the limit goes through it: a miss that stores it, then a hit
        assert call(at_limit) and call(at_limit)
        hits, misses = caches[name].cache_info()[:2]
        assert (hits - before[0], misses - before[1]) == (1, 1), name
    assert page_context(None, over_limit).referrer_host == "shop.example.com"


def _page_context_reference(page_url: str | None, referrer: str | None) -> tuple[object, ...]:
    """What page_context stands for, composed without its caches."""
    page_url = pii.clean_url(page_url) if page_url else page_url
    referrer = pii.clean_url(referrer) if referrer else referrer
    page, host = parse_page_url(page_url), referrer_host(referrer)
    utm = page[2:]
    tagged = any(v is not None for v in utm)
    escape = any(v is not None and any(c in v for c in "\\\t\n\r") for v in utm)
    channel = channel_of(page.utm_source, page.utm_medium, tagged, host, page.host)
    return (page.path, host, *utm, channel, escape, page_url, referrer)


def test_page_context_is_its_parts_whichever_cache_answers() -> None:
    pages = [
        None,
        "",
        "https://shop.example.com/p/1?utm_source=google&utm_medium=cpc&email=a%40b.com",
        "https://www.shop.example.com/?utm_campaign=a%09b&utm_term=x%5Cy",
        "https://shop.example.com/search?q=jane.doe%40example.com#top",
        "https://[::1/broken",
        "/relative/path?utm_source=newsletter",
        "https://shop.example.com/" + "x" * 600 + "?utm_source=bing",
    ]
    referrers = [
        None,
        "",
        "https://www.google.com/",
        "https://shop.example.com/c",
        "https://l.facebook.com/?u=x",
    ]
    referrers += ["https://semalt.com/?phone=%2B4915112345678", "https://x.example/" + "y" * 600]
    for _ in range(2):  # the second round from the caches
        for page_url in pages:
            for referrer in referrers:
                assert tuple(page_context(page_url, referrer)) == _page_context_reference(page_url, referrer)
