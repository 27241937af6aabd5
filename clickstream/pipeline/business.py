"""CheckBusinessDays: after a run completes a day, compare it with the same weekday's baseline.

A day D is complete once the watermark has committed the receive hours up to
``settle_hours`` after its midnight (events of D received just after midnight are in);
the run whose AdvanceWatermark crossed that point checks D (docs/DESIGN.md,
"Business alerts"). For D and the same weekday of each of the ``baseline_weeks``
weeks before, it reads sessions, conversion, orders and revenue per currency, in
total and by the dashboards' slices (device, country, channel), from the facts
(``sql/alerts/``). The baseline is the median of those weeks that have sessions
(at least two). A metric is a deviation when its change exceeds ``threshold`` (a share:
0.3 is 30 %) and is larger than chance makes it (``SIGMAS`` standard deviations: sessions
and orders vary as Poisson counts, revenue as a compound Poisson sum of order values,
conversion as a binomial share), and its baseline is large enough to judge
(``min_sessions``, ``min_orders``). The message names each, by how much, and the slice
that moved most.

Idempotent: each checked day gets a row in ``etl_business_alerts`` (sql/012), keyed
by date, with the run that checked it. A retry of the same run gets the same message
back (the state machine has not published it yet: publishing is the next state);
any other run (a rerun, a continuation, a later hour) finds the row and says nothing.
So a day alerts at most once, whatever is redriven or retried.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from clickstream.core import sqlfiles
from clickstream.core.settings import Settings

SUBJECT_LIMIT = 100  # SNS subject limit
SIGMAS = 3.0  # a change within this many standard deviations of chance is noise
MIN_BASELINE_WEEKS = 2  # weeks with sessions needed for a median worth comparing with
MAX_DAYS_PER_RUN = 7  # a catch-up that completes more days checks the most recent ones
TOTAL = ("total", "")


@dataclass(frozen=True)
class AlertSettings:
    """What decides an alert (clickstream/core/settings.py: BUSINESS_ALERT_*)."""

    threshold: float = 0.3
    baseline_weeks: int = 4
    min_sessions: int = 200
    min_orders: int = 30
    settle_hours: int = 2
    enabled: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertSettings:
        return cls(
            threshold=settings.business_alert_threshold,
            baseline_weeks=settings.business_alert_baseline_weeks,
            min_sessions=settings.business_alert_min_sessions,
            min_orders=settings.business_alert_min_orders,
            settle_hours=settings.business_alert_settle_hours,
            enabled=settings.business_alerts,
        )


@dataclass
class Measures:
    """One slice's numbers on one day."""

    sessions: int = 0
    converting_sessions: int = 0
    orders: int = 0
    orders_by_currency: dict[str, int] = field(default_factory=dict)
    revenue: dict[str, Decimal] = field(default_factory=dict)
    revenue_squares: dict[str, Decimal] = field(default_factory=dict)  # sum of each order's value squared


Slice = tuple[str, str]  # (dimension, value); TOTAL for the whole day
DayMeasures = dict[Slice, Measures]


@dataclass(frozen=True)
class Deviation:
    metric: str  # sessions, orders, conversion, revenue USD
    day: float
    baseline: float
    change: float  # relative: (day - baseline) / baseline
    slice: Slice | None  # the slice that moved most in the direction of the change
    slice_day: float = 0.0
    slice_baseline: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "day": self.day,
            "baseline": self.baseline,
            "change": round(self.change, 4),
            "slice": list(self.slice) if self.slice else None,
            "slice_day": self.slice_day,
            "slice_baseline": self.slice_baseline,
        }


# ----------------------------------------------------------------- which days


