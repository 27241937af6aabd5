"""Issue 17's analyses (DESIGN.md "Retention", "Site search", "Paths"), kept exact by the load.

One call inside SessionizeAndUpsert's transaction, after ``sessionize.apply``
(fact_sessions and fact_events are final for the run): the visitors whose
sessions the run changed, each with its first touched date, have their rows of
sql/013's tables replaced from that date on and the aggregates adjusted by
the difference (``refresh_analyses``, sql/functions/30_refresh_analyses.sql).
The work is proportional to those visitors' events from that date on, the
read ``sessionize.apply`` already makes for the per-visitor aggregates.

The contract with the sessionizer is one temp table: ``touched_visitors``
(anonymous_id, first_date), where first_date is on or before the date of
every session of that visitor the run removed or inserted.
"""

from __future__ import annotations

from typing import Any

import psycopg

from clickstream.core import sqlfiles

TOUCHED_VISITORS = "touched_visitors"  # sql/sessionize/13_touched_visitors.sql


def refresh(cur: psycopg.Cursor[Any], visitors: str = TOUCHED_VISITORS) -> None:
    """Replace the analyses of the visitors in the temp table ``visitors`` from their first_date on."""
    cur.execute(sqlfiles.query("analyses/refresh_touched_visitors.sql", visitors=visitors))
