"""An hour runs only once it has ended: the rule, the scheduler, and the quarantine key beside it."""

from datetime import UTC, datetime, timedelta

import pytest

from clickstream.core.errors import HourNotClosed
from clickstream.core.lake import last_closed_hour, quarantine_key, rejects_key, require_closed
from clickstream.local.scheduler import Scheduler

from .test_scheduler import FakeOperator

NOW = datetime(2025, 10, 18, 13, 40, 12, tzinfo=UTC)


def test_an_hour_is_closed_once_the_next_one_begins() -> None:
    assert last_closed_hour(NOW) == datetime(2025, 10, 18, 12, tzinfo=UTC)
    assert require_closed(datetime(2025, 10, 18, 12, tzinfo=UTC), NOW) == datetime(
        2025, 10, 18, 12, tzinfo=UTC
    )
    assert require_closed(datetime(2025, 10, 18, 13, tzinfo=UTC), datetime(2025, 10, 18, 14, tzinfo=UTC))
    with pytest.raises(HourNotClosed) as raised:
        require_closed(datetime(2025, 10, 18, 13, tzinfo=UTC), NOW)
    assert str(raised.value) == (
        "hour 2025-10-18T13 has not ended yet: it closes at 2025-10-18T14:00Z (in 19 min); "
        "the last closed hour is 2025-10-18T12"
    )
    with pytest.raises(HourNotClosed, match=r"closes at 2030-01-01T01:00Z \(in 1535 days\)"):
        require_closed(datetime(2030, 1, 1, tzinfo=UTC), NOW)


def test_the_scheduler_never_starts_an_hour_that_has_not_ended() -> None:
    op = FakeOperator()
    logged: list[str] = []
    sched = Scheduler(op, clock="real", log=logged.append, now=lambda: NOW)  # type: ignore[arg-type]
    sched._fire(datetime(2025, 10, 18, 13, tzinfo=UTC), wait=False)
    sched._fire(NOW + timedelta(days=1), wait=False)
    assert op.started == []
    assert "refused hour-2025-10-18T13: hour 2025-10-18T13 has not ended yet" in logged[0]
    sched._fire(datetime(2025, 10, 18, 12, tzinfo=UTC), wait=False)
    assert [name for _, name in op.started] == ["hour-2025-10-18T12"]


def test_a_quarantined_copy_lies_beside_the_rejects_of_its_raw_object() -> None:
    raw = "raw/year=2025/month=10/day=18/hour=13/events-1.ndjson.gz"
    assert rejects_key(raw) == "rejects/year=2025/month=10/day=18/hour=13/events-1.rejects.ndjson.gz"
    assert quarantine_key(raw) == "rejects/year=2025/month=10/day=18/hour=13/events-1.quarantined.gz"
