"""The lake layout (DESIGN.md, "Lake layout"): keys and partitions, no I/O.

raw/year=YYYY/month=MM/day=DD/hour=HH/events-<uuid>.ndjson.gz   by receive hour (UTC)
rejects/year=.../hour=HH/<raw object name>.rejects.ndjson.gz      each bad line with its reason
staged/<execution>/...                                            what transform hands on
ops/health.json                                                   the pipeline's health snapshot (notify)

Only raw/ is ever listed (ListNew, reprocess, the status), partition by partition; ops/ is
reserved for the operators' own objects and no execution reads it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from clickstream.core.errors import HourNotClosed

RAW = "raw/"
REJECTS = "rejects/"
STAGED = "staged/"
OPS = "ops/"
# Lambda error rates and the ingest DLQ's depth, written by notify at the end of every execution
# on AWS and read by the dashboards (clickstream/ops/health.py, docs/DEPLOY.md).
HEALTH_SNAPSHOT = f"{OPS}health.json"

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


def hour_label(hour: datetime) -> str:
    """'2025-10-18T13': how the command line names an hour."""
    return floor_hour(hour).strftime("%Y-%m-%dT%H")


def last_closed_hour(now: datetime | None = None) -> datetime:
    """The latest hour that has ended: the one before the hour ``now`` is in."""
    return floor_hour(now or datetime.now(UTC)) - timedelta(hours=1)


def _span(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 3600:
        return f"{max(seconds // 60, 1)} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def require_closed(hour: datetime, now: datetime | None = None) -> datetime:
    """The hour, if it has ended; HourNotClosed (naming it and when it closes) if not.

    An hour closes when the next one begins: until then its raw partition can
    still receive objects, so no execution may run it and the watermark may
    not pass it.
    """
    now = now or datetime.now(UTC)
    hour = floor_hour(hour)
    closes = hour + timedelta(hours=1)
    if now < closes:
        raise HourNotClosed(
            f"hour {hour_label(hour)} has not ended yet: it closes at {closes:%Y-%m-%dT%H:%M}Z "
            f"(in {_span(closes - now)}); the last closed hour is {hour_label(last_closed_hour(now))}"
        )
    return hour


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


def quarantine_key(raw_key: str) -> str:
    """rejects/<partition>/<name>.quarantined.gz: a corrupt object's exact bytes, beside its rejects."""
    return rejects_key(raw_key).removesuffix(".rejects.ndjson.gz") + ".quarantined.gz"


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