def days_to_check(
    before: datetime | None, after: datetime | None, settle_hours: int, max_days: int = MAX_DAYS_PER_RUN
) -> list[date]:
    """The days this run completed: their settle point is in (before, after] (watermark hours).

    Day D's settle point is the hour ``settle_hours - 1`` after its midnight: the watermark
    there means every receive hour up to ``settle_hours`` after midnight is committed.
    Without a previous watermark only the last completed day is checked.
    """
    if after is None or (before is not None and after <= before):
        return []
    lag = timedelta(days=1, hours=max(settle_hours, 1) - 1)
    last = (after - lag).date()
    first = last if before is None else (before - lag).date() + timedelta(days=1)
    first = max(first, last - timedelta(days=max_days - 1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def baseline_dates(day: date, weeks: int) -> list[date]:
    return [day - timedelta(weeks=w) for w in range(1, weeks + 1)]


# ----------------------------------------------------------------- reading the warehouse


def read_measures(conn: psycopg.Connection[Any], dates: Sequence[date]) -> dict[date, DayMeasures]:
    found: dict[date, DayMeasures] = {d: defaultdict(Measures) for d in dates}
    with conn.cursor() as cur:
        cur.execute(sqlfiles.plain("alerts/day_sessions.sql"), {"dates": list(dates)})
        for day, dimension, value, sessions, converting, orders in cur.fetchall():
            m = found[day][(dimension, value)]
            m.sessions, m.converting_sessions, m.orders = int(sessions), int(converting), int(orders)
        cur.execute(sqlfiles.plain("alerts/day_revenue.sql"), {"dates": list(dates)})
        for day, dimension, value, currency, orders, revenue, squares in cur.fetchall():
            m = found[day][(dimension, value)]
            m.orders_by_currency[currency] = int(orders)
            m.revenue[currency] = Decimal(revenue)
            m.revenue_squares[currency] = Decimal(squares)
    return found


# ----------------------------------------------------------------- comparing


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _rate(m: Measures) -> float:
    return m.converting_sessions / m.sessions if m.sessions else 0.0


def compare(day: DayMeasures, baseline: Sequence[DayMeasures], settings: AlertSettings) -> list[Deviation]:
    """The metrics of ``day`` beyond the threshold against the median of ``baseline`` (total)."""
    total = day.get(TOTAL, Measures())
    bases = [b.get(TOTAL, Measures()) for b in baseline]
    slices = sorted({s for d in (day, *baseline) for s in d if s != TOTAL})
    found: list[Deviation] = []

    def beyond(now: float, base: float, sd: float) -> bool:
        """Past the threshold, and further from the baseline than chance goes (SIGMAS x its sd)."""
        return abs(now - base) > settings.threshold * base and abs(now - base) > SIGMAS * sd

    def count_metric(metric: str, value: Any, gate: float, minimum: float, variance: float) -> None:
        base = _median([float(value(b)) for b in bases])
        now = float(value(total))
        if base <= 0 or gate < minimum or not beyond(now, base, math.sqrt(max(variance, 0.0))):
            return
        change = (now - base) / base
        sign = 1 if change > 0 else -1
        best: tuple[float, Slice, float, float] | None = None
        for s in slices:
            s_now = float(value(day.get(s, Measures())))
            s_base = _median([float(value(b.get(s, Measures()))) for b in baseline])
            moved = (s_now - s_base) * sign
            if moved > 0 and (best is None or moved > best[0]):
                best = (moved, s, s_now, s_base)
        found.append(
            Deviation(
                metric,
                now,
                base,
                change,
                best[1] if best else None,
                best[2] if best else 0.0,
                best[3] if best else 0.0,
            )
        )

    base_sessions = _median([b.sessions for b in bases])
    base_orders = _median([b.orders for b in bases])
    # Counts vary by chance as Poisson counts do (variance = the mean).
    count_metric("sessions", lambda m: m.sessions, base_sessions, settings.min_sessions, base_sessions)
    count_metric("orders", lambda m: m.orders, base_orders, settings.min_orders, base_orders)

    # Conversion: a rate. A slice's part of it is its converting sessions over all sessions of the
    # day, so the parts add up to the total; the slice whose part moved most is named.
    # A rate varies by chance as a binomial share of the day's sessions does.
    base_rate = _median([_rate(b) for b in bases])
    if base_rate > 0 and base_sessions >= settings.min_sessions and base_orders >= settings.min_orders:
        change = (_rate(total) - base_rate) / base_rate
        sd = math.sqrt(base_rate * (1 - base_rate) / max(total.sessions, 1))
        if beyond(_rate(total), base_rate, sd):
            sign = 1 if change > 0 else -1
            best_rate: tuple[float, Slice, float, float] | None = None
            for s in slices:
                now_part = (
                    day.get(s, Measures()).converting_sessions / total.sessions if total.sessions else 0.0
                )
                parts = [
                    b.get(s, Measures()).converting_sessions / bt.sessions if bt.sessions else 0.0
                    for b, bt in zip(baseline, bases, strict=True)
                ]
                moved = (now_part - _median(parts)) * sign
                if moved > 0 and (best_rate is None or moved > best_rate[0]):
                    slice_now = _rate(day.get(s, Measures()))
                    slice_base = _median([_rate(b.get(s, Measures())) for b in baseline])
                    best_rate = (moved, s, slice_now, slice_base)
            found.append(
                Deviation(
                    "conversion",
                    _rate(total),
                    base_rate,
                    change,
                    best_rate[1] if best_rate else None,
                    best_rate[2] if best_rate else 0.0,
                    best_rate[3] if best_rate else 0.0,
                )
            )

    currencies = sorted({c for b in (total, *bases) for c in b.revenue if c})
    for currency in currencies:
        # Revenue is a sum of order values over a Poisson number of orders: its variance is the
        # sum of the orders' squared values (compound Poisson), a few large orders weighing most.
        gate = _median([b.orders_by_currency.get(currency, 0) for b in bases])
        variance = _median([float(b.revenue_squares.get(currency, 0)) for b in bases])
        count_metric(
            f"revenue {currency}",
            lambda m, c=currency: m.revenue.get(c, Decimal(0)),
            gate,
            settings.min_orders,
            variance,
        )
    return found


# ----------------------------------------------------------------- the message


def _number(metric: str, value: float) -> str:
    if metric == "conversion":
        return f"{value:.2%}"
    if metric.startswith("revenue"):
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _signed(change: float) -> str:
    return f"{change:+.0%}".replace("-", "−")


def _slice_text(d: Deviation) -> str:
    if d.slice is None:
        return "no single slice moved that way"
    dimension, value = d.slice
    label = f"{dimension} {value or '(unknown)'}"
    if d.metric == "conversion":
        return f"{label}: {d.slice_day:.2%} vs {d.slice_baseline:.2%}"
    delta = d.slice_day - d.slice_baseline
    sign = "+" if delta >= 0 else "−"
    return (
        f"{label}: {_number(d.metric, d.slice_day)} vs {_number(d.metric, d.slice_baseline)} "
        f"({sign}{_number(d.metric, abs(delta))})"
    )


def day_summary(
    day: date, baseline_used: Sequence[date], deviations: Sequence[Deviation], threshold: float
) -> str:
    lines = [
        f"{day:%A} {day} (UTC), against the median of the same weekday on "
        f"{', '.join(str(d) for d in baseline_used)}; threshold ±{threshold:.0%}:",
        "",
    ]
    if not deviations:
        lines.append("  nothing moved beyond the threshold and chance")
    for d in deviations:
        lines.append(
            f"  {d.metric:<13} {_number(d.metric, d.day):>14} vs {_number(d.metric, d.baseline):>14}  "
            f"{_signed(d.change):>6}   moved most: {_slice_text(d)}"
        )
    return "\n".join(lines)


def subject(alerted: Sequence[tuple[date, Sequence[Deviation]]]) -> str:
    if len(alerted) == 1:
        day, deviations = alerted[0]
        head = f"Clickstream business alert {day} ({day:%a})"
    else:
        day, deviations = alerted[-1]
        head = f"Clickstream business alert, {len(alerted)} days to {day}"
    moved = ", ".join(f"{d.metric} {_signed(d.change)}" for d in deviations)
    return f"{head}: {moved}"[:SUBJECT_LIMIT]


# ----------------------------------------------------------------- the state


def check_days(
    conn: psycopg.Connection[Any],
    *,
    run: str,
    before: datetime | None,
    after: datetime | None,
    settings: AlertSettings,
) -> dict[str, Any]:
    """CheckBusinessDays: check the days this run completed; the notice to publish (or not)."""
    days = days_to_check(before, after, settings.settle_hours) if settings.enabled else []
    checked: list[str] = []
    parts: list[str] = []
    alerted: list[tuple[date, list[Deviation]]] = []
    for day in days:
        record = _check_day(conn, run, day, settings)
        if record is None:
            continue  # another run checked it
        checked.append(day.isoformat())
        is_alert, summary, deviations = record
        if is_alert:
            parts.append(summary)
            alerted.append((day, deviations))
    if not alerted:
        return {"publish": False, "subject": "", "message": "", "checked": checked, "alerted": []}
    message = [
        "Business alert: these days moved beyond the threshold against the same weekday's baseline.",
        "",
        *("\n\n".join(parts).splitlines()),
        "",
        "Day vs baseline, the change, and the slice (device, country or channel, the session's) whose",
        "change contributed most in that direction. Definitions: docs/DESIGN.md, Business alerts.",
        "Each day alerts once; the dashboards show the same numbers (filter by the slice named).",
    ]
    return {
        "publish": True,
        "subject": subject(alerted),
        "message": "\n".join(message),
        "checked": checked,
        "alerted": [d.isoformat() for d, _ in alerted],
    }


def _deviation(raw: dict[str, Any]) -> Deviation:
    return Deviation(
        raw["metric"],
        raw["day"],
        raw["baseline"],
        raw["change"],
        (str(raw["slice"][0]), str(raw["slice"][1])) if raw["slice"] else None,
        raw["slice_day"],
        raw["slice_baseline"],
    )


def _check_day(
    conn: psycopg.Connection[Any], run: str, day: date, settings: AlertSettings
) -> tuple[bool, str, list[Deviation]] | None:
    """(alerted, summary, deviations) of the day for this run; None when another run checked it."""
    existing = conn.execute(
        "select execution_name, alerted, summary, deviations from etl_business_alerts where alert_date = %s",
        (day,),
    ).fetchone()
    if existing is not None:
        if existing[0] != run:
            return None
        return bool(existing[1]), str(existing[2]), [_deviation(d) for d in existing[3]]
    weeks = baseline_dates(day, settings.baseline_weeks)
    measures = read_measures(conn, [day, *weeks])
    used = [w for w in weeks if measures[w].get(TOTAL, Measures()).sessions > 0]
    deviations: list[Deviation] = []
    if len(used) < MIN_BASELINE_WEEKS:
        summary = (
            f"{day} not compared: {len(used)} of the {len(weeks)} same weekdays before have sessions "
            f"(at least {MIN_BASELINE_WEEKS} are needed)"
        )
    else:
        deviations = compare(measures[day], [measures[w] for w in used], settings)
        summary = day_summary(day, used, deviations, settings.threshold)
    with conn.transaction():
        row = conn.execute(
            "insert into etl_business_alerts (alert_date, execution_name, alerted, baseline_dates, summary,"
            " deviations) values (%s, %s, %s, %s, %s, %s) on conflict (alert_date) do nothing returning 1",
            (day, run, bool(deviations), used, summary, json.dumps([d.as_json() for d in deviations])),
        ).fetchone()
    if row is None:  # another run recorded it meanwhile
        return None
    return bool(deviations), summary, deviations
