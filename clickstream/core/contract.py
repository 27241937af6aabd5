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

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

CONTRACT_VERSION = "1"
MAX_LINE_BYTES = 32 * 1024


class EventType(enum.StrEnum):
    VIEW = "view"
    CLICK = "click"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    CHECKOUT = "checkout"
    PURCHASE = "purchase"


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
    props: dict[str, Any] = Field(default_factory=dict)


class TrackedEvent(RawEvent):
    """What a client sends: the same fields without ``received_at`` (ingest sets it)."""

    received_at: AwareDatetime | None = None  # type: ignore[assignment]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one raw lake line, for the tracker and the docs."""
    schema = RawEvent.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://clickstream.local/schemas/event/v{CONTRACT_VERSION}.json"
    schema["title"] = f"Clickstream event v{CONTRACT_VERSION}"
    return schema


def ts_iso(value: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, the contract's timestamp form."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
