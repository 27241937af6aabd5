"""Adapters: the real samples in tests/data/real become contract events with stable ids."""

from __future__ import annotations

import argparse
import gzip
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from clickstream.cli.commands import import_real
from clickstream.core.contract import RawEvent
from clickstream.core.lake import partition_prefix
from clickstream.tools.adapters import rees46, yoochoose
from clickstream.tools.adapters.common import NAMESPACE, ImportSummary, stable_id
from tests.support.real_samples import REES46_CSV, YOOCHOOSE_FILES


@pytest.fixture(scope="module", autouse=True)
def _real_samples_present() -> None:
    missing = [str(p) for p in (REES46_CSV, *YOOCHOOSE_FILES) if not p.is_file()]
    if missing:
        pytest.fail(f"the real samples are missing from tests/data/real: {missing}")


@pytest.fixture(scope="module")
def rees46_run() -> tuple[ImportSummary, list[tuple[int, bytes]]]:
    summary = ImportSummary(source="rees46")
    return summary, list(rees46.convert(REES46_CSV, summary))


@pytest.fixture(scope="module")
def yoochoose_run() -> tuple[ImportSummary, list[tuple[int, bytes]]]:
    summary = ImportSummary(source="yoochoose")
    entries = [entry for path in YOOCHOOSE_FILES for entry in yoochoose.convert(path, summary)]
    return summary, entries


def import_command(argv: list[str]) -> int:
    """``clickstream import``, parsed and run as the CLI does (without importing every command)."""
    parser = argparse.ArgumentParser()
    import_real.add_arguments(parser)
    return import_real.run(parser.parse_args(argv))


def lake_lines(out: Path) -> list[tuple[str, bytes]]:
    found = []
    for path in sorted(out.glob("raw/**/*.ndjson.gz")):
        key = path.relative_to(out).as_posix()
        found.extend((key, line) for line in gzip.decompress(path.read_bytes()).splitlines())
    return found


# ------------------------------------------------------------------------ REES46


def test_rees46_counts_match_the_readme(rees46_run: tuple[ImportSummary, list[tuple[int, bytes]]]) -> None:
    summary, entries = rees46_run
    assert len(entries) == 17_434
    assert summary.rows_read == 17_435
    assert summary.rows_skipped == {"cut-off last line": 1}
    assert summary.skipped_examples[0].line == 17_436
    events = [orjson.loads(line) for _, line in entries]
    assert Counter(e["event_type"] for e in events) == {"view": 17_055, "add_to_cart": 165, "purchase": 214}
    assert len({e["session_id"] for e in events}) == 5_066
    assert min(e["ts"] for e in events) == "2019-10-01T00:00:00.000Z"
    assert max(e["ts"] for e in events) == "2019-10-01T02:50:00.000Z"


def test_rees46_events_pass_the_contract(rees46_run: tuple[ImportSummary, list[tuple[int, bytes]]]) -> None:
    _, entries = rees46_run
    for ms, line in entries:
        event = RawEvent.model_validate_json(line)
        assert event.received_at == event.ts
        assert int(event.ts.timestamp() * 1000) == ms
        assert event.ecom is not None and event.ecom.currency == "USD" and event.ecom.qty == 1
        assert event.anonymous_id == event.user_id


def test_rees46_maps_fields(rees46_run: tuple[ImportSummary, list[tuple[int, bytes]]]) -> None:
    _, entries = rees46_run
    event = orjson.loads(entries[3][1])
    # 2019-10-01 00:00:01 UTC,view,1307067,2053013558920217191,computers.notebook,lenovo,251.74,550050854,...
    assert event["ts"] == "2019-10-01T00:00:01.000Z"
    assert event["session_id"] == "7c90fc70-0e80-4590-96f3-13c02c18c713"
    assert event["anonymous_id"] == event["user_id"] == "550050854"
    assert event["ecom"] == {
        "product_id": "1307067",
        "category": "computers.notebook",
        "currency": "USD",
        "price": 251.74,
        "qty": 1,
    }
    assert event["props"] == {"category_id": "2053013558920217191", "brand": "lenovo"}


def test_rees46_ids_are_stable_and_unique(rees46_run: tuple[ImportSummary, list[tuple[int, bytes]]]) -> None:
    _, first = rees46_run
    again = list(rees46.convert(REES46_CSV, ImportSummary(source="rees46")))
    assert again == first
    ids = [orjson.loads(line)["event_id"] for _, line in first]
    # the sample has 5 rows repeated verbatim: each copy is still its own event
    assert len(set(ids)) == len(ids)


