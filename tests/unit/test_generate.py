"""The traffic generator: deterministic, contract-valid, shaped like a real shop, laid out like ingest."""

from __future__ import annotations

import argparse
import gzip
import itertools
import re
import zlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from clickstream.cli.commands import generate as generate_command
from clickstream.core.contract import RawEvent
from clickstream.core.lake import partition_hour, partition_prefix
from clickstream.tools.generate import (
    FAULT_MIX,
    TRUTH_FILE,
    GeneratorConfig,
    Truth,
    catalog,
    generate_objects,
    generate_to_dir,
)
from clickstream.tools.generate.catalog import CATEGORIES
from clickstream.tools.generate.traffic import hour_weight

KEY = re.compile(
    r"^raw/year=\d{4}/month=\d{2}/day=\d{2}/hour=\d{2}/"
    r"events-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.ndjson\.gz$"
)
# Three days from a Monday: enough traffic for the shape tests, a fraction of a second to make.
CLEAN = GeneratorConfig(seed=11, hours=72, events_per_day=8_000)


def lines_of(body: bytes) -> list[bytes]:
    data = gzip.decompress(body)
    return data.split(b"\n")[:-1] if data else []


@pytest.fixture(scope="module")
def clean_objects() -> list[tuple[str, bytes]]:
    return list(generate_objects(CLEAN))


@pytest.fixture(scope="module")
def clean_events(clean_objects: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for _, body in clean_objects for line in lines_of(body)]


# ------------------------------------------------------------------ determinism


def test_same_seed_gives_byte_identical_objects_and_keys() -> None:
    config = GeneratorConfig.with_faults(seed=5, hours=4, events_per_day=6_000)
    assert list(generate_objects(config)) == list(generate_objects(config))


def test_different_seed_gives_different_traffic() -> None:
    first = list(generate_objects(GeneratorConfig(seed=1, hours=2, events_per_day=5_000)))
    second = list(generate_objects(GeneratorConfig(seed=2, hours=2, events_per_day=5_000)))
    assert {k for k, _ in first}.isdisjoint(k for k, _ in second)
    assert {b for _, b in first}.isdisjoint(b for _, b in second)


