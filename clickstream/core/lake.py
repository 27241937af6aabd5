"""The lake layout (DESIGN.md, "Lake layout"): keys and partitions, no I/O.

raw/year=YYYY/month=MM/day=DD/hour=HH/events-<uuid>.ndjson.gz   by receive hour (UTC)
rejects/year=.../hour=HH/<raw object name>.rejects.ndjson.gz      each bad line with its reason
staged/<execution>/...                                            what transform hands on
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

RAW = "raw/"
REJECTS = "rejects/"
STAGED = "staged/"

_PARTITION = re.compile(
    r"^(?P<area>raw|rejects)/year=(?P<y>\d{4})/month=(?P<m>\d{2})/day=(?P<d>\d{2})/hour=(?P<h>\d{2})/"
)


def floor_hour(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def parse_hour(text: str) -> datetime:
    """'2025-10-18T13:00:00Z', '2025-10-18T13' or '2025-10-18T13:00' -> aware UTC hour.

    Raises ValueError for anything that is not a whole UTC hour.
    """
    raw = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}", raw):
        raw += ":00"
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value != floor_hour(value):
        raise ValueError(f"not a whole hour: {text!r}")
    return value


def hour_iso(hour: datetime) -> str:
    return floor_hour(hour).strftime("%Y-%m-%dT%H:00:00Z")


def partition_prefix(hour: datetime, area: str = "raw") -> str:
    h = floor_hour(hour)
    return f"{area}/year={h:%Y}/month={h:%m}/day={h:%d}/hour={h:%H}/"


def partition_hour(key: str) -> datetime:
    """The receive hour of a raw or rejects key; ValueError if it is not in the layout."""
    m = _PARTITION.match(key)
    if not m:
        raise ValueError(f"not a lake partition key: {key!r}")
    return datetime(int(m["y"]), int(m["m"]), int(m["d"]), int(m["h"]), tzinfo=UTC)


def new_raw_key(hour: datetime) -> str:
    return f"{partition_prefix(hour)}events-{uuid.uuid4()}.ndjson.gz"


def rejects_key(raw_key: str) -> str:
    """Deterministic: the rejects of one raw object always land at the same key."""
    hour = partition_hour(raw_key)
    name = raw_key.rsplit("/", 1)[-1]
    for suffix in (".ndjson.gz", ".ndjson", ".gz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return f"{partition_prefix(hour, 'rejects')}{name}.rejects.ndjson.gz"


def staged_prefix(execution: str) -> str:
    return f"{STAGED}{execution}/"


def hours_between(first: datetime, last: datetime) -> list[datetime]:
    """Every hour from first to last, both included."""
    out, h = [], floor_hour(first)
    while h <= floor_hour(last):
        out.append(h)
        h += timedelta(hours=1)
    return out


def execution_name(hour: datetime, suffix: str | None = None) -> str:
    """hour-YYYY-MM-DDTHH, with a suffix for redrives and backfills."""
    base = f"hour-{floor_hour(hour):%Y-%m-%dT%H}"
    return f"{base}-{suffix}" if suffix else base
