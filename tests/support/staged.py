"""Staged batches and worklists, written to a Lake where transform and list_new write them.

Rows come from ``staged_event(...)``, objects from ``StagedObjectSpec(key,
events, ...)``; ``Stager`` writes ``<batch_key>.tsv.gz`` + ``.json`` and the
worklist. ``reset_warehouse`` empties every table a load writes, for tests
that run many examples against one database.
"""

from __future__ import annotations

import gzip
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from clickstream.core.storage import Lake
from clickstream.pipeline.staged import STAGED_COLUMNS, copy_line

BASE_TS = datetime(2025, 10, 18, 13, 0, tzinfo=UTC)


def staged_event(event_id: uuid.UUID | str | None = None, **overrides: Any) -> dict[str, Any]:
    """One staged row (every STAGED_COLUMNS column but src), a plausible page view by default."""
    ts = overrides.pop("ts", BASE_TS)
    row: dict[str, Any] = {
        "event_id": str(event_id or uuid.uuid4()),
        "client_session_id": str(uuid.UUID(int=1)),
        "anonymous_id": "anon-1",
        "user_hash": None,
        "event_type": "view",
        "ts": ts.isoformat(),
        "received_at": ts.isoformat(),
        "event_date": ts.date().isoformat(),
        "event_hour": ts.hour,
        "page_url": "https://shop.example/",
        "page_path": "/",
        "referrer": None,
        "referrer_host": None,
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
        "channel": "Direct",
        "device_type": "desktop",
        "country": "DE",
        "city": "Berlin",
        "product_id": None,
        "category": None,
        "currency": None,
        "price": None,
        "qty": None,
        "revenue": None,
        "search_query": None,
        "props": "{}",
        "is_ts_clamped": False,
        "browser": "Chrome",
        "os": "Windows",
        "product_name": None,
    }
    unknown = set(overrides) - set(row)
    if unknown:
        raise TypeError(f"not staged columns: {sorted(unknown)}")
    row.update(overrides)
    return row


@dataclass
class StagedObjectSpec:
    """One raw object of a batch: its staged rows and transform's other counts."""

    key: str
    events: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0  # in-batch duplicates transform dropped
    rejects: dict[str, int] = field(default_factory=dict)
    filters: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # bot and spam lines: reason -> family -> n
    quarantined: bool = False
    etag: str | None = None
    partition_hour: datetime = BASE_TS

    def manifest_entry(self) -> dict[str, Any]:
        rejected = sum(self.rejects.values())
        filtered = sum(n for families in self.filters.values() for n in families.values())
        return {
            "key": self.key,
            "etag": self.etag or f"etag-{self.key}",
            "size": 100 + len(self.events),
            "partition_hour": self.partition_hour.strftime("%Y-%m-%dT%H:00:00Z"),
            "lines_read": len(self.events) + self.duplicates + rejected + filtered,
            "staged": len(self.events),
            "duplicates": self.duplicates,
            "rejected": rejected,
            "rejects": dict(self.rejects),
            "filtered": filtered,
            "filters": {reason: dict(families) for reason, families in self.filters.items()},
            "quarantined": self.quarantined,
        }


def raw_key(name: str, hour: datetime = BASE_TS) -> str:
    return f"raw/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/events-{name}.ndjson.gz"


def staged_bytes(objects: list[StagedObjectSpec]) -> bytes:
    """The gzipped text-COPY body of a batch (src = the object's position)."""
    lines = [
        copy_line([src, *(event[c] for c in STAGED_COLUMNS[1:])])
        for src, obj in enumerate(objects)
        for event in obj.events
    ]
    return gzip.compress(("".join(f"{line}\n" for line in lines)).encode("utf-8"), compresslevel=1)


class Stager:
    """Writes staged batches and worklists to a Lake exactly where transform and list_new do."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def batch(self, execution: str, index: int, objects: list[StagedObjectSpec]) -> str:
        batch_key = f"staged/{execution}/batches/{index:05d}"
        staged_key = f"{batch_key}.tsv.gz"
        self.lake.put_bytes(staged_key, staged_bytes(objects), "application/gzip")
        self.lake.put_json(
            f"{batch_key}.json",
            {
                "execution": execution,
                "batch_key": batch_key,
                "staged_key": staged_key,
                "rows": sum(len(o.events) for o in objects),
                "objects": [o.manifest_entry() for o in objects],
            },
        )
        return batch_key

    def worklist(self, execution: str, batch_keys: list[str], hour: datetime = BASE_TS) -> str:
        key = f"staged/{execution}/worklist.json"
        items = [
            {
                "work_key": f"staged/{execution}/work/{i:05d}.json",
                "batch_key": batch_key,
                "partition_hour": hour.strftime("%Y-%m-%dT%H:00:00Z"),
                "objects": 1,
            }
            for i, batch_key in enumerate(batch_keys)
        ]
        self.lake.put_json(
            key, {"execution": execution, "hour": hour.strftime("%Y-%m-%dT%H:00:00Z"), "items": items}
        )
        return key


# Every table a load writes: sessions and aggregates too, they are always those of fact_events.
LOADED_TABLES = (
    "fact_events, fact_sessions, fact_session_revenue, agg_daily_sessions,"
    " agg_daily_revenue, agg_daily_visitors, agg_daily_product_visitors, dim_product, etl_rejects,"
    " etl_filtered, etl_processed_objects, etl_watermark, etl_runs,"
    " visitor_activity_days, agg_daily_visitor_gaps, visitor_category_products, agg_daily_products,"
    " agg_daily_slices, agg_daily_segments, agg_hourly_sessions, agg_daily_landings,"
    " agg_daily_landings_all, agg_daily_landing_revenue,"
    " agg_daily_product_list_slices, agg_daily_product_lists, agg_daily_tech, agg_daily_tech_revenue,"
    " retention_cohorts, retention_weeks, agg_retention, agg_retention_all, fact_searches,"
    " agg_daily_searches, agg_daily_searches_all, fact_session_paths, agg_daily_paths, agg_daily_paths_all"
)


def reset_warehouse(database_url: str) -> None:
    """Empty every table a load writes (a fresh database per hypothesis example would be slow)."""
    with psycopg.connect(database_url) as conn:
        conn.execute(f"truncate {LOADED_TABLES}")