def test_rees46_skips_bad_rows_with_reasons(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    header = ",".join(rees46.COLUMNS)
    good = "2019-10-01 00:00:00 UTC,view,1,2,,acme,1.50,7,72d76fde-8bb3-4e00-8c23-a032dfed738c"
    csv.write_text(
        "\n".join(
            [
                header,
                good,
                good.replace(",view,", ",remove_from_cart,"),
                good.replace("1.50", "-1.50"),
                good.replace("72d76fde", "not-a-uuid"),
                "2019-10-01 00:00:00 UTC,view,1",
            ]
        )
    )
    summary = ImportSummary(source="rees46")
    assert len(list(rees46.convert(csv, summary))) == 1
    assert summary.rows_skipped == {
        "unsupported event_type 'remove_from_cart'": 1,
        "invalid price": 1,
        "invalid user_session": 1,
        "cut-off last line": 1,
    }


def test_stable_ids_are_uuid5() -> None:
    for identity in ("a", "2019-10-01 00:00:00 UTC,view,1\x1f0", "ünïcode"):
        expected = uuid.uuid5(NAMESPACE, f"rees46\x1f{identity}")
        assert stable_id("rees46", identity) == str(expected)


# --------------------------------------------------------------------- YooChoose


def test_yoochoose_counts_match_the_readme(
    yoochoose_run: tuple[ImportSummary, list[tuple[int, bytes]]],
) -> None:
    summary, entries = yoochoose_run
    assert len(entries) == summary.rows_read == 83_846
    assert summary.rows_skipped == {}
    events = [orjson.loads(line) for _, line in entries]
    assert len({e["session_id"] for e in events}) == len({e["anonymous_id"] for e in events}) == 21_210
    assert {e["event_type"] for e in events} == {"view"}
    days = {e["ts"][:10] for e in events}
    assert min(days) == "2014-04-01" and max(days) == "2014-04-08"
    assert len({e["event_id"] for e in events}) == 83_846


def test_yoochoose_events_pass_the_contract(
    yoochoose_run: tuple[ImportSummary, list[tuple[int, bytes]]],
) -> None:
    _, entries = yoochoose_run
    for _, line in entries:
        event = RawEvent.model_validate_json(line)
        assert event.ecom is None and event.user_id is None
        assert event.received_at == event.ts


def test_yoochoose_maps_fields(yoochoose_run: tuple[ImportSummary, list[tuple[int, bytes]]]) -> None:
    _, entries = yoochoose_run
    ms, line = entries[70_278]  # the first row of the test file
    event = orjson.loads(line)
    # 1	214536502	1396860669.277
    assert ms == 1_396_860_669_277
    assert event["ts"] == event["received_at"] == "2014-04-07T08:51:09.277Z"
    assert event["anonymous_id"] == "yoochoose-1"
    assert event["page_url"] == "https://shop.example.com/p/214536502"


def test_yoochoose_ids_are_stable(yoochoose_run: tuple[ImportSummary, list[tuple[int, bytes]]]) -> None:
    _, first = yoochoose_run
    again = list(yoochoose.convert(YOOCHOOSE_FILES[1], ImportSummary(source="yoochoose")))
    assert again == first[-len(again) :]


# ------------------------------------------------------------------ the command


def test_import_twice_writes_the_lake_layout_and_only_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "lake"
    # Given one import of the REES46 sample
    assert import_command(["rees46", str(REES46_CSV), "--out", str(out)]) == 0
    first = lake_lines(out)
    summary = orjson.loads((out / "_import-rees46.json").read_bytes())
    assert summary["events_written"] == len(first) == 17_434
    assert summary["rows_skipped"] == {"cut-off last line": 1}
    for key, line in first:
        assert key.startswith(partition_prefix(datetime.fromisoformat(orjson.loads(line)["received_at"])))

    # When the same file is imported again into the same folder
    assert import_command(["rees46", str(REES46_CSV), "--out", str(out)]) == 0

    # Then new objects were added, and every line in them repeats an event of the first import
    both = lake_lines(out)
    assert len(both) == 2 * len(first)
    first_keys = {key for key, _ in first}
    new = [line for key, line in both if key not in first_keys]
    assert len(new) == len(first)
    assert Counter(orjson.loads(line)["event_id"] for line in new) == Counter(
        orjson.loads(line)["event_id"] for _, line in first
    )


def test_import_with_a_seed_names_objects_reproducibly(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            import_command(
                ["yoochoose", str(YOOCHOOSE_FILES[1]), "--out", str(tmp_path / name), "--seed", "3"]
            )
            == 0
        )
    a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").glob("raw/**/*.gz"))
    b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").glob("raw/**/*.gz"))
    assert a == b and a