def test_faults_do_not_change_the_underlying_visits() -> None:
    # Given the same seed with and without faults
    clean = GeneratorConfig(seed=3, hours=3, events_per_day=10_000)
    faulty = GeneratorConfig.with_faults(seed=3, hours=3, events_per_day=10_000)

    def ids(config: GeneratorConfig) -> set[str]:
        out = set()
        for _, body in generate_objects(config):
            try:
                lines = lines_of(body)
            except (OSError, EOFError, zlib.error):
                continue  # a corrupt object
            for line in lines:
                try:
                    out.add(orjson.loads(line)["event_id"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue
        return out

    # Then faults only damage, delay or repeat the same events: no event id is new
    clean_ids, faulty_ids = ids(clean), ids(faulty)
    assert faulty_ids <= clean_ids
    assert len(faulty_ids) > 0.8 * len(clean_ids)


# --------------------------------------------------------------------- contract


def test_every_line_of_fault_free_traffic_passes_the_contract(clean_objects: list[tuple[str, bytes]]) -> None:
    count = 0
    for _, body in clean_objects:
        for line in lines_of(body):
            RawEvent.model_validate_json(line)
            count += 1
    assert count > 20_000


def test_fault_free_truth_has_no_rejects_and_no_duplicates(tmp_path: Path) -> None:
    truth = generate_to_dir(GeneratorConfig(seed=4, hours=6, events_per_day=4_000), tmp_path)
    assert truth.rejected_lines == 0
    assert truth.duplicate_lines == 0
    assert truth.pii_lines == 0
    assert truth.unique_valid_events == truth.lines_written > 0
    assert truth.empty_objects == [] and truth.corrupt_objects == []
    assert Truth.model_validate_json((tmp_path / TRUTH_FILE).read_bytes()) == truth


# ----------------------------------------------------------------------- layout


def test_keys_follow_the_lake_layout_of_the_receive_hour(clean_objects: list[tuple[str, bytes]]) -> None:
    for key, body in clean_objects:
        assert KEY.match(key), key
        assert body[4:8] == b"\0\0\0\0", "gzip mtime must be zero for reproducible bytes"
        for line in lines_of(body):
            received = datetime.fromisoformat(orjson.loads(line)["received_at"])
            assert key.startswith(partition_prefix(received))


def test_objects_come_in_key_order_and_are_micro_batches(clean_objects: list[tuple[str, bytes]]) -> None:
    keys = [key for key, _ in clean_objects]
    assert keys == sorted(keys)
    per_hour = Counter(partition_hour(key) for key in keys)
    busy_hour = max(per_hour.values())
    assert 6 <= busy_hour <= 13  # about one object per five minutes of receive time


def test_objects_are_capped_in_lines() -> None:
    config = GeneratorConfig(seed=2, hours=2, events_per_day=48_000, max_object_lines=100)
    sizes = [len(lines_of(body)) for _, body in generate_objects(config)]
    assert max(sizes) == 100
    assert len(sizes) > 24


def test_received_at_is_shortly_after_ts(clean_events: list[dict[str, Any]]) -> None:
    delays = [
        datetime.fromisoformat(e["received_at"]) - datetime.fromisoformat(e["ts"]) for e in clean_events
    ]
    assert min(delays) >= timedelta(0)
    assert max(delays) < timedelta(seconds=30)


# ------------------------------------------------------------------------ shape


def test_catalog_has_a_few_hundred_plausible_products() -> None:
    products = catalog()
    assert 200 <= len(products) <= 500
    assert {p.category for p in products} == set(CATEGORIES)
    assert len({p.product_id for p in products}) == len(products)
    assert len({p.slug for p in products}) == len(products)
    for p in products:
        assert p.price > 0 and Decimal(str(p.price)) == Decimal(str(p.price)).quantize(Decimal("0.01"))
        assert p.currency in {"USD", "EUR", "GBP"}
    assert Counter(p.currency for p in products).most_common(1)[0][0] == "USD"
    assert catalog() == products  # the same every call


def test_all_categories_are_seen(clean_events: list[dict[str, Any]]) -> None:
    seen = {e["ecom"]["category"] for e in clean_events if e["ecom"]}
    assert seen == set(CATEGORIES)


def test_funnel_narrows_and_a_few_percent_of_sessions_buy(clean_events: list[dict[str, Any]]) -> None:
    sessions: dict[str, set[str]] = defaultdict(set)
    for e in clean_events:
        sessions[e["session_id"]].add(e["event_type"])
    reached = Counter(t for types in sessions.values() for t in types)
    assert reached["view"] > reached["add_to_cart"] > reached["checkout"] > reached["purchase"] > 0
    assert 0.015 <= reached["purchase"] / len(sessions) <= 0.05
    events = Counter(e["event_type"] for e in clean_events)
    assert events["view"] > events["add_to_cart"] > events["checkout"]
    assert set(events) == {"view", "click", "search", "add_to_cart", "checkout", "purchase"}


def test_nights_are_quieter_than_evenings(clean_events: list[dict[str, Any]]) -> None:
    by_hour = Counter(int(e["ts"][11:13]) for e in clean_events)
    night = sum(by_hour[h] for h in range(2, 6))
    evening = sum(by_hour[h] for h in range(19, 23))
    assert night * 4 < evening


def test_weekends_have_their_own_rhythm() -> None:
    monday, saturday = datetime(2025, 10, 13, tzinfo=UTC), datetime(2025, 10, 18, tzinfo=UTC)
    weekday = [hour_weight(monday + timedelta(hours=h)) for h in range(24)]
    weekend = [hour_weight(saturday + timedelta(hours=h)) for h in range(24)]
    assert sum(weekend) < sum(weekday)
    # more of the day's traffic at noon, less in the evening
    assert weekend[12] / sum(weekend) > weekday[12] / sum(weekday)
    assert weekend[20] / sum(weekend) < weekday[20] / sum(weekday)


def test_visitors_return_and_tracker_sessions_roll_after_30_idle_minutes(
    clean_events: list[dict[str, Any]],
) -> None:
    by_visitor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in clean_events:
        by_visitor[e["anonymous_id"]].append(e)
    returning = 0
    for events in by_visitor.values():
        events.sort(key=lambda e: e["ts"])
        for before, after in itertools.pairwise(events):
            gap = datetime.fromisoformat(after["ts"]) - datetime.fromisoformat(before["ts"])
            same = before["session_id"] == after["session_id"]
            assert same == (gap <= timedelta(minutes=30)), (before, after)
        days = {e["ts"][:10] for e in events}
        returning += len(days) > 1
    assert returning > 0.05 * len(by_visitor)
    assert any(e["user_id"] for e in clean_events)


def test_acquisition_devices_and_pages_look_real(clean_events: list[dict[str, Any]]) -> None:
    referrers = {e["referrer"] for e in clean_events}
    assert None in referrers
    assert {"https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/"} <= referrers
    urls = [e["page_url"] for e in clean_events]
    assert any("utm_source=newsletter&utm_medium=email" in u for u in urls)
    assert any("utm_medium=cpc" in u for u in urls)
    assert any(re.search(r"/p/[a-z0-9-]+$", u) for u in urls)
    assert any("/c/laptops" in u for u in urls) and any(u.endswith("/cart") for u in urls)
    assert any(u.endswith("/checkout") for u in urls) and any("/search?q=" in u for u in urls)
    devices = Counter(e["device"].get("type") for e in clean_events)
    assert {"mobile", "desktop", "tablet", None} <= set(devices)
    assert all(e["device"].get("user_agent") for e in clean_events)
    assert len({e["geo"]["country"] for e in clean_events}) > 10


def test_events_carry_what_their_type_needs(clean_events: list[dict[str, Any]]) -> None:
    for e in clean_events:
        if e["event_type"] == "search":
            assert e["props"]["search_query"]
        if e["event_type"] in ("add_to_cart", "purchase"):
            assert e["ecom"]["price"] >= 0 and e["ecom"]["qty"] >= 1
        if e["event_type"] == "purchase":
            assert e["props"]["order_id"].startswith("ORD-")


def test_volume_follows_events_per_day(clean_events: list[dict[str, Any]]) -> None:
    assert abs(len(clean_events) - 3 * 8_000) < 0.03 * 3 * 8_000


# ----------------------------------------------------------------------- config


def test_config_rejects_impossible_knobs() -> None:
    with pytest.raises(ValidationError):
        GeneratorConfig(malformed_rate=0.6, violation_rate=0.5)
    with pytest.raises(ValidationError):
        GeneratorConfig(start=datetime(2025, 10, 13, 0, 30, tzinfo=UTC))
    with pytest.raises(ValidationError):
        GeneratorConfig(duplicate_rate=1.5)
    assert GeneratorConfig.with_faults().duplicate_rate == FAULT_MIX["duplicate_rate"]


# -------------------------------------------------------------------------- cli


def main(argv: list[str]) -> int:
    """``clickstream generate``, parsed and run as the CLI does (without importing every command)."""
    parser = argparse.ArgumentParser()
    generate_command.add_arguments(parser)
    return generate_command.run(parser.parse_args(argv))


def test_generate_command_writes_the_lake_and_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lake"
    argv = ["--out", str(out), "--hours", "3", "--events-per-day", "4000", "--faults", "--seed", "9"]
    assert main(argv) == 0
    truth = Truth.model_validate_json((out / TRUTH_FILE).read_bytes())
    assert truth.config.late_rate == FAULT_MIX["late_rate"] and truth.config.hours == 3
    assert len(list(out.glob("raw/**/*.ndjson.gz"))) == truth.objects_written
    assert "unique valid events" in capsys.readouterr().out
    # a second run into the same folder would mix two runs: refused
    assert main(argv) == 2


def test_generate_command_rate_overrides_the_fault_mix(tmp_path: Path) -> None:
    argv = ["--out", str(tmp_path), "--hours", "1", "--events-per-day", "100"]
    assert main([*argv, "--faults", "--pii-rate", "0"]) == 0
    truth = Truth.model_validate_json((tmp_path / TRUTH_FILE).read_bytes())
    assert truth.config.pii_rate == 0 and truth.config.duplicate_rate == FAULT_MIX["duplicate_rate"]


# ------------------------------------------------------------------ product lists


def test_list_impressions_name_what_was_shown_and_every_list_click_was_shown_before() -> None:
    config = GeneratorConfig(seed=5, hours=24, events_per_day=6_000, list_impressions=True)
    lines = [line for _, body in generate_objects(config) for line in lines_of(body)]
    assert all(RawEvent.model_validate_json(line) for line in lines)
    events = [orjson.loads(line) for line in lines]
    by_visitor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_visitor[event["anonymous_id"]].append(event)
    impressions = [e for e in events if e["event_type"] == "impression"]
    list_clicks = [e for e in events if e["event_type"] == "click" and "item_list" in e]
    assert len(impressions) > 0.2 * len(events) and len(list_clicks) > 0.02 * len(impressions)
    names = Counter(e["item_list"]["name"].split(":")[0] for e in impressions)
    assert set(names) == {"category", "recommendations", "search_results"}
    for event in impressions:
        ids = event["item_list"]["product_ids"]
        assert 1 <= len(ids) <= 24 and len(set(ids)) == len(ids)
    # a list click's product was in that list, shown to the visitor before (a tab left open past
    # 30 minutes may put the click in the tracker's next session)
    for click in list_clicks:
        shown = [
            e
            for e in by_visitor[click["anonymous_id"]]
            if e["event_type"] == "impression"
            and e["ts"] <= click["ts"]
            and e["item_list"]["name"] == click["item_list"]["name"]
            and click["ecom"]["product_id"] in e["item_list"]["product_ids"]
        ]
        assert shown, click
    # without the knob: no list anywhere (an older tracker's traffic)
    off = [orjson.loads(line) for _, body in generate_objects(CLEAN) for line in lines_of(body)]
    assert not any(e["event_type"] == "impression" or "item_list" in e for e in off)
