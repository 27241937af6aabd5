"""The local stand-in for the EventBridge schedule: one execution per closed hour.

- ``real``: a few seconds after each hour boundary, start the execution for
  the hour that just closed (EventBridge's input: that hour).
- ``accelerated``: replay hours from ``start`` at ``seconds_per_hour`` real
  seconds each, one after the other (each waits for the previous one), then
  go on in real time. For demos and for catching up a stack that was off.
- ``off``: nothing; hours run only when asked (``clickstream run``).

Only closed hours are started: an hour that has not ended by the scheduler's
clock is refused (logged, never started), as ``Operator.start`` refuses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from clickstream.core.errors import HourNotClosed
from clickstream.core.lake import execution_name, floor_hour, require_closed
from clickstream.ops.operations import Operator

GRACE_S = 5.0


class Scheduler(threading.Thread):
    def __init__(
        self,
        op: Operator,
        clock: str = "real",
        start: datetime | None = None,
        seconds_per_hour: float = 10.0,
        log: Callable[[str], None] = print,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(name="clickstream-scheduler", daemon=True)
        if clock not in {"real", "accelerated", "off"}:
            raise ValueError(f"unknown clock {clock!r}: real, accelerated or off")
        self.op, self.clock, self.log, self.now = op, clock, log, now
        self.next_hour = floor_hour(start) if start else None
        self.seconds_per_hour = seconds_per_hour
        self._halt = threading.Event()
        self.started: list[str] = []

    def stop(self) -> None:
        self._halt.set()

    def _fire(self, hour: datetime, wait: bool) -> None:
        name = execution_name(hour)
        try:
            require_closed(hour, self.now())
            arn = self.op.start(hour, name)
        except HourNotClosed as exc:
            self.log(f"scheduler      refused {name}: {exc}")
            return
        self.started.append(name)
        self.log(f"scheduler      started {name}")
        if wait:
            status = self.op.wait(arn)["status"]
            self.log(f"scheduler      {status} {name}")

    def run(self) -> None:
        if self.clock == "off":
            return
        if self.clock == "accelerated" and self.next_hour is not None:
            while not self._halt.is_set() and self.next_hour < floor_hour(self.now()):
                self._fire(self.next_hour, wait=True)
                self.next_hour += timedelta(hours=1)
                self._halt.wait(self.seconds_per_hour)
        while not self._halt.is_set():
            boundary = floor_hour(self.now()) + timedelta(hours=1)
            delay = (boundary - self.now()).total_seconds() + GRACE_S
            if self._halt.wait(max(0.0, delay)):
                return
            self._fire(boundary - timedelta(hours=1), wait=False)
