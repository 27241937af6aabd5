"""Bot and spam lines filtered by the transform (docs/BOTS.md), for the Reliability page.

Kept apart from queries.py: the statement is shiny/sql/reliability/filtered.sql.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from clickstream.core import sqlfiles
from queries import Database

SQL_ROOT = Path(__file__).resolve().parent / "sql"
REASON_LABELS = {"bot_user_agent": "Bot user agent", "referrer_spam": "Referrer spam"}


def filtered_by_family(db: Database, first_hour: datetime, last_hour: datetime) -> pd.DataFrame:
    """Filtered lines by reason and family for raw partitions received in a range of hours."""
    return db.frame(
        sqlfiles.text("reliability/filtered.sql", root=SQL_ROOT),
        {"first_hour": first_hour, "last_hour": last_hour},
    )


def filtered_frame(filtered: pd.DataFrame) -> pd.DataFrame:
    """The table the page shows: reason, family, lines, objects and share of the lines read."""
    if filtered.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "Reason": filtered["reason"].map(lambda r: REASON_LABELS.get(r, r)),
            "Bot or spam source": filtered["family"],
            "Filtered lines": filtered["filtered_lines"],
            "Objects": filtered["objects"],
            "Share of lines read (%)": (filtered["share_of_lines"].astype(float) * 100).round(2),
        }
    )
