"""Every SQL statement the dashboards run, with psycopg 3 parameters only.

The statements live in shiny/sql/<page>/<name>.sql (shiny/sql/common/ for what
several pages share); this module picks the one a filter calls for, composes it
with psycopg.sql (fragments and identifiers in its ``{slot}``s, see
clickstream/core/sqlfiles.py) and runs it.

The analysis pages read the daily aggregate tables of sql/003 and sql/005
(keyed or indexed by the date first, so every query is an index range scan
over the selected dates): sessions from agg_daily_slices (by the hour from
agg_hourly_sessions, or agg_daily_sessions when a slice filter is set),
referrers and campaigns from agg_daily_landings. Distinct visitors over a
range come from sql/005's gaps between a visitor's days when no device,
country or channel filter is set (months are a few thousand rows), and from
the per-visitor aggregates otherwise. Each query serves one output, and
outputs that show the same number run the same query, so pages agree with
each other.

The global filters are the same four clauses everywhere, the date range and
shiny/sql/common/slices.sql:

    session_date between %(start)s and %(end)s
    and (%(devices)s::text[] is null or device_type = any(%(devices)s::text[]))
    ...

A filter left empty is passed as NULL and means "all". Unknown countries are
'' in the aggregates.

Every function takes a ``Database`` and returns a pandas DataFrame (or plain
values); headline queries return one row per period, ``current`` (the selected
dates) and ``previous`` (as many days just before).
"""

from __future__ import annotations

import decimal
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec

import pandas as pd
import psycopg
from psycopg import sql

from clickstream.core import sqlfiles
from clickstream.core.db import connect

STATEMENT_TIMEOUT = "60s"
SHINY_SQL = Path(__file__).resolve().parent / "sql"

Statement = str | sql.SQL | sql.Composed  # what Database runs: a file of SHINY_SQL filled in, or a string
P = ParamSpec("P")


def _file(name: str, **slots: str | sql.Composable) -> sql.Composed | sql.SQL:
    """The statement or fragment in shiny/sql/``name``, its ``{slot}``s filled (a str as an identifier)."""
    return sqlfiles.query(name, SHINY_SQL, **slots) if slots else sqlfiles.plain(name, SHINY_SQL)


def _composed_once(build: Callable[P, sql.Composable]) -> Callable[P, sql.SQL]:
    """``build`` composed and rendered once per process for each of its arguments (which filters are
    set, the split): the text of a statement depends on them only, the values stay parameters."""

    @functools.cache
    def statement(*args: P.args, **kwargs: P.kwargs) -> sql.SQL:
        return sql.SQL(build(*args, **kwargs).as_string())

    return statement  # type: ignore[return-value]  # a functools.cache wrapper, called as build is


def _slices() -> sql.Composable:
    """The device, country and channel filters (shiny/sql/common/slices.sql); NULL parameters mean all."""
    return _file("common/slices.sql")


def _slices_if_set(sliced: bool) -> sql.Composable:
    """The slice filters when one is set, else no condition: the rollups read then (agg_hourly_sessions,
    agg_daily_landings_all, agg_daily_products) have no device, country or channel to filter."""
    return _slices() if sliced else sql.SQL("true")


@_composed_once
def _sliced_or_all(name: str, slot: str, table: str, sliced: bool, **fragments: str) -> sql.Composable:
    """shiny/sql/``name`` with ``table`` in its ``slot`` and the slice filters when one is set, else
    ``table``'s ``_all`` twin (summed over the slices) and no condition; ``fragments`` (slot: file
    under shiny/sql/) composed into it."""
    return _file(
        name,
        **{slot: table if sliced else f"{table}_all"},
        slices=_slices_if_set(sliced),
        **{key: _file(fragment) for key, fragment in fragments.items()},
    )


# ----------------------------------------------------------------- filters and connections


@dataclass(frozen=True)
class Filters:
    """The sidebar: a date range (both ends included) and the slice filters (empty = all)."""

    start: date
    end: date
    devices: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous_start(self) -> date:
        return self.start - timedelta(days=self.days)

    @property
    def previous_end(self) -> date:
        return self.start - timedelta(days=1)

    @property
    def sliced(self) -> bool:
        """Whether a device, country or channel filter is set (else every slice counts)."""
        return bool(self.devices or self.countries or self.channels)

    def previous(self) -> Filters:
        """The comparison period: as many days, just before."""
        return replace(self, start=self.previous_start, end=self.previous_end)

    def params(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "prev_start": self.previous_start,
            "prev_end": self.previous_end,
            "mau_start": self.previous_start - timedelta(days=29),
            "devices": list(self.devices) or None,
            "countries": list(self.countries) or None,
            "channels": list(self.channels) or None,
        }


