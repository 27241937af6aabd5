"""The demo storefront's static files (sdk/storefront): catalog and instrumentation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clickstream.core.contract import Ecom
from clickstream.tools import generate
from clickstream.tools.generate.catalog import CATEGORIES

STOREFRONT = Path(__file__).resolve().parents[2] / "sdk" / "storefront"
PAGES = ("index.html", "product.html", "search.html", "cart.html", "checkout.html")


def products() -> list[dict[str, object]]:
    return list(json.loads((STOREFRONT / "products.json").read_text()))


def test_products_cover_every_category_and_make_valid_ecom_objects() -> None:
    items = products()
    assert 25 <= len(items) <= 60
    assert len({p["id"] for p in items}) == len(items)
    assert {p["category"] for p in items} == set(CATEGORIES)  # every category of the generator's catalog
    for p in items:
        ecom = {k: p[k] for k in ("category", "currency", "price")} | {"product_id": p["id"], "qty": 1}
        Ecom.model_validate_json(json.dumps(ecom))


def test_products_are_the_generator_catalog_products() -> None:
    catalog = {p.product_id: p for p in generate.catalog()}
    for p in products():
        listed = catalog[str(p["id"])]
        assert (listed.name, listed.category, listed.price, listed.currency) == (
            p["name"],
            p["category"],
            p["price"],
            p["currency"],
        )


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_the_tracker_then_the_app(page: str) -> None:
    html = (STOREFRONT / page).read_text()
    assert html.index('src="/sdk/tracker.min.js"') < html.index('src="app.js"')
    assert f'data-page="{page.removesuffix(".html").replace("index", "home")}"' in html
