"""Marketing channel of an event (DESIGN.md, "Channel"): one table of rules.

The channel comes from the UTM parameters first and from the referrer only
when the page URL carries no UTM parameter at all. ``RULES`` is the one table
to change: rules are tried in order and the first that matches wins; an event
no rule matches is ``Unassigned``.

A rule is a conjunction of conditions; a condition left as None always holds.

- ``tagged``: whether the page URL has any utm_* parameter.
- ``medium``: utm_medium, lower case, is one of these ("" = absent).
- ``source``: the kind of the source, one of search, social, email, other,
  none. The source is utm_source when present, else the referrer host.
- ``referrer``: the kind of the external referrer host (same kinds). A
  referrer on the page's own host is internal and counts as none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

DIRECT = "Direct"
ORGANIC_SEARCH = "Organic Search"
PAID_SEARCH = "Paid Search"
ORGANIC_SOCIAL = "Organic Social"
PAID_SOCIAL = "Paid Social"
EMAIL = "Email"
REFERRAL = "Referral"
UNASSIGNED = "Unassigned"
CHANNELS = (DIRECT, ORGANIC_SEARCH, PAID_SEARCH, ORGANIC_SOCIAL, PAID_SOCIAL, EMAIL, REFERRAL, UNASSIGNED)

# Kinds of a source or referrer.
SEARCH, SOCIAL, MAIL, OTHER, NONE = "search", "social", "email", "other", "none"

PAID_MEDIA = frozenset(
    {"cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-search", "sem", "cpm", "cpv"}
)
PAID_SOCIAL_MEDIA = frozenset({"paid_social", "paidsocial", "paid-social", "social_paid", "social-paid"})
EMAIL_MEDIA = frozenset({"email", "e-mail", "e_mail", "mail", "newsletter"})
SOCIAL_MEDIA = frozenset({"social", "social-network", "social_network", "social-media", "social_media", "sm"})
ORGANIC_MEDIA = frozenset({"organic", ""})
REFERRAL_MEDIA = frozenset({"referral", "link"})


@dataclass(frozen=True, slots=True)
class Rule:
    channel: str
    tagged: bool | None = None
    medium: frozenset[str] | None = None
    source: frozenset[str] | None = None
    referrer: frozenset[str] | None = None


def _kinds(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


RULES: tuple[Rule, ...] = (
    # Tagged traffic: the UTM parameters decide.
    Rule(PAID_SEARCH, tagged=True, medium=PAID_MEDIA, source=_kinds(SEARCH)),
    Rule(PAID_SOCIAL, tagged=True, medium=PAID_SOCIAL_MEDIA),
    Rule(PAID_SOCIAL, tagged=True, medium=PAID_MEDIA, source=_kinds(SOCIAL)),
    Rule(EMAIL, tagged=True, medium=EMAIL_MEDIA),
    Rule(EMAIL, tagged=True, source=_kinds(MAIL)),
    Rule(ORGANIC_SOCIAL, tagged=True, medium=SOCIAL_MEDIA),
    Rule(ORGANIC_SOCIAL, tagged=True, medium=ORGANIC_MEDIA | REFERRAL_MEDIA, source=_kinds(SOCIAL)),
    Rule(ORGANIC_SEARCH, tagged=True, medium=ORGANIC_MEDIA, source=_kinds(SEARCH)),
    Rule(REFERRAL, tagged=True, medium=REFERRAL_MEDIA),
    # Untagged traffic: the referrer decides.
    Rule(ORGANIC_SEARCH, tagged=False, referrer=_kinds(SEARCH)),
    Rule(ORGANIC_SOCIAL, tagged=False, referrer=_kinds(SOCIAL)),
    Rule(EMAIL, tagged=False, referrer=_kinds(MAIL)),
    Rule(DIRECT, tagged=False, referrer=_kinds(NONE)),
    Rule(REFERRAL, tagged=False, referrer=_kinds(OTHER)),
)

# Hosts and utm_source values by kind. A host matches a domain when it is the
# domain or a subdomain of it; it matches a brand when one of its labels
# (before the last) is the brand, so google.de and news.google.co.uk are search.
MAIL_DOMAINS = (
    "mail.google.com",
    "inbox.google.com",
    "outlook.live.com",
    "outlook.office.com",
    "outlook.office365.com",
    "mail.yahoo.com",
    "mail.aol.com",
    "mail.proton.me",
    "mail.yandex.ru",
)
# ... and any host that starts with one of these (webmail.example.org).
MAIL_PREFIXES = ("mail.", "webmail.", "email.")
SOCIAL_DOMAINS = ("t.co", "x.com", "lnkd.in", "fb.me", "fb.com", "youtu.be", "t.me", "vk.com", "threads.net")
SOCIAL_BRANDS = frozenset(
    {
        "facebook",
        "instagram",
        "linkedin",
        "twitter",
        "tiktok",
        "pinterest",
        "reddit",
        "youtube",
        "snapchat",
        "tumblr",
        "whatsapp",
        "telegram",
        "quora",
        "discord",
        "threads",
        "mastodon",
    }
)
SEARCH_BRANDS = frozenset(
    {
        "google",
        "bing",
        "yahoo",
        "duckduckgo",
        "baidu",
        "yandex",
        "ecosia",
        "ask",
        "aol",
        "naver",
        "seznam",
        "qwant",
        "startpage",
        "sogou",
        "brave",
        "kagi",
    }
)
# utm_source values that are not host names.
SOCIAL_SOURCES = SOCIAL_BRANDS | {"fb", "ig", "x", "li", "yt"}
MAIL_SOURCES = frozenset(
    {"email", "e-mail", "mail", "newsletter", "mailchimp", "klaviyo", "sendgrid", "brevo"}
)


def _in_domains(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


@lru_cache(maxsize=1 << 12)
def host_kind(host: str | None) -> str:
    """search, social, email, other, or none for a referrer host (or a utm_source host)."""
    if not host:
        return NONE
    if _in_domains(host, MAIL_DOMAINS) or host.startswith(MAIL_PREFIXES):
        return MAIL
    labels = host.split(".")[:-1]
    if _in_domains(host, SOCIAL_DOMAINS) or any(label in SOCIAL_BRANDS for label in labels):
        return SOCIAL
    if any(label in SEARCH_BRANDS for label in labels):
        return SEARCH
    return OTHER


def source_kind(utm_source: str | None, referrer: str | None) -> str:
    """The kind of utm_source (a name like "google" or a host), else of the referrer host."""
    if not utm_source:
        return host_kind(referrer)
    if "." in utm_source:
        return host_kind(utm_source)
    if utm_source in SEARCH_BRANDS:
        return SEARCH
    if utm_source in SOCIAL_SOURCES:
        return SOCIAL
    if utm_source in MAIL_SOURCES:
        return MAIL
    return OTHER


@lru_cache(maxsize=1 << 12)
def classify(
    utm_source: str | None,
    utm_medium: str | None,
    tagged: bool,
    external_referrer: str | None,
    rules: tuple[Rule, ...] = RULES,
) -> str:
    """The channel of one event.

    utm_source and utm_medium as sent (compared in lower case); tagged: any
    utm_* parameter present; external_referrer: the referrer host, or None
    when there is none or it is the page's own host.
    """
    source = utm_source.strip().lower() if utm_source else None
    medium = utm_medium.strip().lower() if utm_medium else ""
    s_kind = source_kind(source, external_referrer)
    r_kind = host_kind(external_referrer)
    for rule in rules:
        if rule.tagged is not None and rule.tagged != tagged:
            continue
        if rule.medium is not None and medium not in rule.medium:
            continue
        if rule.source is not None and s_kind not in rule.source:
            continue
        if rule.referrer is not None and r_kind not in rule.referrer:
            continue
        return rule.channel
    return UNASSIGNED


def channel_of(
    utm_source: str | None,
    utm_medium: str | None,
    tagged: bool,
    referrer_host: str | None,
    page_host: str | None,
) -> str:
    """classify() after dropping an internal referrer (same host as the page)."""
    external = referrer_host if referrer_host and referrer_host != page_host else None
    return classify(utm_source, utm_medium, tagged, external)
