"""Table shaping the pages share: revenue per currency, shares in percent.

Amounts in different currencies are never added: a table gets one revenue
column per currency, a headline one amount per currency. Purchases without a
currency (no ecom on the event) are kept under '' and shown only if they
carry an amount.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

NO_CURRENCY = "(no currency)"


def currency_order(currency: str) -> tuple[bool, bool, str]:
    return (currency == "", currency != "USD", currency)


def revenue_by_currency(frame: pd.DataFrame, period: str) -> dict[str, float]:
    """{currency: revenue} of one period of a revenue_totals frame (no-currency rows only if not 0)."""
    rows = frame[frame["period"] == period] if not frame.empty else frame
    return {
        r["currency"]: float(r["revenue"]) for r in rows.to_dict("records") if r["currency"] or r["revenue"]
    }


def revenue_columns(out: pd.DataFrame, revenue: pd.Series) -> pd.DataFrame:
    """Adds 'Revenue USD', 'Revenue EUR', ... from a column of {currency: amount} dicts."""
    currencies = sorted({c for amounts in revenue for c, v in amounts.items() if c or v}, key=currency_order)
    for currency in currencies:
        column = f"Revenue {currency or NO_CURRENCY}"
        out[column] = revenue.map(lambda amounts, c=currency: round(float(amounts.get(c, 0)), 2))
    return out


def percent(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator in percent, one decimal; empty where the denominator is 0."""
    return (numerator / denominator.replace(0, float("nan")) * 100).round(1)


def share(numerator: Any, denominator: Any) -> float | None:
    """A ratio of two scalars, None when there is nothing to divide by."""
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)
