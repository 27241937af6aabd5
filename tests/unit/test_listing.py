"""ListNew's planning: bounded items, one partition each, a watermark that never passes a cut."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from clickstream.core.lake import partition_hour, partition_prefix
from clickstream.core.storage import ObjectInfo
from clickstream.pipeline.listing import plan_items

H0 = datetime(2025, 10, 18, 10, tzinfo=UTC)


def objects(per_hour: list[int], size: int = 100) -> list[ObjectInfo]:
    out = []
    for i, n in enumerate(per_hour):
        hour = H0.replace(hour=10 + i)
        out += [
            ObjectInfo(f"{partition_prefix(hour)}events-{j:04d}.ndjson.gz", f"e{j}", size) for j in range(n)
        ]
    return out


def test_items_hold_one_partition_and_respect_the_object_bound() -> None:
    items, complete = plan_items(objects([5, 0, 3]), max_objects=2, max_bytes=10_000)
    assert [len(i.objects) for i in items] == [2, 2, 1, 2, 1]
    for item in items:
        assert {partition_hour(o.key) for o in item.objects} == {item.partition_hour}
    assert complete == H0.replace(hour=12)


def test_byte_bound_cuts_items_but_an_oversized_object_still_gets_an_item() -> None:
    objs = objects([3], size=600)
    items, _ = plan_items(objs, max_objects=100, max_bytes=1000)
    assert [len(i.objects) for i in items] == [1, 1, 1]


def test_item_cap_takes_whole_partitions_and_reports_the_last_complete_one() -> None:
    items, complete = plan_items(objects([4, 4, 4]), max_objects=2, max_bytes=10_000, max_items=5)
    assert len(items) == 4  # the third partition would need items 5 and 6
    assert complete == H0.replace(hour=11)


def test_one_huge_partition_is_taken_in_part() -> None:
    items, complete = plan_items(objects([10]), max_objects=1, max_bytes=10_000, max_items=3)
    assert len(items) == 3
    assert complete is None


@given(
    per_hour=st.lists(st.integers(0, 30), min_size=1, max_size=6),
    max_objects=st.integers(1, 10),
    max_items=st.integers(1, 20),
)
def test_every_object_is_planned_at_most_once_and_complete_partitions_entirely(
    per_hour: list[int], max_objects: int, max_items: int
) -> None:
    objs = objects(per_hour)
    items, complete = plan_items(objs, max_objects, 10**9, max_items)
    planned = [o.key for i in items for o in i.objects]
    assert len(planned) == len(set(planned))
    assert len(items) <= max_items
    assert all(1 <= len(i.objects) <= max_objects for i in items)
    if complete is not None:
        expected = {o.key for o in objs if partition_hour(o.key) <= complete}
        assert expected <= set(planned)


# -- one execution's budget (clickstream/core/limits.py): whole partitions, at least one item


def test_the_byte_budget_takes_whole_partitions_and_stops_the_watermark_before_the_rest() -> None:
    # 3 partitions of 4 objects of 100 bytes; a budget of 900 bytes takes the first two
    items, complete = plan_items(objects([4, 4, 4]), max_objects=2, max_bytes=10_000, max_total_bytes=900)
    assert sum(len(i.objects) for i in items) == 8
    assert complete == H0.replace(hour=11)


def test_a_first_partition_over_the_budget_is_cut_and_the_watermark_does_not_move() -> None:
    items, complete = plan_items(objects([6, 4]), max_objects=2, max_bytes=10_000, max_total_bytes=350)
    assert [len(i.objects) for i in items] == [2]  # a second item of 200 bytes would pass 350
    assert complete is None
    # a budget smaller than one item still takes one: every execution makes progress
    items, complete = plan_items(objects([6]), max_objects=2, max_bytes=10_000, max_total_bytes=1)
    assert [len(i.objects) for i in items] == [2] and complete is None


@given(st.lists(st.integers(0, 6), min_size=1, max_size=8), st.integers(1, 2_000))
def test_repeated_budgeted_executions_take_everything_once_in_order(per_hour: list[int], budget: int) -> None:
    left = objects(per_hour)
    taken: list[str] = []
    watermark = None
    for _ in range(1000):
        if not left:
            break
        items, complete = plan_items(left, max_objects=2, max_bytes=10_000, max_total_bytes=budget)
        assert items
        keys = [o.key for i in items for o in i.objects]
        taken += keys
        left = [o for o in left if o.key not in set(keys)]
        if complete is not None:
            # the watermark never passes an object not taken yet
            assert all(partition_hour(o.key) > complete for o in left)
            watermark = complete if watermark is None else max(watermark, complete)
    assert not left
    assert sorted(taken) == sorted(o.key for o in objects(per_hour))
