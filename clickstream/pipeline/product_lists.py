"""Product list impressions and list clicks (sql/011), kept exact by SessionizeAndUpsert.

DESIGN.md "Product": a product's click-through rate is its list clicks over its
impressions (GA4's item-list click-through rate). An impression is an
``impression`` event whose ``item_list.product_ids`` showed the product (once per
event); a list click is a ``click`` on the product (``ecom``) that names its
``item_list``. The warehouse keeps the contract's ``item_list`` in
``fact_events.props.item_list`` (clickstream/pipeline/transform.py).

``apply`` runs inside ``sessionize.apply``, after the run's events are in
fact_events and before the touched sessions are removed: the counts of
``agg_daily_product_list_slices`` and ``agg_daily_product_lists`` move by the
deltas of the events of the recomputed sessions (sql/sessionize/product_lists/),
so the work is proportional to what the run touched. ``rebuild_product_lists()``
(sql/functions/) computes the same from scratch.
"""

from __future__ import annotations

from typing import Any

import psycopg

from clickstream.core import sqlfiles

TABLES = ("agg_daily_product_list_slices", "agg_daily_product_lists")


def apply(cur: psycopg.Cursor[Any]) -> None:
    """Move the list counts by the deltas of the recomputed sessions (session_events, sessionize.plan)."""
    cur.execute(sqlfiles.plain("sessionize/product_lists/01_deltas.sql"))
    cur.execute(sqlfiles.plain("sessionize/product_lists/02_apply_slices.sql"))
    cur.execute(sqlfiles.plain("sessionize/product_lists/03_apply_daily.sql"))
    for table in TABLES:
        cur.execute(sqlfiles.query("sessionize/product_lists/04_drop_empty.sql", table=table))