IDLE_CONNECTIONS = 4  # kept open per warehouse URL between statements (connecting costs ~5 ms)
_idle: dict[str, list[psycopg.Connection[Any]]] = {}
_idle_lock = threading.Lock()


class Database:
    """Runs one statement on a read-only connection and returns a DataFrame.

    Connections are autocommit (each statement is its own read-only transaction)
    and reused: a page render runs several statements, and opening a connection
    costs as much as reading a small aggregate. At most IDLE_CONNECTIONS stay
    open per URL; one that broke while idle (a server restart) is replaced once.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    def _connect(self) -> psycopg.Connection[Any]:
        options = f"-c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT}"
        conn = connect(self.url, application_name="clickstream-dashboards", options=options)
        conn.autocommit = True
        return conn

    def _run(
        self, query: Statement, params: dict[str, Any] | None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        for attempt in range(2):
            with _idle_lock:
                pooled = _idle.get(self.url, [])
                conn = pooled.pop() if pooled else None
            reused = conn is not None
            if conn is None or conn.closed:
                conn = self._connect()
            try:
                cursor = conn.execute(query, params)
                columns = [c.name for c in cursor.description or []]
                rows = cursor.fetchall()
            except psycopg.Error:
                broken = conn.broken
                conn.close()
                if broken and reused and attempt == 0:
                    continue
                raise
            with _idle_lock:
                pooled = _idle.setdefault(self.url, [])
                if len(pooled) < IDLE_CONNECTIONS:
                    pooled.append(conn)
                    conn = None
            if conn is not None:
                conn.close()
            return columns, rows
        raise AssertionError("unreachable")

    def records(self, query: Statement, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The rows as dicts of plain Python values (dates, datetimes, Decimals)."""
        columns, rows = self._run(query, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def frame(self, query: Statement, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """The rows as a DataFrame; numeric columns become floats."""
        columns, rows = self._run(query, params)
        frame = pd.DataFrame(rows, columns=columns)
        for column in frame.columns:
            if frame[column].map(lambda v: isinstance(v, decimal.Decimal)).any():
                frame[column] = frame[column].astype(float)
        return frame


def by_period(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Rows keyed by their ``period`` column; a period without rows is missing."""
    return {row["period"]: row for row in frame.to_dict("records")}


# ----------------------------------------------------------------- filter choices


def data_bounds(db: Database) -> tuple[date | None, date | None]:
    """First and last session date in the warehouse (None, None when it is empty)."""
    (row,) = db.records(
        """
        select
            min(session_date) as first_date,
            max(session_date) as last_date
        from agg_daily_sessions
        """
    )
    return row["first_date"], row["last_date"]


BEFORE_DATA, NO_DATA_YET = "before the data starts", "no data yet"  # days the data does not reach


@dataclass(frozen=True)
class Coverage:
    """The hours the data covers, [start, end) in UTC (DESIGN.md "Partial days").

    ``start`` is the first session's start hour: collection began then. ``end`` is the end of the
    last hour the pipeline committed (the watermark's hour + 1), or of the last session's start hour
    when that is later (or when there is no watermark). A day not wholly inside is partial.
    """

    start: datetime
    end: datetime

    def partial(self, day: date) -> str:
        """'' for a day wholly covered, else which part of it the data covers, for a person."""
        day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        day_end = day_start + timedelta(days=1)
        if day_end <= self.start:
            return BEFORE_DATA
        if day_start >= self.end:
            return NO_DATA_YET
        if day_start < self.start and day_end > self.end:
            return f"{self.start:%H:%M} to {self.end:%H:%M} UTC only"
        if day_start < self.start:
            return f"from {self.start:%H:%M} UTC"
        if day_end > self.end:
            return f"until {self.end:%H:%M} UTC"
        return ""


def data_coverage(db: Database) -> Coverage | None:
    """The hours the warehouse's data covers, None when it has no sessions."""
    (row,) = db.records(_file("common/data_coverage.sql"))
    if row["first_date"] is None:
        return None
    first, last = row["first_date"], row["last_date"]
    start = datetime(first.year, first.month, first.day, row["first_hour"], tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, row["last_hour"], tzinfo=UTC) + timedelta(hours=1)
    if row["watermark_hour"] is not None:
        end = max(end, row["watermark_hour"].astimezone(UTC) + timedelta(hours=1))
    return Coverage(start, end)


def slice_values(db: Database, since: date) -> pd.DataFrame:
    """The device / country / channel combinations seen since a date (for the filter choices)."""
    return db.frame(_file("sidebar/slice_values.sql"), {"since": since})


# ----------------------------------------------------------------- traffic and engagement


def _session_rows(sliced: bool, by: str | None = None) -> sql.Composable:
    """Session counts by date and segment (device, channel, country, browser or OS; '' without
    ``by``), as a subquery: agg_daily_segments without slice filters (a few rows a day), else
    agg_daily_slices (agg_daily_tech for a browser or OS split, sql/014).

    ``by`` is one of SEGMENTS (checked by the callers), never user text.
    """
    if not sliced:
        return _file("common/segment_rows.sql", segment_by=sql.Literal(by or ""))
    if by in TECH_SEGMENTS:
        return _file("common/tech_rows.sql", segment=sql.Identifier(by), slices=_slices())
    segment = _file("common/segment.sql") if by else sql.Literal("")
    return _file("common/slice_rows.sql", segment=segment, slices=_slices())


def _measures() -> sql.Composable:
    """The session measures of session rows, summed (shiny/sql/common/session_measures.sql)."""
    return _file("common/session_measures.sql")


def _segment_sessions(sliced: bool, by: str) -> sql.Composable:
    """Per segment over the selected dates: the session measures (shiny/sql/common/segment_sessions.sql)."""
    return _file(
        "common/segment_sessions.sql", session_rows=_session_rows(sliced, by), session_measures=_measures()
    )


def session_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period: sessions, engagement, page views, duration and the funnel steps."""
    return db.frame(_session_totals(f.sliced), f.params())


@_composed_once
def _session_totals(sliced: bool) -> sql.Composable:
    return _file(
        "common/session_totals.sql", session_rows=_session_rows(sliced), session_measures=_measures()
    )


def visitor_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period: distinct visitors with an event in it, and how many of them are new.

    Without slice filters from the gaps of sql/005 (a visitor counts on its first
    day in the period: the one whose previous day with an event is before it);
    with them, the distinct visitors of agg_daily_visitors in the selected slices.
    A visitor is new when their first-ever day with an event (the gap-0 'event'
    day of sql/005, the date of their first session) is in the period.
    """
    return db.frame(_visitor_totals(f.sliced), f.params())


@_composed_once
def _visitor_totals(sliced: bool) -> sql.Composable:
    if sliced:
        return _file("traffic/visitor_totals_sliced.sql", slices=_slices())
    return _file(
        "traffic/visitor_totals_rollups.sql",
        current=_visitors_in_period("current", "start", "end"),
        previous=_visitors_in_period("previous", "prev_start", "prev_end"),
    )


def _visitors_in_period(period: str, start: str, end: str) -> sql.Composable:
    """traffic/visitors_in_period.sql for the period between the parameters ``start`` and ``end``."""
    return _file(
        "traffic/visitors_in_period.sql",
        period=sql.Literal(period),
        start=sql.Placeholder(start),
        end=sql.Placeholder(end),
    )


def active_users_daily(db: Database, f: Filters) -> pd.DataFrame:
    """Per day of both periods: DAU and MAU (distinct visitors over the 30 days ending that day).

    MAU without a 30-fold self-join: each active day of a visitor covers the
    30 days from it; only the part not covered by that visitor's previous
    active day is counted (+1 where it starts, -1 where it ends), and MAU is
    the running sum of those changes. Without slice filters each visitor-day's
    previous active day comes with it (sql/005's gaps, counted by day and gap),
    so no visitor is read at all.
    """
    return db.frame(_active_users_daily(f.sliced), f.params())


@_composed_once
def _active_users_daily(sliced: bool) -> sql.Composable:
    if sliced:
        activity = _file("traffic/active_users_sliced.sql", slices=_slices())
    else:
        activity = _file("traffic/active_users_rollups.sql")
    return _file("traffic/active_users_daily.sql", activity=activity)


def sessions_daily(db: Database, f: Filters) -> pd.DataFrame:
    """Per day of the selected dates: sessions, engaged sessions, page views, duration."""
    return db.frame(_sessions_daily(f.sliced), f.params())


@_composed_once
def _sessions_daily(sliced: bool) -> sql.Composable:
    return _file("traffic/sessions_daily.sql", session_rows=_session_rows(sliced))


def sessions_by_weekday_hour(db: Database, f: Filters) -> pd.DataFrame:
    """Sessions by ISO weekday (1 = Monday) and UTC start hour over the selected dates."""
    return db.frame(_sessions_by_weekday_hour(f.sliced), f.params())


@_composed_once
def _sessions_by_weekday_hour(sliced: bool) -> sql.Composable:
    sessions = "agg_daily_sessions" if sliced else "agg_hourly_sessions"
    return _file("traffic/sessions_by_weekday_hour.sql", sessions=sessions, slices=_slices_if_set(sliced))


# ----------------------------------------------------------------- funnel


SEGMENTS = {"device": "Device", "channel": "Channel", "country": "Country", "browser": "Browser", "os": "OS"}
# the splits by the session's user agent (sql/014: agg_daily_tech, agg_daily_tech_revenue)
TECH_SEGMENTS = ("browser", "os")


def funnel_by_segment(db: Database, f: Filters, by: str) -> pd.DataFrame:
    """Sessions at each funnel step of the selected dates, split by device, channel or country."""
    params = _split_params(f, by)
    return db.frame(_funnel_by_segment(f.sliced, by), params)


def _split_params(f: Filters, by: str) -> dict[str, Any]:
    """The parameters of a statement split by ``by``, one of SEGMENTS (else ValueError)."""
    if by not in SEGMENTS:
        raise ValueError(f"unknown segment {by!r}")
    return {**f.params(), "by": by}


@_composed_once
def _funnel_by_segment(sliced: bool, by: str) -> sql.Composable:
    return _file("funnel/funnel_by_segment.sql", segment_sessions=_segment_sessions(sliced, by))


# ----------------------------------------------------------------- revenue


def revenue_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period and currency: orders (distinct order ids, DESIGN.md "Order"), purchase lines, units,
    revenue (currencies are never added together)."""
    return db.frame(_revenue_totals(), f.params())


@_composed_once
def _revenue_totals() -> sql.Composable:
    return _file("common/revenue_totals.sql", slices=_slices())


# ----------------------------------------------------------------- products


def product_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period: product views, visitors who viewed / added / bought any product, units.

    Without slice filters from agg_daily_products and the 'any_' gaps of sql/005.
    """
    return db.frame(_product_totals(f.sliced), f.params())


@_composed_once
def _product_totals(sliced: bool) -> sql.Composable:
    if not sliced:
        return _file("products/product_totals_rollups.sql")
    return _file(
        "products/product_totals_sliced.sql",
        slices=_slices(),
        counts=_file("products/counts_sliced.sql", key="period"),
    )


def product_table(db: Database, f: Filters) -> pd.DataFrame:
    """Per product over the selected dates: views, viewers, adders, buyers, units, revenue by currency,
    list impressions and list clicks (sql/011; a product shown in a list but never viewed too).

    Rates are per visitor (DESIGN.md "Product"): visitors who added (or bought)
    the product / visitors who viewed it. Without slice filters from
    agg_daily_products and the per-product gaps of sql/005.
    """
    query = _item_table("products/product_table.sql", "products/product_rows.sql", "product_id", "", f.sliced)
    return db.frame(query, f.params())


def category_table(db: Database, f: Filters) -> pd.DataFrame:
    """Per category over the selected dates, with visitors counted once per category.

    Without slice filters from agg_daily_products and the category gaps of sql/005
    (whose categories follow dim_product's, as the join here does).
    """
    query = _item_table(
        "products/category_table.sql", "products/category_rows.sql", "category", "category_", f.sliced
    )
    return db.frame(query, f.params())


def list_totals(db: Database, f: Filters) -> pd.DataFrame:
    """Per period: list impressions and list clicks of every product (sql/011; DESIGN.md "Product").

    Without slice filters from agg_daily_product_lists, else agg_daily_product_list_slices.
    """
    return db.frame(_list_totals(f.sliced), f.params())


@_composed_once
def _list_totals(sliced: bool) -> sql.Composable:
    facts = "agg_daily_product_list_slices" if sliced else "agg_daily_product_lists"
    return _file("products/list_totals.sql", facts=facts, slices=_slices_if_set(sliced))


def _list_counts(key: str, sliced: bool) -> sql.Composable:
    """products/list_counts.sql per ``key`` (product_id or category) in the selected dates and slices."""
    key_expr = sql.SQL("facts.product_id" if key == "product_id" else "coalesce(dim_product.category, '')")
    return _file(
        "products/list_counts.sql",
        key=key,
        key_expr=key_expr,
        facts="agg_daily_product_list_slices" if sliced else "agg_daily_product_lists",
        slices=_slices_if_set(sliced),
    )


@_composed_once
def _item_table(name: str, rows: str, key: str, kinds: str, sliced: bool) -> sql.Composable:
    """The Products table ``name`` per ``key`` (a column of ``rows``), its rows, counts and revenue filled:
    the _rollups.sql fragments without slice filters, the _sliced.sql ones with them.

    ``kinds`` is the prefix of the key's kinds of day in sql/005's gaps ('' for a product).
    """
    if not sliced:
        return _file(
            name,
            rows=_file(rows, facts="agg_daily_products", slices=_slices_if_set(sliced)),
            counts=_file(
                "products/counts_rollups.sql",
                key=key,
                view=sql.Literal(f"{kinds}view"),
                add_to_cart=sql.Literal(f"{kinds}add_to_cart"),
                purchase=sql.Literal(f"{kinds}purchase"),
            ),
            revenue=_file("products/revenue_rollups.sql", key=key),
            lists=_list_counts(key, sliced),
        )
    return _file(
        name,
        rows=_file(rows, facts="agg_daily_product_visitors", slices=_slices_if_set(sliced)),
        counts=_file("products/counts_sliced.sql", key=key),
        revenue=_file("products/revenue_sliced.sql", key=key),
        lists=_list_counts(key, sliced),
    )


# ----------------------------------------------------------------- acquisition


def acquisition_breakdown(db: Database, f: Filters, by: str) -> pd.DataFrame:
    """Per channel, device, country, browser or OS over the selected dates: sessions, conversion, revenue."""
    params = _split_params(f, by)
    return db.frame(_acquisition_breakdown(f.sliced, by), params)


@_composed_once
def _acquisition_breakdown(sliced: bool, by: str) -> sql.Composable:
    tech = by in TECH_SEGMENTS
    return _file(
        "acquisition/acquisition_breakdown.sql",
        segment_sessions=_segment_sessions(sliced, by),
        segment=sql.Identifier(by) if tech else _file("common/segment.sql"),
        revenue_rows="agg_daily_tech_revenue" if tech else "agg_daily_revenue",
        slices=_slices(),
    )


def _landing_rows(sliced: bool) -> sql.Composable:
    """Sessions by date, channel, referrer and UTM tags: agg_daily_landings_all without slice filters
    (twenty times fewer rows), else agg_daily_landings in the selected slices."""
    return _sliced_or_all("acquisition/landing_rows.sql", "landings", "agg_daily_landings", sliced)


def referrer_table(db: Database, f: Filters) -> pd.DataFrame:
    """Per landing referrer host and channel: sessions, engagement, purchases, revenue.

    From agg_daily_landings (fact_sessions summed by date, slice, referrer and UTM
    tags; agg_daily_landings_all without slice filters) and agg_daily_landing_revenue.
    """
    return db.frame(_referrer_table(f.sliced), f.params())


@_composed_once
def _referrer_table(sliced: bool) -> sql.Composable:
    return _file("acquisition/referrer_table.sql", landing_rows=_landing_rows(sliced), slices=_slices())


def campaign_table(db: Database, f: Filters) -> pd.DataFrame:
    """Per UTM campaign, source, medium and channel (untagged sessions left out), from agg_daily_landings."""
    return db.frame(_campaign_table(f.sliced), f.params())


@_composed_once
def _campaign_table(sliced: bool) -> sql.Composable:
    return _file(
        "acquisition/campaign_table.sql",
        landing_rows=_landing_rows(sliced),
        slices=_slices(),
        campaign_keys=_file("acquisition/campaign_keys.sql"),
    )


# ----------------------------------------------------------------- pipeline health


def runs_in_range(db: Database, first_hour: datetime, last_hour: datetime) -> pd.DataFrame:
    """etl_runs of the hours in a range: what each execution loaded, and when."""
    return db.frame(
        _file("reliability/runs_in_range.sql"),
        {"first_hour": first_hour, "last_hour": last_hour},
    )


def watermark(db: Database) -> dict[str, Any] | None:
    """The one etl_watermark row (None before the first successful run)."""
    rows = db.records(
        """
        select
            watermark_hour,
            execution_name,
            updated_at
        from etl_watermark
        """
    )
    return rows[0] if rows else None


def rejects_by_reason(db: Database, first_hour: datetime, last_hour: datetime) -> pd.DataFrame:
    """Rejected lines by reason, for raw partitions received in a range of hours."""
    return db.frame(
        _file("reliability/rejects_by_reason.sql"),
        {"first_hour": first_hour, "last_hour": last_hour},
    )


def processed_totals(db: Database, first_hour: datetime, last_hour: datetime) -> dict[str, Any]:
    """Objects and lines committed for raw partitions received in a range of hours."""
    (row,) = db.records(
        _file("reliability/processed_totals.sql"),
        {"first_hour": first_hour, "last_hour": last_hour},
    )
    return row
