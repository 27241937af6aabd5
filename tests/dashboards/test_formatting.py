"""Numbers for humans, and the change against the previous period."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest

import formatting as fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (950, "950"),
        (999, "999"),
        (1_000, "1k"),
        (1_234, "1.2k"),
        (12_345, "12.3k"),
        (999_949, "999.9k"),
        (999_950, "1M"),
        (1_234_567, "1.2M"),
        (3.5, "3.5"),
        (999.96, "1k"),
        (-1_500, "-1.5k"),
        (Decimal("2500"), "2.5k"),
        (None, "–"),
        (math.nan, "–"),
    ],
)
def test_compact(value: float | None, text: str) -> None:
    assert fmt.compact(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.1234, "12.3%"), (1, "100.0%"), (0, "0.0%"), (0.00049, "0.0%"), (None, "–")],
)
def test_percent(value: float | None, text: str) -> None:
    assert fmt.percent(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45.2, "45s"),
        (59.6, "1m 00s"),
        (245, "4m 05s"),
        (3_725, "1h 02m"),
        (200_000, "2d 07h"),
        (None, "–"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert fmt.duration(seconds) == text


def test_age_of_a_timedelta() -> None:
    assert fmt.age(timedelta(hours=3, minutes=12)) == "3h 12m"
    assert fmt.age(None) == "–"


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1234.5, "USD", "$1,234.50"),
        (Decimal("160"), "EUR", "€160.00"),
        (0.5, "gbp", "£0.50"),
        (1234.5, "CHF", "1,234.50 CHF"),
        (-20, "USD", "-$20.00"),
        (None, "USD", "–"),
    ],
)
def test_money(amount: float | None, currency: str, text: str) -> None:
    assert fmt.money(amount, currency) == text


def test_money_compact_above_ten_thousand_and_by_currency() -> None:
    assert fmt.money_compact(9_999.99, "USD") == "$9,999.99"
    assert fmt.money_compact(12_345, "USD") == "$12.3k"
    assert fmt.money_compact(12_345, "SEK") == "12.3k SEK"
    # USD first, then the others by code; never added together
    assert fmt.money_by_currency({"EUR": 160, "USD": 1025, "GBP": 12_000}) == "$1,025.00 · €160.00 · £12k"
    assert fmt.money_by_currency({}) == "–"


def test_change_of_counts_is_relative_and_of_rates_in_points() -> None:
    assert fmt.change(5, 3) == fmt.Change("+66.7%", "up", "good")
    assert fmt.change(0.6, 2 / 3, "points") == fmt.Change("-6.7 pp", "down", "bad")
    # a bounce rate going up is bad news
    assert fmt.change(0.4, 1 / 3, "points", higher_is_better=False) == fmt.Change("+6.7 pp", "up", "bad")


def test_change_without_a_previous_value() -> None:
    assert fmt.change(5, 0) == fmt.Change("new", "none", "neutral")
    assert fmt.change(0, 0) == fmt.Change("–", "none", "neutral")
    assert fmt.change(5, None) == fmt.Change("–", "none", "neutral")
    assert fmt.change(None, 3) == fmt.Change("–", "none", "neutral")


def test_a_tiny_change_reads_flat() -> None:
    assert fmt.change(10_000, 10_001) == fmt.Change("±0.0%", "flat", "neutral")
    assert fmt.change(0.5, 0.5004, "points") == fmt.Change("±0.0 pp", "flat", "neutral")
