"""ListNew for a reprocess (clickstream/pipeline/reprocess.py) on moto's S3: every object of the
range, processed or not, in whole partitions up to the budget, and where the next part starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clickstream.core.errors import ContractViolation, HourNotClosed
from clickstream.core.lake import hour_iso, partition_prefix
from clickstream.core.storage import Lake
from clickstream.pipeline import reprocess
from clickstream.pipeline.states import ListNewResult

H = datetime(2025, 10, 18, 22, tzinfo=UTC)  # partitions across midnight: two days' listings


def put(lake: Lake, hour: datetime, count: int, size: int) -> None:
    for i in range(count):
        lake.put_bytes(f"{partition_prefix(hour)}events-{i:04d}.ndjson.gz", b"x" * size)


def test_a_range_is_listed_whole_and_cut_at_partitions_by_the_budget(lake: Lake) -> None:
    # Given partitions 22:00 (2 x 100 B), 23:00 (3 x 100 B), 00:00 (1 x 100 B), 01:00 (outside the range)
    for offset, count in ((-1, 1), (0, 2), (1, 3), (2, 1), (3, 4)):
        put(lake, H + timedelta(hours=offset), count, 100)
    last = H + timedelta(hours=2)

    # When the range 22:00..00:00 is listed with a budget of 500 bytes
    result = reprocess.list_range(
        lake,
        execution="reprocess-x-p1",
        first=H,
        last=last,
        max_objects=2,
        max_bytes=10**6,
        max_total_bytes=500,
    )

    # Then the first two partitions (500 B) are taken whole, and the next part starts at 00:00
    ListNewResult.model_validate(result)
    assert result["objects"] == 5 and result["partitions"] == 2 and result["bytes"] == 500
    assert [i["objects"] for i in result["items"]] == [2, 2, 1]  # at most 2 objects an item
    assert result["reprocess"] == {"first": hour_iso(H), "last": hour_iso(H + timedelta(hours=1)),
                                   "next": hour_iso(last)}  # fmt: skip
    assert result["left_objects"] == 1 and result["watermark_to"] is None and result["truncated"] is False
    worklist = lake.get_json(result["worklist"])
    assert worklist["reprocess"] == result["reprocess"]
    assert reprocess.read_range(lake, result["worklist"]) == (H, H + timedelta(hours=1))

    # and the next part takes the rest of the range, nothing after it
    rest = reprocess.list_range(
        lake,
        execution="reprocess-x-p2",
        first=last,
        last=last,
        max_objects=2,
        max_bytes=10**6,
        max_total_bytes=500,
    )
    assert rest["objects"] == 1 and rest["reprocess"]["next"] is None

    # and from the beginning: the partition before H too, one partition at least even over the budget
    everything = reprocess.list_range(
        lake,
        execution="reprocess-y-p1",
        first=None,
        last=last,
        max_objects=10,
        max_bytes=10**6,
        max_total_bytes=50,
    )
    assert everything["objects"] == 1 and everything["reprocess"]["first"] is None
    assert everything["reprocess"]["next"] == hour_iso(H)


def test_refusals(lake: Lake) -> None:
    with pytest.raises(HourNotClosed):
        reprocess.list_range(
            lake, execution="r", first=None, last=datetime.now(UTC), max_objects=1, max_bytes=1
        )
    with pytest.raises(ContractViolation, match="is after last"):
        reprocess.list_range(
            lake, execution="r", first=H, last=H - timedelta(hours=1), max_objects=1, max_bytes=1
        )
    assert reprocess.read_range(lake, None) is None
