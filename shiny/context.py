"""What every page server gets from the app: the warehouse and the sidebar's reactive values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components import period_label
from queries import Database, Filters


@dataclass(frozen=True)
class PageContext:
    db: Database
    filters: Callable[[], Filters]  # a reactive calc: the sidebar's dates and slice filters
    compare: Callable[[], bool]  # a reactive calc: show the change against the previous period

    def compared_with(self) -> str | None:
        """The previous period's label for the change lines, or None when comparing is off."""
        if not self.compare():
            return None
        f = self.filters()
        return period_label(f.previous_start, f.previous_end)


def file_stem(f: Filters, what: str) -> str:
    """A download's file name: what and the dates, e.g. 'products_2025-10-08_2025-10-14.csv'."""
    return f"{what}_{f.start.isoformat()}_{f.end.isoformat()}.csv"
