"""Business alerts through the real state machine (issue 17, item 4): injected drops and spikes in
generated traffic send exactly the expected messages, ordinary noise none, and a day alerts once.

Eight Mondays of generated traffic (20,000 events a day, a seed each), loaded one day per
execution with the default settings: the execution of hour D+1 01:00 completes day D and checks
it against the median of the same weekday over the 4 weeks before (at least 2 needed). The 1st
day has no baseline, the 2nd one week (not compared), the 3rd to 5th are ordinary noise, then:

- 6th: mobile visits dropped to a tenth        -> sessions fall; device mobile moved most
- 7th: visits doubled                          -> sessions and orders rise
- 8th: mobile checkout broken (no purchases)   -> orders and conversion fall, sessions do not;
       device mobile moved most. CheckBusinessDays fails first: the failure is alerted, the
       redrive resumes the check, and it sends one business alert.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from clickstream.core.lake import hour_label
from clickstream.local.alerts import Alert, alerts_file, read_alerts
from clickstream.tools.generate import GeneratorConfig, generate_to_dir
from clickstream.tools.generate.generator import Anomaly
from tests.support.stack import RunningStack

pytestmark = pytest.mark.slow

MONDAYS = [datetime(2025, 9, 1, tzinfo=UTC) + timedelta(weeks=k) for k in range(8)]
SUBJECT = "Clickstream business alert"


def put_day(stack: RunningStack, out: Path, day: datetime, seed: int, *anomalies: Anomaly) -> None:
    generate_to_dir(
        GeneratorConfig(seed=seed, start=day, hours=24, events_per_day=20_000, anomalies=anomalies), out
    )
    for path in sorted((out / "raw").rglob("*.ndjson.gz")):
        stack.lake.put_bytes(path.relative_to(out).as_posix(), path.read_bytes())


def business(stack: RunningStack, at_least: int = 0) -> list[Alert]:
    for _ in range(300):
        found = [a for a in read_alerts(alerts_file(stack.data_dir)) if a.subject.startswith(SUBJECT)]
        if len(found) >= at_least:
            return found
        time.sleep(0.1)
    return found


def completing_hour(day: datetime) -> str:
    return hour_label(day + timedelta(days=1, hours=1))


def deviations(stack: RunningStack, day: datetime) -> dict[str, Any]:
    rows = stack.query("select deviations from etl_business_alerts where alert_date = %s", (day.date(),))
    assert len(rows) == 1
    return {d["metric"]: d for d in rows[0][0]}


def test_drops_and_spikes_alert_once_each_and_noise_never(stack: RunningStack, tmp_path: Path) -> None:
    drills = {
        5: Anomaly(start=MONDAYS[5], what="visits", factor=0.1, device="mobile"),
        6: Anomaly(start=MONDAYS[6], what="visits", factor=2.0),
        7: Anomaly(start=MONDAYS[7], what="purchases", factor=0.0, device="mobile"),
    }
    # The ordinary days, then the drop and the spike: one execution completes each day.
    for k in range(7):
        day = MONDAYS[k]
        put_day(stack, tmp_path / f"d{k}", day, 40 + k, *([drills[k]] if k in drills else []))
        stack.cli("run", "--hour", completing_hour(day))
        # The run checked the days it completed: this Monday and the empty days since the last one
        # (not compared: their weekdays have no sessions before), each once.
        checked = [r[0] for r in stack.query("select alert_date from etl_business_alerts order by 1")]
        assert checked[-1] == day.date() and {d.date() for d in MONDAYS[: k + 1]} <= set(checked)
        assert len(business(stack, at_least=max(0, k - 4))) == max(0, k - 4), k

    summaries = dict(stack.query("select alert_date, summary from etl_business_alerts"))
    assert stack.scalar("select count(*) from etl_business_alerts where alerted") == 2
    assert "not compared: 0 of the 4" in summaries[MONDAYS[0].date()]
    assert "not compared: 1 of the 4" in summaries[MONDAYS[1].date()]
    for k in (2, 3, 4):  # compared with 2, 3 and 4 weeks, and ordinary noise: nothing moved
        assert deviations(stack, MONDAYS[k]) == {}, summaries[MONDAYS[k].date()]

    drop, spike = business(stack)
    assert drop.subject.startswith(f"{SUBJECT} 2025-10-06 (Mon): sessions −")
    moved = deviations(stack, MONDAYS[5])
    assert moved["sessions"]["change"] < -0.3 and moved["sessions"]["slice"] == ["device", "mobile"]
    assert "moved most: device mobile" in drop.message
    assert spike.subject.startswith(f"{SUBJECT} 2025-10-13 (Mon): sessions +")
    moved = deviations(stack, MONDAYS[6])
    assert moved["sessions"]["change"] > 0.3 and moved["orders"]["change"] > 0.3

    # The broken checkout, and CheckBusinessDays failing first: caught, alerted as a failure.
    day = MONDAYS[7]
    put_day(stack, tmp_path / "d7", day, 47, drills[7])
    stack.faults({"load": [{"error": "ConfigurationError", "action": "check_business_days", "times": -1}]})
    failed = stack.cli("run", "--hour", completing_hour(day), check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert stack.scalar("select count(*) from etl_business_alerts where alert_date = %s", (day.date(),)) == 0
    failures = [a for a in read_alerts(alerts_file(stack.data_dir)) if a.failure]
    assert failures and "failed state CheckBusinessDays" in failures[-1].message
    stack.faults({})
    redriven = stack.cli("redrive", "--hour", completing_hour(day))
    alerts = business(stack, at_least=3)
    checked = stack.query(
        "select alerted, summary from etl_business_alerts where alert_date = %s", (day.date(),)
    )
    assert len(alerts) == 3, (
        redriven.stdout,
        checked,
        stack.cli("execution", f"hour-{completing_hour(day)}-r2").stdout,
    )
    broken = alerts[-1]
    assert broken.subject.startswith(f"{SUBJECT} 2025-10-20 (Mon): orders −")
    moved = deviations(stack, day)
    assert "sessions" not in moved  # visits were as usual
    assert moved["orders"]["slice"] == ["device", "mobile"]
    assert moved["conversion"]["change"] < -0.3 and moved["conversion"]["slice"] == ["device", "mobile"]

    # A rerun of the hour, and of the one before: no day alerts twice.
    stack.cli("run", "--hour", completing_hour(day), "--rerun")
    stack.cli("run", "--hour", completing_hour(MONDAYS[6]), "--rerun")
    time.sleep(1)
    assert len(business(stack)) == 3
