"""Who visits the shop, when, from where, and what they do on a visit.

Everything here is plain data and one class, ``Traffic``, that draws from a
seeded ``random.Random``. It produces *visits*: short lists of ``Hit`` tuples
(client time, event type, page, referrer, ecom, props, user_id). The
generator (``generator.py``) turns hits into contract events: it assigns
event ids, tracker session ids and receive times and injects faults.

The shape of the traffic:

- daily rhythm in UTC (the shop's clock): quiet from 01:00 to 06:00, a lunch
  bump, an evening peak from 19:00 to 22:00; weekends are flatter, with more
  daytime and less evening traffic, and a little less traffic overall;
- a pool of visitors: most come once or twice, about one in five is a
  regular who comes back often; a quarter have an account and are often
  logged in (``user_id``);
- channels: direct, organic and paid search, organic and paid social,
  newsletter e-mail, referral sites, a little unassigned traffic; UTM
  parameters sit on the landing page URL only, later pages carry the previous
  page as referrer, like a browser;
- visits: about 40 % bounce (one page view); the rest browse categories,
  search, click product tiles, view products, add to cart; a cart reaches
  checkout and purchase with plausible drop-off, so about 3 % of visits buy;
- product lists (``list_impressions``, off by default so that older traffic
  stays byte for byte the same): a category page shows its first
  ``CATEGORY_PAGE`` products, a product page ``RECOMMENDATIONS`` others of its
  category, search results up to ``CATEGORY_PAGE`` matches; each shown list is
  an ``impression`` event (item_list with the product ids, at the time of the
  page), and a click on a product tile, recommendation or search result picks
  from the list shown (earlier positions more often) and names it.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote_plus

from clickstream.tools.generate.catalog import CATEGORIES, SITE, Product, catalog

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
CATEGORY_PAGE = 24  # products a category page (or a page of search results) shows
RECOMMENDATIONS = 8  # other products of its category a product page shows

# Relative session starts per UTC hour (00..23), weekdays and weekends.
WEEKDAY_PROFILE = (
    0.45, 0.28, 0.18, 0.14, 0.13, 0.16, 0.28, 0.50, 0.75, 0.90, 0.95, 1.00,
    1.10, 1.05, 0.98, 0.95, 1.00, 1.10, 1.30, 1.65, 1.85, 1.80, 1.40, 0.85,
)  # fmt: skip
WEEKEND_PROFILE = (
    0.55, 0.35, 0.22, 0.16, 0.14, 0.15, 0.20, 0.32, 0.55, 0.85, 1.10, 1.25,
    1.30, 1.30, 1.25, 1.20, 1.15, 1.15, 1.20, 1.35, 1.40, 1.35, 1.10, 0.75,
)  # fmt: skip
# Monday .. Sunday.
WEEKDAY_FACTOR = (1.0, 1.03, 1.0, 0.98, 0.92, 0.84, 0.93)

# How many visits each category gets, relative.
CATEGORY_WEIGHT = {
    "laptops": 20,
    "monitors": 14,
    "components": 13,
    "accessories": 10,
    "mice": 9,
    "keyboards": 9,
    "headsets": 8,
    "storage": 8,
    "networking": 5,
    "desktops": 4,
}

# country, weight, (city, weight)...
GEO: tuple[tuple[str | None, float, tuple[tuple[str | None, float], ...]], ...] = (
    ("US", 34, (("New York", 12), ("Los Angeles", 8), ("Chicago", 6), ("Houston", 4), ("Seattle", 5),
                ("Austin", 4), ("San Francisco", 5), ("Boston", 4), ("Denver", 3), ("Atlanta", 3),
                (None, 4))),
    ("GB", 10, (("London", 12), ("Manchester", 4), ("Birmingham", 3), ("Edinburgh", 2), ("Bristol", 2),
                (None, 1))),
    ("DE", 8, (("Berlin", 6), ("Munich", 4), ("Hamburg", 4), ("Frankfurt", 3), ("Cologne", 2))),
    ("CA", 6, (("Toronto", 6), ("Vancouver", 4), ("Montreal", 3), ("Calgary", 2))),
    ("FR", 5, (("Paris", 8), ("Lyon", 2), ("Marseille", 2), ("Toulouse", 1))),
    ("NL", 4, (("Amsterdam", 5), ("Rotterdam", 2), ("Utrecht", 2), ("Eindhoven", 1))),
    ("VN", 5, (("Ho Chi Minh City", 6), ("Hanoi", 5), ("Da Nang", 2))),
    ("IN", 5, (("Bengaluru", 5), ("Mumbai", 4), ("Delhi", 4), ("Hyderabad", 2), ("Pune", 2))),
    ("AU", 3, (("Sydney", 5), ("Melbourne", 4), ("Brisbane", 2))),
    ("ES", 3, (("Madrid", 4), ("Barcelona", 4), ("Valencia", 1))),
    ("IT", 3, (("Milan", 4), ("Rome", 4), ("Turin", 1))),
    ("PL", 3, (("Warsaw", 4), ("Krakow", 2), ("Wroclaw", 2))),
    ("SE", 2, (("Stockholm", 4), ("Gothenburg", 2))),
    ("IE", 2, (("Dublin", 5), ("Cork", 1))),
    ("JP", 2, (("Tokyo", 6), ("Osaka", 3))),
    ("BR", 3, (("Sao Paulo", 5), ("Rio de Janeiro", 3))),
    ("SG", 1, (("Singapore", 1),)),
    (None, 1, ((None, 1),)),  # no trusted country header
)  # fmt: skip

USER_AGENTS: dict[str, tuple[str, ...]] = {
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.6668.100 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.6668.81 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    ),
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.0 Safari/605.1.15",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.0.0 Safari/537.36",
    ),
}
DEVICE_WEIGHT = {"mobile": 55, "desktop": 38, "tablet": 7}
# Share of visitors whose (older) tracker sends only the user agent, not device.type.
UA_ONLY_SHARE = 0.1

# Real crawler, tool and headless-browser user agents (instances listed by the
# crawler-user-agents package, which the transform's bot filter uses: docs/BOTS.md),
# for the visitors that GeneratorConfig.crawler_rate turns into crawlers. They run
# the tracker like a browser, so their events are valid and must be filtered.
CRAWLER_USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/41.0.2272.96 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.109 Safari/537.36",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "python-requests/2.31.0",
)

ORGANIC_SEARCH = (("https://www.google.com/", 80), ("https://www.bing.com/", 12),
                  ("https://duckduckgo.com/", 6), ("https://search.yahoo.com/", 2))  # fmt: skip
SOCIAL = (("https://www.facebook.com/", 20), ("https://l.facebook.com/", 10),
          ("https://www.instagram.com/", 20), ("https://www.reddit.com/r/buildapc/", 15),
          ("https://www.reddit.com/r/laptops/", 8), ("https://t.co/", 7),
          ("https://www.youtube.com/", 20))  # fmt: skip
REFERRAL_SITES = (
    ("https://www.tomshardware.com/reviews/best-picks", 20),
    ("https://www.rtings.com/monitor/reviews/best", 15),
    ("https://www.techradar.com/news/best-laptops", 15),
    ("https://news.ycombinator.com/", 8),
    ("https://slickdeals.net/f/tech-deals", 15),
    ("https://www.theverge.com/tech", 10),
    ("https://www.pcgamer.com/hardware/", 12),
    ("https://forums.anandtech.com/", 5),
)
MAIL_CLIENTS = ((None, 60), ("https://mail.google.com/", 30), ("https://outlook.live.com/", 10))

# (campaign, category it promotes)
SEARCH_CAMPAIGNS = (("brand_search", None), ("laptops_q4", "laptops"), ("monitors_4k", "monitors"),
                    ("gpu_deals", "components"), ("ssd_sale", "storage"))  # fmt: skip
SOCIAL_CAMPAIGNS = (("gaming_setup", "headsets"), ("desk_setup_reels", "accessories"),
                    ("holiday_preview_2025", "laptops"), ("build_your_pc", "components"))  # fmt: skip

# name, weight: how a new visit arrives (returning visitors come direct more often, see Traffic.visit).
CHANNELS = (
    ("direct", 24),
    ("organic_search", 30),
    ("paid_search", 10),
    ("organic_social", 8),
    ("paid_social", 5),
    ("email", 7),
    ("referral", 14),
    ("unassigned", 2),
)

# generic queries per category; product queries are derived from product names
GENERIC_QUERIES = {
    "laptops": ("laptop", "gaming laptop", "ultrabook", "laptop 32gb ram", "macbook", "thinkpad",
                "lenovo laptop", "laptop for students", "oled laptop", "14 inch laptop"),
    "desktops": ("desktop pc", "mini pc", "gaming pc", "imac", "workstation"),
    "monitors": ("monitor", "27 inch monitor", "4k monitor", "144hz monitor", "ultrawide", "oled monitor",
                 "usb c monitor", "curved monitor"),
    "keyboards": ("keyboard", "mechanical keyboard", "wireless keyboard", "ergonomic keyboard",
                  "tkl keyboard"),
    "mice": ("mouse", "wireless mouse", "gaming mouse", "vertical mouse", "mx master"),
    "headsets": ("headset", "noise cancelling headphones", "gaming headset", "usb headset", "headphones"),
    "storage": ("ssd", "nvme ssd", "2tb ssd", "external ssd", "hard drive", "nas", "sd card"),
    "networking": ("router", "wifi 6 router", "mesh wifi", "network switch", "ethernet cable", "wifi 7"),
    "components": ("graphics card", "rtx 4070", "rtx 4090", "ryzen 7", "ddr5 ram", "motherboard", "psu",
                   "pc case", "cpu cooler", "raspberry pi"),
    "accessories": ("usb c hub", "docking station", "webcam", "microphone", "monitor arm", "laptop stand",
                    "laptop bag", "charger", "hdmi cable"),
}  # fmt: skip
TYPO_QUERIES = ("rtx 4070 supr", "mecanical keyboard", "labtop", "moniter 27", "wirless mouse", "hedset")

FIRST_NAMES = ("james", "mary", "john", "linh", "anna", "david", "sophie", "minh", "lucas", "emma", "raj",
               "olivia")  # fmt: skip
LAST_NAMES = ("smith", "nguyen", "garcia", "mueller", "brown", "tran", "johnson", "rossi", "kowalski",
              "patel")  # fmt: skip
MAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me")


class Hit(NamedTuple):
    """One thing a visitor does, before it becomes a contract event."""

    ts_ms: int
    event_type: str
    page_url: str
    referrer: str | None
    ecom: dict[str, Any] | None
    props: dict[str, Any]
    user_id: str | None
    item_list: dict[str, Any] | None = None  # an impression's list, or the list a click came from


class Visitor:
    """A browser: a stable anonymous_id and what the tracker keeps between events."""

    __slots__ = ("anonymous_id", "busy_until", "device", "geo", "is_crawler", "is_regular", "last_ts",
                 "session_id", "user_id", "visits")  # fmt: skip

    def __init__(
        self, anonymous_id: str, user_id: str | None, device: dict[str, str], geo: dict[str, str | None]
    ) -> None:
        self.anonymous_id = anonymous_id
        self.user_id = user_id  # the account, when the visitor has one
        self.device = device  # shared by all of the visitor's events (never mutated)
        self.geo = geo
        self.is_regular = False
        self.is_crawler = False  # a crawler's user agent (GeneratorConfig.crawler_rate): filtered
        self.visits = 0
        self.busy_until = -1  # client time of the visitor's last event
        self.session_id: str | None = None  # the tracker's current session
        self.last_ts = -1  # the tracker's last event time, for the 30 minute idle roll


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid4_text(rng: random.Random) -> str:
    """A version 4 UUID drawn from ``rng`` (so it is reproducible), as text."""
    h = rng.randbytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


class _Picker:
    """Weighted choice over a fixed table, by bisecting cumulative weights (fast, reproducible)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self._items = tuple(items)
        self._cum = tuple(itertools.accumulate(weights))
        self._total = self._cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self._items[bisect.bisect_right(self._cum, rng.random() * self._total)]


