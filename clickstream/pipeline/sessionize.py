"""Sessions, always exact: the part of SessionizeAndUpsert that keeps fact_sessions and aggregates exact.

DESIGN.md "Session": a visitor's (``anonymous_id``) maximal run of events in
which no gap exceeds 30 minutes (a gap of exactly 30 minutes does not split).
Events are ordered by ``(ts, event_id)`` everywhere, so equal timestamps have
one order; "first" and "last" event mean first and last in that order. A
session's id is ``uuid5(SESSION_NAMESPACE, f"{anonymous_id}|{start}")`` with
``SESSION_NAMESPACE = uuid5(NAMESPACE_URL, "https://clickstream.local/session")``
and ``start`` in UTC as ``2025-10-18T13:00:00.000000Z``, so recomputing a
session never changes its id unless its start changes.

Everything here runs inside SessionizeAndUpsert's transaction (under its advisory lock),
after the run's new rows are picked into ``stage_new`` and before they are
inserted, so sessions, facts and the manifest commit together:

1. ``plan``: the seeds are the new events (and any stored event that never
   got a session, see sql/004). A visitor's seeds with no gap over 30 minutes
   form an island; the stored sessions with an event within 30 minutes of an
   island are the touched sessions. A new event can only extend or merge
   sessions (it never splits one), so the final sessions containing new
   events are made of exactly the new events and the touched sessions'
   events, and every other stored session stays as it is. Those events are
   read with the (anonymous_id, ts) index and sessionized again, and the
   session ids are computed (uuid5, in Python: PostgreSQL has no SHA-1).
2. ``apply`` (after the new rows are inserted with their session ids, see
   ``new_event_sessions``): the stored events whose session changed are
   updated, the touched sessions are deleted (their revenue cascades) and the
   recomputed ones inserted with their revenue, then the aggregates are
   replaced for the keys the run touched: agg_daily_sessions and
   agg_daily_revenue for every session_date of a removed or inserted
   session; agg_daily_visitors and agg_daily_product_visitors for every
   (date, visitor) pair with an event in a removed or inserted session (their
   grain holds the visitor; a changed session can change the slice of each of
   its events, on every date it spans). Then sql/005's dashboard rollups: the
   per-date ones for the same dates (the functions of sql/functions/, which
   ``rebuild_dashboard_rollups()`` runs for every date). ``apply_categories``,
   once dim_product has the run's products, replaces each touched visitor's
   chains of days (visitor_activity_days, agg_daily_visitor_gaps) from its
   first touched date on, the category chains with them.

The statements are in sql/sessionize/, numbered in the order they run (the
chains of days in sql/functions/30_replace_visitor_days.sql, shared with the
rebuild).

The work is proportional to the new events and the sessions they touch: a
returning visitor's older sessions are never read, however long the history.
(One exception, rare: when dim_product files a product under another
category, every visitor of that product has its category days counted again.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql

from clickstream.core import sqlfiles
from clickstream.pipeline import product_lists

SESSION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://clickstream.local/session")
SESSION_GAP = "30 minutes"


def session_uuid(anonymous_id: str, session_start: datetime) -> uuid.UUID:
    """The deterministic id of the visitor's session that starts at ``session_start``."""
    start = session_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return uuid.uuid5(SESSION_NAMESPACE, f"{anonymous_id}|{start}")


@dataclass(frozen=True)
class SessionChanges:
    """What ``apply`` did, for the run's row and the state's result."""

    sessions_replaced: int  # stored sessions removed (each merged into or extended by a new one)
    sessions_written: int  # sessions inserted
    events_resessioned: int  # stored events whose session_id changed
    dates: list[date]  # every date whose aggregates were recomputed (some keys or all of it)


# ----------------------------------------------------------------- plan

# The stored events that never got a session (loaded before sql/004), via its partial index.
_ANY_UNSESSIONIZED = "select exists (select from fact_events where session_id is null)"


def plan(cur: psycopg.Cursor[Any]) -> int:
    """Sessionize the new events in ``stage_new`` with the stored sessions they touch.

    Leaves the temp tables ``session_ranges``, ``session_events``,
    ``session_keys`` and ``new_event_sessions`` (each new event's row in
    ``stage_new``, its place in the insert's order and its session_id) for
    the insert and ``apply``. Returns the number of sessions
    the run will write.
    """
    cur.execute("analyze stage_new")  # row counts for the plans below (a sample: cheap)
    cur.execute(_ANY_UNSESSIONIZED)
    row = cur.fetchone()
    gap = sql.Literal(SESSION_GAP)
    unsessionized = sql.Literal(bool(row and row[0]))
    cur.execute(sqlfiles.query("sessionize/01_session_ranges.sql", gap=gap, unsessionized=unsessionized))
    cur.execute("analyze session_ranges")
    cur.execute(sqlfiles.query("sessionize/02_session_events.sql", gap=gap))
    cur.execute("analyze session_events")

    cur.execute("select session_number, anonymous_id, ts from session_events where is_session_start")
    starts = cur.fetchall()
    cur.execute(sqlfiles.plain("sessionize/03_session_keys.sql"))
    with cur.copy("copy session_keys (session_number, session_id) from stdin") as copy:
        for session_number, anonymous_id, session_start in starts:
            copy.write_row((session_number, session_uuid(anonymous_id, session_start)))
    cur.execute("analyze session_keys")
    cur.execute(sqlfiles.plain("sessionize/04_new_event_sessions.sql"))
    return len(starts)


# ----------------------------------------------------------------- apply


