"""The staged format: what transform hands to the load states.

A staged batch is one gzipped PostgreSQL text-COPY stream (tab separated,
``\\N`` for null) of ``STAGED_COLUMNS``, plus a JSON manifest beside it with
the source objects and their counts. Load streams the bytes into COPY without
parsing them again. ``src`` is the ordinal of the source object in the
manifest, so every loaded or duplicate row is counted against its object.
"""

from __future__ import annotations

# Same order as the COPY column list; every name but ``src`` is a fact_events column.
STAGED_COLUMNS: tuple[str, ...] = (
    "src",
    "event_id",
    "client_session_id",
    "anonymous_id",
    "user_hash",
    "event_type",
    "ts",
    "received_at",
    "event_date",
    "event_hour",
    "page_url",
    "page_path",
    "referrer",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "channel",
    "device_type",
    "country",
    "city",
    "product_id",
    "category",
    "currency",
    "price",
    "qty",
    "revenue",
    "search_query",
    "props",
    "is_ts_clamped",
    "browser",
    "os",
    "product_name",
)

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: object) -> str:
    """One field in PostgreSQL's text COPY format."""
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value).translate(_ESCAPES)


def copy_line(values: tuple[object, ...] | list[object]) -> str:
    """One row (no trailing newline) in PostgreSQL's text COPY format."""
    return "\t".join([copy_text(v) for v in values])
