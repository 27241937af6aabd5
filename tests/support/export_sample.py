"""The dashboards' hand-countable sample (tests/support/dashboard_sample.py) with its events too.

``write_sample_with_events`` writes the sample's sessions and aggregates, then one
``fact_events`` row per event of each sample session, a second apart from its start,
with the session's slice; purchase lines carry ``props.order_id`` (one order per session).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import psycopg

from tests.support.dashboard_sample import PRODUCTS, SESSIONS, write_sample


def event_id(session: str, index: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"sample/{session}/{index}")


def event_rows() -> list[dict[str, Any]]:
    rows = []
    for s in SESSIONS:
        for i, (kind, product_id, qty) in enumerate(s.events):
            ts = s.start + timedelta(seconds=i)
            category, price, currency = PRODUCTS[product_id] if product_id else (None, None, None)
            purchase = kind == "purchase"
            rows.append(
                {
                    "event_id": event_id(s.name, i),
                    "session_id": s.session_id,
                    "client_session_id": s.session_id,
                    "anonymous_id": s.visitor,
                    "event_type": kind,
                    "ts": ts,
                    "received_at": ts + timedelta(seconds=1),
                    "event_date": ts.date(),
                    "event_hour": ts.hour,
                    "page_path": "/",
                    "referrer_host": s.referrer_host,
                    "channel": s.channel,
                    "device_type": s.device,
                    "country": s.country,
                    "product_id": product_id,
                    "category": category,
                    "currency": currency,
                    "price": price,
                    "qty": qty if product_id else None,
                    "revenue": price * qty if purchase and price is not None else None,
                    "props": json.dumps({"order_id": f"order-{s.name}"} if purchase else {}),
                }
            )
    return rows


def write_sample_with_events(database_url: str) -> None:
    write_sample(database_url)
    rows = event_rows()
    columns = list(rows[0])
    values = ", ".join(f"%({c})s" for c in columns)
    statement = f"insert into fact_events ({', '.join(columns)}) values ({values})"
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.executemany(statement.encode(), rows)
