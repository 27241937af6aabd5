"""The v1 event contract (DESIGN.md, "Event contract"): one JSON object per line.

Validation is strict: a number is never coerced into a timestamp, a string
never into a number. ``clickstream schema`` exports the JSON Schema of
``RawEvent`` to ``docs/event.schema.json``, which the tracker and docs use.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

CONTRACT_VERSION = "1"
MAX_LINE_BYTES = 32 * 1024
MAX_LIST_PRODUCTS = 200  # product ids in one list impression


class EventType(enum.StrEnum):
    VIEW = "view"
    CLICK = "click"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    CHECKOUT = "checkout"
    PURCHASE = "purchase"
    # A list of products was shown (a category page, search results, recommendations):
    # GA4's view_item_list. Its item_list names the list and the product ids it showed.
    IMPRESSION = "impression"


class DeviceType(enum.StrEnum):
    MOBILE = "mobile"
    DESKTOP = "desktop"
    TABLET = "tablet"


_STRICT = ConfigDict(strict=True, extra="ignore", frozen=True)

Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Url = Annotated[str, StringConstraints(max_length=4096)]


class Device(BaseModel):
    model_config = _STRICT

    type: DeviceType | None = None
    # When type is absent the transform derives it from the user agent.
    user_agent: Annotated[str, StringConstraints(max_length=1024)] | None = None


class Geo(BaseModel):
    model_config = _STRICT

    country: Country | None = None
    city: Annotated[str, StringConstraints(max_length=128)] | None = None


class Ecom(BaseModel):
    model_config = _STRICT

    product_id: ShortText
    category: ShortText | None = None
    currency: Currency
    # A JSON number, or a decimal string ("79.99"); at most two decimals.
    price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
    qty: Annotated[int, Field(ge=1, le=10_000)] = 1
    # The product's name as the shop shows it (GA4's item_name); optional, for the dashboards' tables.
    name: ShortText | None = None


class ItemList(BaseModel):
    """The product list an event is about (GA4's item_list_name and items).

    On an ``impression``: the list shown, with the ids of the products it showed (required).
    On a ``click``: the list the clicked product (``ecom``) was chosen from, so the click
    counts as a list click (GA4's select_item); ``product_ids`` is not needed there.
    """

    model_config = _STRICT

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    product_ids: Annotated[list[ShortText], Field(max_length=MAX_LIST_PRODUCTS)] | None = None


class RawEvent(BaseModel):
    """One line of the raw lake: what the tracker sends plus ``received_at``."""

    model_config = _STRICT

    event_id: uuid.UUID
    ts: AwareDatetime
    received_at: AwareDatetime
    event_type: EventType
    session_id: uuid.UUID
    anonymous_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    page_url: Url | None = None
    referrer: Url | None = None
    device: Device = Field(default_factory=Device)
    geo: Geo = Field(default_factory=Geo)
    ecom: Ecom | None = None
    # The product list of an impression, or the list a click came from (optional otherwise).
    item_list: ItemList | None = None
    props: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _list_rules(self) -> RawEvent:
        """An impression names its list and what it showed; a list click names the product clicked."""
        if self.event_type is EventType.IMPRESSION and not (self.item_list and self.item_list.product_ids):
            raise PydanticCustomError(
                "missing", "an impression needs item_list with its product_ids (at least one)"
            )
        if self.event_type is EventType.CLICK and self.item_list is not None and self.ecom is None:
            raise PydanticCustomError("missing", "a click from an item_list needs ecom (the product clicked)")
        return self


class TrackedEvent(RawEvent):
    """What a client sends: the same fields without ``received_at`` (ingest sets it)."""

    received_at: AwareDatetime | None = None  # type: ignore[assignment]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one raw lake line, for the tracker and the docs."""
    schema = RawEvent.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://clickstream.local/schemas/event/v{CONTRACT_VERSION}.json"
    schema["title"] = f"Clickstream event v{CONTRACT_VERSION}"
    # RawEvent._list_rules, as JSON Schema can say them (for the tracker's tests and other clients)
    schema["allOf"] = [
        {
            "if": {"properties": {"event_type": {"const": "impression"}}, "required": ["event_type"]},
            "then": {
                "required": ["item_list"],
                "properties": {
                    "item_list": {
                        "type": "object",
                        "required": ["name", "product_ids"],
                        "properties": {"product_ids": {"type": "array", "minItems": 1}},
                    }
                },
            },
        },
        {
            "if": {
                "properties": {"event_type": {"const": "click"}, "item_list": {"type": "object"}},
                "required": ["event_type", "item_list"],
            },
            "then": {"required": ["ecom"], "properties": {"ecom": {"type": "object"}}},
        },
    ]
    return schema


def ts_iso(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, the contract's timestamp form."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
