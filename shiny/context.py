"""What every page server gets from the app: the warehouse and the sidebar's reactive values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from shiny import reactive

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

    def query(
        self,
        run: Callable[[Database, Filters], pd.DataFrame],
        shape: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    ) -> Callable[[], pd.DataFrame]:
        """A reactive calc: ``run`` for the sidebar's dates and filters (its result ``shape``d)."""
        if shape is None:
            return reactive.calc(lambda: run(self.db, self.filters()))
        return reactive.calc(lambda: shape(run(self.db, self.filters())))

    def file_name(self, what: str | Callable[[], str]) -> Callable[[], str]:
        """A CSV download's file name for ``register_table``: ``what`` (or what it returns) and the dates."""
        return lambda: file_stem(self.filters(), what() if callable(what) else what)


def file_stem(f: Filters, what: str) -> str:
    """A download's file name: what and the dates, e.g. 'products_2025-10-08_2025-10-14.csv'."""
    return f"{what}_{f.start.isoformat()}_{f.end.isoformat()}.csv"
