"""Writes storefront/products.json: three products per category from clickstream's catalog.

Run from the repository root: .venv/bin/python sdk/scripts/products.py
The ids, prices and categories are the catalog's, so the demo shop's events join dim_product.
"""

from __future__ import annotations

import json
from pathlib import Path

from clickstream.tools.generate import catalog

PER_CATEGORY = 3
OUT = Path(__file__).resolve().parents[1] / "storefront" / "products.json"


def main() -> None:
    chosen: list[dict[str, object]] = []
    for category in dict.fromkeys(p.category for p in catalog()):
        brands: set[str] = set()
        for p in catalog():
            if p.category != category or p.currency != "USD" or p.brand in brands:
                continue
            brands.add(p.brand)
            chosen.append(
                {
                    "id": p.product_id,
                    "name": p.name,
                    "brand": p.brand,
                    "category": p.category,
                    "price": p.price,
                    "currency": p.currency,
                }
            )
            if len(brands) == PER_CATEGORY:
                break
    OUT.write_text(json.dumps(chosen, indent=1) + "\n")
    print(f"{OUT}: {len(chosen)} products")


if __name__ == "__main__":
    main()
