"""The local scheduler starts hours as EventBridge would: the hour that just closed."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from clickstream.local.scheduler import Scheduler


class FakeOperator:
    def __init__(self) -> None:
        self.started: list[tuple[datetime, str]] = []
        self.event = threading.Event()

    def start(self, hour: datetime, name: str) -> str:
        self.started.append((hour, name))
        if len(self.started) >= 3:
            self.event.set()
        return f"arn:{name}"

    def wait(self, arn: str) -> dict[str, Any]:
        return {"status": "SUCCEEDED"}


def test_accelerated_clock_replays_closed_hours_in_order() -> None:
    op = FakeOperator()
    now = datetime(2025, 10, 18, 3, 30, tzinfo=UTC)
    sched = Scheduler(
        op,  # type: ignore[arg-type]
        clock="accelerated",
        start=datetime(2025, 10, 18, 0, tzinfo=UTC),
        seconds_per_hour=0,
        log=lambda _: None,
        now=lambda: now,
    )
    sched.start()
    assert op.event.wait(5)
    sched.stop()
    sched.join(5)
    assert [n for _, n in op.started] == ["hour-2025-10-18T00", "hour-2025-10-18T01", "hour-2025-10-18T02"]


def test_real_clock_fires_for_the_hour_that_just_closed() -> None:
    op = FakeOperator()
    clock = {"now": datetime(2025, 10, 18, 13, 59, 59, 999000, tzinfo=UTC)}

    def now() -> datetime:
        value = clock["now"]
        clock["now"] = value + timedelta(hours=1)  # each look at the clock jumps an hour
        return value

    sched = Scheduler(op, clock="real", log=lambda _: None, now=now)  # type: ignore[arg-type]
    assert sched.clock == "real"
    sched.start()
    assert op.event.wait(40)
    sched.stop()
    assert op.started[0][1] == "hour-2025-10-18T13"