def apply(cur: psycopg.Cursor[Any]) -> SessionChanges:
    """Write what ``plan`` computed, once the new events are in fact_events with their sessions."""
    cur.execute(sqlfiles.plain("sessionize/05_move_stored_events.sql"))
    events_resessioned = cur.rowcount
    product_lists.apply(cur)  # sql/011's list counts, while the touched sessions' slices are there
    cur.execute(sqlfiles.plain("sessionize/06_remove_touched_sessions.sql"))
    removed_dates = {r[0] for r in cur.fetchall()}
    sessions_replaced = cur.rowcount
    cur.execute(sqlfiles.plain("sessionize/07_new_sessions.sql"))
    cur.execute(sqlfiles.plain("sessionize/08_insert_sessions.sql"))
    sessions_written = cur.rowcount
    cur.execute(sqlfiles.plain("sessionize/09_insert_session_revenue.sql"))

    cur.execute("select distinct session_date from new_sessions")
    session_dates = sorted(removed_dates | {r[0] for r in cur.fetchall()})
    cur.execute("delete from agg_daily_sessions where session_date = any(%s::date[])", (session_dates,))
    cur.execute(sqlfiles.plain("sessionize/10_agg_daily_sessions.sql"), {"dates": session_dates})
    cur.execute("delete from agg_daily_revenue where session_date = any(%s::date[])", (session_dates,))
    cur.execute(sqlfiles.plain("sessionize/11_agg_daily_revenue.sql"), {"dates": session_dates})
    # sql/005's session rollups of those dates (sql/functions/, also what the rebuild runs)
    cur.execute("select refresh_session_rollups(%s::date[])", (session_dates,))

    cur.execute(sqlfiles.plain("sessionize/12_touched_visitor_days.sql"))
    cur.execute("analyze touched_visitor_days")
    cur.execute(sqlfiles.plain("sessionize/13_touched_visitors.sql"))
    cur.execute("analyze touched_visitors")
    cur.execute(sqlfiles.plain("sessionize/14_touched_visitor_events.sql"))
    cur.execute("analyze touched_visitor_events")
    for table, date_column in (
        ("agg_daily_visitors", "activity_date"),
        ("agg_daily_product_visitors", "event_date"),
    ):
        cur.execute(
            sqlfiles.query(
                "sessionize/15_remove_visitor_aggregates.sql", table=table, date_column=date_column
            )
        )
    visitor_day_events = sqlfiles.plain("sessionize/visitor_day_events.sql")
    cur.execute(sqlfiles.query("sessionize/16_agg_daily_visitors.sql", visitor_day_events=visitor_day_events))
    cur.execute(
        sqlfiles.query("sessionize/17_agg_daily_product_visitors.sql", visitor_day_events=visitor_day_events)
    )
    cur.execute("select distinct activity_date from touched_visitor_days")
    activity_dates = {r[0] for r in cur.fetchall()}
    # sql/005's chains of days of the touched visitors: in ``apply_categories`` (with the category
    # days, in one call when it can)
    cur.execute("select refresh_daily_products(%s::date[])", (sorted(activity_dates),))
    return SessionChanges(
        sessions_replaced=sessions_replaced,
        sessions_written=sessions_written,
        events_resessioned=events_resessioned,
        dates=sorted(set(session_dates) | activity_dates),
    )


# sql/005: a visitor's chains of days (visitor_activity_days) and agg_daily_visitor_gaps are
# replaced from a first date on, for a set of visitors in a temp table (anonymous_id, first_date),
# by sql/functions/30_replace_visitor_days.sql (what rebuild_dashboard_rollups() runs for every
# visitor), from the per-visitor aggregates. Two groups of kinds: those of the events alone (for the
# touched visitors from their first touched date) and the category kinds, which also depend on
# dim_product; both are replaced in ``apply_categories``, once dim_product has the run's products.
EVENT_KINDS = ("event", "view", "add_to_cart", "purchase", "any_view", "any_add_to_cart", "any_purchase")
CATEGORY_KINDS = ("category_view", "category_add_to_cart", "category_purchase")

# Whether a product already counted is filed under another category now (sql/sessionize/18).
_ANY_RECOUNTED = "select exists (select from recategorized_products where was_counted)"


def _replace_visitor_days(cur: psycopg.Cursor[Any], visitors: str, kinds: tuple[str, ...]) -> None:
    """Replace the visitors' days of these kinds from their first_date on (see above)."""
    cur.execute("select replace_visitor_days(%s::regclass, %s::text[])", (visitors, list(kinds)))


def apply_categories(cur: psycopg.Cursor[Any]) -> None:
    """sql/005's chains of days, once dim_product has the run's products (after ``apply``).

    Products whose category is not (or not yet) the one their days were counted under are
    counted under it now; for those already counted, every visitor of the product has its
    category days replaced from its first day. Usually there are none: then the touched
    visitors' days of every kind are replaced in one call (one read of their per-visitor
    aggregates); otherwise the event kinds for the touched visitors and the category kinds for
    those and the recounted products' visitors, in two.
    """
    cur.execute(sqlfiles.plain("sessionize/18_recategorized_products.sql"))
    cur.execute(sqlfiles.plain("sessionize/19_count_categories.sql"))
    cur.execute(_ANY_RECOUNTED)
    row = cur.fetchone()
    if not (row and row[0]):
        _replace_visitor_days(cur, "touched_visitors", EVENT_KINDS + CATEGORY_KINDS)
        return
    _replace_visitor_days(cur, "touched_visitors", EVENT_KINDS)
    cur.execute(sqlfiles.plain("sessionize/20_category_visitors.sql"))
    cur.execute("analyze category_visitors")
    _replace_visitor_days(cur, "category_visitors", CATEGORY_KINDS)
