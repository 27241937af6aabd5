"""Numbers for humans: 1.2k, 12.3%, 4m 05s, $1,234.50, and the change against a previous period.

Pure functions of plain values; None (no data) always reads as an en dash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

MISSING = "–"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def _missing(value: float | Decimal | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def compact(value: float | Decimal | None) -> str:
    """950 -> '950', 1234 -> '1.2k', 12_345 -> '12.3k', 1_234_567 -> '1.2M'."""
    if _missing(value):
        return MISSING
    assert value is not None
    number = float(value)
    sign = "-" if number < 0 else ""
    size = abs(number)
    if round(size, 1) < 1000:
        return f"{sign}{int(size)}" if size == int(size) else f"{sign}{size:.1f}"
    for limit, suffix in ((1e3, "k"), (1e6, "M"), (1e9, "B")):
        scaled = round(size / limit, 1)
        if scaled < 1000 or suffix == "B":  # 999,960 is "1M", not "1000k"
            return f"{sign}{scaled:.1f}".rstrip("0").rstrip(".") + suffix
    raise AssertionError("unreachable")


def integer(value: float | Decimal | None) -> str:
    """1234 -> '1,234'."""
    if _missing(value):
        return MISSING
    assert value is not None
    return f"{round(float(value)):,}"


def decimal(value: float | Decimal | None, digits: int = 2) -> str:
    """1.8 -> '1.80' (pages per session and other small ratios)."""
    if _missing(value):
        return MISSING
    assert value is not None
    return f"{float(value):,.{digits}f}"


def percent(value: float | Decimal | None, digits: int = 1) -> str:
    """A share: 0.1234 -> '12.3%'."""
    if _missing(value):
        return MISSING
    assert value is not None
    return f"{float(value) * 100:.{digits}f}%"


def duration(seconds: float | Decimal | None) -> str:
    """45.2 -> '45s', 245 -> '4m 05s', 3725 -> '1h 02m', 200_000 -> '2d 07h'."""
    if _missing(seconds):
        return MISSING
    assert seconds is not None
    total = round(float(seconds))
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def age(delta: timedelta | None) -> str:
    """How long ago, for freshness: '45s', '3h 12m', '2d 04h'."""
    if delta is None:
        return MISSING
    return duration(delta.total_seconds())


def money(amount: float | Decimal | None, currency: str) -> str:
    """1234.5, 'USD' -> '$1,234.50'; an unknown symbol is written after: '1,234.50 CHF'."""
    if _missing(amount):
        return MISSING
    assert amount is not None
    number = float(amount)
    sign = "-" if number < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    text = f"{abs(number):,.2f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency.upper()}".strip()


def money_compact(amount: float | Decimal | None, currency: str, exact_below: float = 10_000) -> str:
    """For headline numbers: below 10,000 exact ('$1,234.50'), above compact ('$12.3k')."""
    if _missing(amount):
        return MISSING
    assert amount is not None
    if abs(float(amount)) < exact_below:
        return money(amount, currency)
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    text = compact(amount)
    if symbol:
        return f"-{symbol}{text[1:]}" if text.startswith("-") else f"{symbol}{text}"
    return f"{text} {currency.upper()}"


def money_by_currency(amounts: dict[str, float | Decimal], compact_text: bool = True) -> str:
    """Revenue in several currencies is never summed: '$12.3k · €980.00'."""
    if not amounts:
        return MISSING
    fmt = money_compact if compact_text else money
    return " · ".join(fmt(amounts[c], c) for c in sorted(amounts, key=lambda c: (c != "USD", c)))


# ----------------------------------------------------------------- change against the previous period


@dataclass(frozen=True)
class Change:
    """How a headline number moved: the text, its direction and whether that is good news."""

    text: str
    direction: str  # "up", "down", "flat" or "none" (nothing to compare with)
    tone: str  # "good", "bad" or "neutral"


def change(
    current: float | Decimal | None,
    previous: float | Decimal | None,
    kind: str = "relative",
    higher_is_better: bool = True,
) -> Change:
    """The change from previous to current.

    kind "relative" for counts and amounts ('+12.3%'), "points" for rates
    (percentage points: '+1.2 pp'). Nothing to compare with (no previous value,
    or a relative change from zero) reads 'new' or an en dash.
    """
    if _missing(current) or _missing(previous):
        return Change(MISSING, "none", "neutral")
    assert current is not None and previous is not None
    cur, prev = float(current), float(previous)
    if kind == "points":
        diff = (cur - prev) * 100
        text = f"{diff:+.1f} pp"
        flat = abs(diff) < 0.05
    else:
        if prev == 0:
            return Change("new" if cur else MISSING, "none", "neutral")
        diff = (cur - prev) / abs(prev)
        text = f"{diff * 100:+.1f}%"
        flat = abs(diff) < 0.0005
    if flat:
        return Change(text.replace("+", "±").replace("-", "±"), "flat", "neutral")
    up = diff > 0
    good = up == higher_is_better
    return Change(text, "up" if up else "down", "good" if good else "bad")
