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


def amount_by_currency(frame: pd.DataFrame, period: str, column: str) -> dict[str, float]:
    """{currency: column} of one period of a revenue_totals frame (every currency row it has)."""
    rows = frame[frame["period"] == period] if not frame.empty else frame
    return {r["currency"]: float(r[column]) for r in rows.to_dict("records")}


def order_value(frame: pd.DataFrame, period: str) -> dict[str, float]:
    """Average order value per currency of one period (revenue / orders, DESIGN.md "Order"); a
    currency without orders has none."""
    revenue, orders = revenue_by_currency(frame, period), amount_by_currency(frame, period, "orders")
    return {c: amount / orders[c] for c, amount in revenue.items() if orders.get(c)}


def revenue_per_visitor(frame: pd.DataFrame, period: str, visitors: Any) -> dict[str, float]:
    """Revenue per visitor per currency of one period: revenue / distinct visitors (none without any)."""
    if not visitors:
        return {}
    return {c: amount / float(visitors) for c, amount in revenue_by_currency(frame, period).items()}


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
