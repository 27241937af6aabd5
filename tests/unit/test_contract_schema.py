"""docs/event.schema.json is what `clickstream schema` writes from clickstream/core/contract.py."""

from __future__ import annotations

import json
from pathlib import Path

from clickstream.core.contract import json_schema

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "event.schema.json"


def test_the_published_schema_is_the_contracts() -> None:
    assert json.loads(SCHEMA.read_text(encoding="utf-8")) == json_schema(), "run `clickstream schema`"


def test_the_schema_requires_an_impressions_products_and_a_list_clicks_product() -> None:
    rules = json_schema()["allOf"]
    impression, click = rules
    assert impression["if"]["properties"]["event_type"] == {"const": "impression"}
    assert impression["then"]["required"] == ["item_list"]
    assert impression["then"]["properties"]["item_list"]["properties"]["product_ids"]["minItems"] == 1
    assert click["then"]["required"] == ["ecom"]