def _picker(pairs: Sequence[tuple[Any, float]]) -> _Picker:
    return _Picker([item for item, _ in pairs], [weight for _, weight in pairs])


class Traffic:
    """Draws visitors and visits. One instance per generator run; all randomness comes from ``rng``."""

    def __init__(
        self,
        rng: random.Random,
        *,
        return_share: float = 0.38,
        crawler_rate: float = 0.0,
        list_impressions: bool = False,
    ) -> None:
        self.crawler_rate = crawler_rate
        self.list_impressions = list_impressions
        self.rng = rng
        self.return_share = return_share
        self.visitors: list[Visitor] = []
        self.regulars: list[Visitor] = []
        products = catalog()
        self.by_category: dict[str, list[Product]] = {
            c: [p for p in products if p.category == c] for c in CATEGORIES
        }
        # Within a category a few products get most views: Zipf-like weights over a fixed order.
        self.product_picker = {
            c: _Picker(items, [1.0 / (rank + 1) ** 0.9 for rank in range(len(items))])
            for c, items in self.by_category.items()
        }
        self.category_picker = _picker(list(CATEGORY_WEIGHT.items()))
        self.ecom = {p.product_id: _ecom(p, 1) for p in products}
        self.geo_picker = _picker([((country, _picker(cities)), w) for country, w, cities in GEO])
        self.device_picker = _picker(list(DEVICE_WEIGHT.items()))
        self.channel_picker = _picker(CHANNELS)
        self.organic_search = _picker(ORGANIC_SEARCH)
        self.social = _picker(SOCIAL)
        self.referral = _picker(REFERRAL_SITES)
        self.mail = _picker(MAIL_CLIENTS)
        self.queries = self._queries()
        self.query_picker = _picker([(q, 3 if q[2] is None else 1) for q in self.queries])
        self.category_url = {c: f"{SITE}/c/{c}" for c in CATEGORIES}
        self.category_pages = {url: c for c, url in self.category_url.items()}
        # a shown list's positions, earlier ones clicked more often (the same Zipf-like weights)
        self.position_picker = {
            n: _Picker(range(n), [1.0 / (rank + 1) ** 0.9 for rank in range(n)])
            for n in range(1, CATEGORY_PAGE + 1)
        }

    # ----------------------------------------------------------------- visitors

    def _new_visitor(self) -> Visitor:
        rng = self.rng
        if self.crawler_rate and rng.random() < self.crawler_rate:  # no draw when off: same traffic
            crawler = Visitor(uuid4_text(rng), None, {"user_agent": rng.choice(CRAWLER_USER_AGENTS)},
                              {"country": "US", "city": None})  # fmt: skip
            crawler.is_crawler = True
            self.visitors.append(crawler)
            return crawler
        regular = rng.random() < 0.2
        has_account = rng.random() < (0.5 if regular else 0.2)
        kind = self.device_picker(rng)
        agent = rng.choice(USER_AGENTS[kind])
        device = (
            {"user_agent": agent} if rng.random() < UA_ONLY_SHARE else {"type": kind, "user_agent": agent}
        )
        country, cities = self.geo_picker(rng)
        geo = {"country": country, "city": cities(rng)}
        visitor = Visitor(uuid4_text(rng), uuid4_text(rng) if has_account else None, device, geo)
        visitor.is_regular = regular
        self.visitors.append(visitor)
        if regular:
            self.regulars.append(visitor)
        return visitor

    def pick_visitor(self, start_ms: int) -> Visitor:
        """A returning visitor (regulars more often) or a new one; never one still in a visit."""
        rng = self.rng
        if self.visitors and rng.random() < self.return_share:
            pool = self.regulars if self.regulars and rng.random() < 0.6 else self.visitors
            visitor = pool[int(rng.random() * len(pool))]
            if visitor.busy_until < start_ms:
                return visitor
        return self._new_visitor()

    # ------------------------------------------------------------------- visits

    def _queries(self) -> list[tuple[str, str, Product | None]]:
        """(query, category, product it is looking for or None)."""
        out: list[tuple[str, str, Product | None]] = []
        for category, generic in GENERIC_QUERIES.items():
            out.extend((q, category, None) for q in generic)
            for product in self.by_category[category][:12]:
                words = product.name.split(",")[0].lower().split()
                out.append((" ".join(words[:3]), category, product))
        return out

    def _product(self, category: str | None = None) -> Product:
        product: Product = self.product_picker[category or self.category_picker(self.rng)](self.rng)
        return product

    def _landing(
        self, visitor: Visitor, hour: datetime
    ) -> tuple[str, str | None, Product | None, str | None]:
        """(landing page url, referrer, product on that page, category) for a new visit."""
        rng = self.rng
        channel = "direct" if visitor.visits and rng.random() < 0.35 else self.channel_picker(rng)
        referrer: str | None = None
        utm = ""
        category: str | None = None  # the category a campaign promotes
        if channel == "organic_search":
            referrer = self.organic_search(rng)
        elif channel == "paid_search":
            source = "bing" if rng.random() < 0.15 else "google"
            referrer = f"https://www.{source}.com/"
            campaign, category = rng.choice(SEARCH_CAMPAIGNS)
            utm = f"utm_source={source}&utm_medium=cpc&utm_campaign={campaign}"
            if source == "google":
                utm += f"&gclid=Cj0KCQjw{rng.getrandbits(64):016x}"
        elif channel == "organic_social":
            referrer = self.social(rng)
        elif channel == "paid_social":
            source = "instagram" if rng.random() < 0.4 else "facebook"
            referrer = f"https://www.{source}.com/"
            campaign, category = rng.choice(SOCIAL_CAMPAIGNS)
            utm = f"utm_source={source}&utm_medium=paid_social&utm_campaign={campaign}"
        elif channel == "email":
            referrer = self.mail(rng)
            week = hour.isocalendar()
            campaign = f"weekly_deals_{week.year}w{week.week:02d}" if rng.random() < 0.7 else "new_arrivals"
            utm = f"utm_source=newsletter&utm_medium=email&utm_campaign={campaign}"
        elif channel == "referral":
            referrer = self.referral(rng)
        elif channel == "unassigned":
            if rng.random() < 0.5:
                utm = "utm_source=flyer&utm_medium=print&utm_campaign=store_opening"
            else:
                referrer = "android-app://com.google.android.gm/"

        # landing page: home, a category or a product
        r = rng.random()
        product: Product | None = None
        if channel == "direct":
            kind = "home" if r < 0.6 else ("product" if r < 0.85 else "category")
        elif category is not None:
            kind = "category" if r < 0.5 else "product"
        else:
            kind = "product" if r < 0.55 else ("category" if r < 0.85 else "home")
        if kind == "home":
            page = f"{SITE}/"
        elif kind == "category":
            category = category or self.category_picker(rng)
            page = self.category_url[category]
        else:
            product = self._product(category)
            category = product.category
            page = product.url
        if utm:
            page += "?" + utm
        return page, referrer, product, category

    def _dwell(self, mean_s: float) -> int:
        """Time on a page before the next action, ms; now and then a tab left open past 30 minutes."""
        rng = self.rng
        if rng.random() < 0.012:
            return int(rng.uniform(31, 55) * MINUTE_MS)
        return min(int(rng.expovariate(1.0 / mean_s) * 1000) + 800, 20 * MINUTE_MS)

    def visit(self, visitor: Visitor, start_ms: int, hour: datetime) -> list[Hit]:
        """One visit, as hits in client-time order.

        ``page``/``page_ref`` are the current page and its referrer (the page before it, like
        ``document.referrer``); events on a page carry both.
        """
        rng = self.rng
        visitor.visits += 1
        logged_in = visitor.user_id is not None and rng.random() < 0.65
        shopper_share = 0.22 if visitor.is_regular or logged_in else 0.13
        r = rng.random()
        intent = "bounce" if r < 0.4 else ("shopper" if r < 0.4 + shopper_share else "browse")
        user_id = visitor.user_id if logged_in else None

        page, page_ref, product, category = self._landing(visitor, hour)
        t = start_ms
        hits = [
            Hit(t, "view", page, page_ref, self.ecom[product.product_id] if product else None, {}, user_id)
        ]
        lists = self.list_impressions
        # the product list on the current page: (name, products), with list_impressions
        shown: tuple[str, list[Product]] | None = None

        def show(name: str, products: list[Product]) -> None:
            """The current page shows a list of products: an impression at the time of the page."""
            nonlocal shown
            shown = (name, products)
            ids = [p.product_id for p in products]
            item_list = {"name": name, "product_ids": ids}
            hits.append(Hit(t, "impression", page, page_ref, None, {}, user_id, item_list))

        def show_page_list() -> None:
            """The list a category or product page shows (none elsewhere)."""
            nonlocal shown
            shown = None
            if page.split("?")[0] in self.category_pages and product is None:
                listed = self.category_pages[page.split("?")[0]]
                show(f"category:{listed}", self.by_category[listed][:CATEGORY_PAGE])
            elif product is not None:
                others = [p for p in self.by_category[product.category] if p is not product]
                show("recommendations", others[:RECOMMENDATIONS])

        if lists:
            show_page_list()
        if intent == "bounce":
            return hits

        def pick_shown(default_category: str | None) -> Product:
            """A product clicked in the list shown (earlier positions more often), else of the category."""
            if lists and shown is not None:
                return shown[1][self.position_picker[len(shown[1])](rng)]
            return self._product(default_category)

        def navigate(url: str, ecom: dict[str, Any] | None, clicked: str | None) -> None:
            """Optionally click an element on the current page, then view ``url``."""
            nonlocal t, page, page_ref
            t += self._dwell(30.0 if product is not None else 18.0)
            if clicked is not None:
                item_list = None
                if (
                    shown is not None
                    and ecom is not None
                    and any(p.product_id == ecom["product_id"] for p in shown[1])
                ):
                    item_list = {"name": shown[0]}
                hits.append(Hit(t, "click", page, page_ref, ecom, {"element": clicked}, user_id, item_list))
                t += rng.randint(250, 1500)
            hits.append(Hit(t, "view", url, page, ecom, {}, user_id))
            page, page_ref = url, page
            if lists:
                show_page_list()

        actions = 1 + int(rng.expovariate(1 / (6.0 if intent == "shopper" else 3.5)))
        add_chance = 0.17 if intent == "shopper" else 0.03
        cart: list[dict[str, Any]] = []
        for _ in range(actions):
            r = rng.random()
            if product is not None and r < add_chance:
                several = product.category in ("accessories", "storage", "mice") and rng.random() < 0.2
                line = _ecom(product, 2) if several else self.ecom[product.product_id]
                t += self._dwell(25.0)
                hits.append(Hit(t, "add_to_cart", page, page_ref, line, {"source": "product_page"}, user_id))
                cart.append(line)
                if rng.random() < 0.3:
                    product = None
                    navigate(f"{SITE}/cart", None, None)
            elif r < 0.22:
                query, category, wanted = self.query_picker(rng)
                if rng.random() < 0.04:
                    query, wanted = rng.choice(TYPO_QUERIES), None
                results = 0 if query in TYPO_QUERIES else rng.randint(3, 48)
                url = f"{SITE}/search?q={quote_plus(query)}"
                t += self._dwell(15.0)
                props = {"search_query": query, "results": results}
                hits.append(Hit(t, "search", url, page, None, props, user_id))
                page, page_ref, product = url, page, None
                shown = None
                if lists and results:  # the matches, the one looked for first
                    matches = self.by_category[category][: min(results, CATEGORY_PAGE)]
                    if wanted is not None:
                        matches = [wanted, *(p for p in matches if p is not wanted)][: len(matches)]
                    show("search_results", matches)
                if results and rng.random() < 0.8:
                    product = wanted if wanted is not None and rng.random() < 0.7 else pick_shown(category)
                    navigate(product.url, self.ecom[product.product_id], "search_result")
            elif r < 0.42 or category is None:
                if category is None or rng.random() < 0.3:
                    category = self.category_picker(rng)
                product = None
                navigate(self.category_url[category], None, "nav" if rng.random() < 0.4 else None)
            else:
                element = "recommendation" if product is not None else "product_tile"
                product = pick_shown(category)
                navigate(product.url, self.ecom[product.product_id], element)

        if not cart:
            return hits
        if not page.startswith(f"{SITE}/cart"):
            product = None
            navigate(f"{SITE}/cart", None, None)
        if rng.random() >= (0.5 if intent == "shopper" else 0.25):
            return hits  # abandoned cart
        if user_id is None and visitor.user_id is not None and rng.random() < 0.7:
            user_id = visitor.user_id  # logs in at checkout
        t += self._dwell(20.0)
        items = sum(line["qty"] for line in cart)
        hits.append(Hit(t, "checkout", f"{SITE}/checkout", page, None, {"items": items}, user_id))
        if rng.random() >= 0.62:
            return hits  # dropped out at payment
        t += self._dwell(60.0)
        order_id = f"ORD-{rng.getrandbits(40):010X}"
        confirmation = f"{SITE}/checkout/confirmation"
        for line in cart:  # one purchase event per order line
            hits.append(
                Hit(t, "purchase", confirmation, f"{SITE}/checkout", line, {"order_id": order_id}, user_id)
            )
            t += rng.randint(2, 40)
        return hits


def _ecom(product: Product, qty: int) -> dict[str, Any]:
    return {
        "product_id": product.product_id,
        "name": product.name,
        "category": product.category,
        "currency": product.currency,
        "price": product.price,
        "qty": qty,
    }


def hour_weight(hour_start: datetime) -> float:
    """Relative traffic of one UTC hour: the daily profile times the day of week."""
    profile = WEEKEND_PROFILE if hour_start.weekday() >= 5 else WEEKDAY_PROFILE
    return profile[hour_start.hour] * WEEKDAY_FACTOR[hour_start.weekday()]


def day_start(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 86_400_000 * 86_400, UTC)
