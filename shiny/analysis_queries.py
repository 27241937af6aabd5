"""The statements of the analysis pages (Retention, Site search, Paths), as queries.py runs the others.

They read sql/013's aggregates, maintained by the load for the visitors each
run touched (clickstream/pipeline/analyses.py): without a device, country or
channel filter the ``_all`` tables (summed over the slices), else the sliced
ones with shiny/sql/common/slices.sql. Their SQL is in shiny/sql/retention/,
shiny/sql/search/ and shiny/sql/paths/.
"""

from __future__ import annotations

import pandas as pd
from psycopg import sql

from queries import Database, Filters, _sliced_or_all

RETENTION_KINDS = {"visit": "Visitors (first visit)", "purchase": "Customers (first purchase)"}


def retention_cohorts(db: Database, f: Filters, kind: str) -> pd.DataFrame:
    """Per cohort week (of first visits or first purchases in the selected dates) and week after it:
    the cohort's visitors active that week (week_offset 0: the cohort's size)."""
    if kind not in RETENTION_KINDS:
        raise ValueError(f"unknown cohort kind {kind!r}")
    statement = _sliced_or_all("retention/cohorts.sql", "retention", "agg_retention", f.sliced)
    return db.frame(statement, {**f.params(), "kind": kind})


def search_queries(db: Database, f: Filters) -> pd.DataFrame:
    """Per search query over the selected dates: searches and what followed them in the session."""
    return db.frame(_searches("search/search_queries.sql", f.sliced), f.params())


def search_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period (current, previous): searches and what followed them."""
    return db.frame(_searches("search/search_totals.sql", f.sliced), f.params())


def _searches(name: str, sliced: bool) -> sql.SQL:
    return _sliced_or_all(
        name, "searches", "agg_daily_searches", sliced, search_measures="search/search_measures.sql"
    )


def session_paths(db: Database, f: Filters) -> pd.DataFrame:
    """Per path (the first three pages of a session, '' once it ended): sessions and purchasing sessions."""
    return db.frame(_sliced_or_all("paths/paths.sql", "paths", "agg_daily_paths", f.sliced), f.params())
