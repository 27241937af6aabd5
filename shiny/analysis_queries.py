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

from queries import Database, Filters, _composed_once, _file, _slices_if_set

RETENTION_KINDS = {"visit": "Visitors (first visit)", "purchase": "Customers (first purchase)"}


def retention_cohorts(db: Database, f: Filters, kind: str) -> pd.DataFrame:
    """Per cohort week (of first visits or first purchases in the selected dates) and week after it:
    the cohort's visitors active that week (week_offset 0: the cohort's size)."""
    if kind not in RETENTION_KINDS:
        raise ValueError(f"unknown cohort kind {kind!r}")
    return db.frame(_retention_cohorts(f.sliced), {**f.params(), "kind": kind})


@_composed_once
def _retention_cohorts(sliced: bool) -> sql.Composable:
    table = "agg_retention" if sliced else "agg_retention_all"
    return _file("retention/cohorts.sql", retention=table, slices=_slices_if_set(sliced))


def search_queries(db: Database, f: Filters) -> pd.DataFrame:
    """Per search query over the selected dates: searches and what followed them in the session."""
    return db.frame(_search_file("search/search_queries.sql", f.sliced), f.params())


def search_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period (current, previous): searches and what followed them."""
    return db.frame(_search_file("search/search_totals.sql", f.sliced), f.params())


@_composed_once
def _search_file(name: str, sliced: bool) -> sql.Composable:
    table = "agg_daily_searches" if sliced else "agg_daily_searches_all"
    return _file(name, searches=table, slices=_slices_if_set(sliced))


def session_paths(db: Database, f: Filters) -> pd.DataFrame:
    """Per path (the first three pages of a session, '' once it ended): sessions and purchasing sessions."""
    return db.frame(_session_paths(f.sliced), f.params())


@_composed_once
def _session_paths(sliced: bool) -> sql.Composable:
    table = "agg_daily_paths" if sliced else "agg_daily_paths_all"
    return _file("paths/paths.sql", paths=table, slices=_slices_if_set(sliced))
