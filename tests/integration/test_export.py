"""clickstream export against a real PostgreSQL: the hand-counted sample read back from CSV and
Parquet equals a from-scratch query; rows stream in bounded chunks; bad input is refused clearly."""

from __future__ import annotations

import csv
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
import pytest

from clickstream.cli import main
from clickstream.tools import export
from tests.support.dashboard_sample import D1, D2, SESSIONS
from tests.support.export_sample import write_sample_with_events

DAY_14 = ["export", "--from", "2025-10-14", "--to", "2025-10-14"]
NOWHERE = ["--database-url", "postgresql://127.0.0.1:1/none", "--quiet"]  # never reached: refused before
SESSION_IDS = {s.name: str(s.session_id) for s in SESSIONS}


@pytest.fixture
def sample_url(database_url: str) -> str:
    write_sample_with_events(database_url)
    return database_url


def _scalar_rows(url: str, statement: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_csv_round_trip_of_one_day_equals_the_hand_count_and_a_fresh_query(sample_url: str, tmp_path: Path):
    out = tmp_path / "export"
    code = main([*DAY_14, "--out", str(out), "--database-url", sample_url, "--quiet"])
    assert code == 0
    events = _csv(out / "events.csv")
    sessions = _csv(out / "sessions.csv")
    # Hand-counted (tests/support/dashboard_sample.py): on 2025-10-14 s1 6 events, s2 1, s3 3, s5 1, s4 8.
    assert len(events) == 19
    assert len(sessions) == 5
    assert {r["session_id"] for r in sessions} == {SESSION_IDS[n] for n in ("s1", "s2", "s3", "s4", "s5")}
    # From scratch: the same day's events, straight from the table.
    fresh = _scalar_rows(
        sample_url,
        "select event_id::text, event_type, device_type from fact_events where event_date = %(d)s",
        {"d": D2},
    )
    assert sorted((r["event_id"], r["event_type"], r["device_type"]) for r in events) == sorted(fresh)
    # In time order.
    assert [r["ts"] for r in events] == sorted(r["ts"] for r in events)
    by_id = {r["session_id"]: r for r in sessions}
    s1, s4, s5 = by_id[SESSION_IDS["s1"]], by_id[SESSION_IDS["s4"]], by_id[SESSION_IDS["s5"]]
    assert Decimal(s1["revenue"]) == Decimal("1000.00") and s1["currency"] == "USD"
    assert s4["revenue"] == "" and s4["currency"] == "EUR,USD"  # two currencies: no single sum
    assert s5["country"] == "" and s5["channel"] == "Referral" and s5["orders"] == "0"
    orders = dict(
        _scalar_rows(
            sample_url,
            "select session_id::text, sum(orders) from fact_session_revenue group by session_id",
            {},
        )
    )
    assert {k: int(r["orders"]) for k, r in by_id.items() if int(r["orders"])} == {
        k: int(v) for k, v in orders.items() if k in by_id
    }
    purchases = [r for r in events if r["event_type"] == "purchase"]
    assert sorted(r["order_id"] for r in purchases) == ["order-s1", "order-s4", "order-s4"]
    assert sorted(Decimal(r["revenue"]) for r in purchases) == [
        Decimal("25.00"),
        Decimal("160.00"),
        Decimal("1000.00"),
    ]


def test_parquet_round_trip_of_two_days_keeps_types(sample_url: str, tmp_path: Path):
    out = tmp_path / "sessions.parquet"
    code = main(
        ["export", "--from", "2025-10-13", "--to", "2025-10-14", "--tables", "sessions", "--out", str(out),
         "--database-url", sample_url, "--quiet"]
    )  # fmt: skip
    assert code == 0
    table = pq.read_table(out)
    assert table.num_rows == 8  # 3 sessions on the 13th, 5 on the 14th
    rows = table.to_pylist()
    assert {r["session_date"] for r in rows} == {D1, D2}
    by_id = {r["session_id"]: r for r in rows}
    fresh = _scalar_rows(
        sample_url,
        "select session_id::text, session_start, duration_s, is_engaged, device_type from fact_sessions",
        {},
    )
    assert {
        (k, r["session_start"], r["duration_s"], r["is_engaged"], r["device_type"]) for k, r in by_id.items()
    } == set(fresh)
    s8 = by_id[SESSION_IDS["s8"]]
    assert s8["revenue"] == Decimal("50.00") and s8["currency"] == "USD" and s8["units"] == 2
    assert str(table.schema.field("session_start").type) == "timestamp[us, tz=UTC]"
    assert not (tmp_path / "sessions.parquet.part").exists()


def test_rows_stream_in_chunks_of_at_most_chunk_rows(sample_url: str, tmp_path: Path):
    with psycopg.connect(sample_url, autocommit=True) as conn:
        result = export.export_table(
            conn, "events", tmp_path / "events.parquet", "parquet", D1, D2, chunk_rows=4
        )
    # 8 + 19 = 27 events over the two days: chunks of 4 -> 7 chunks, the last of 3.
    assert result.rows == 27
    assert result.chunk_sizes == [4, 4, 4, 4, 4, 4, 3]
    assert pq.read_metadata(tmp_path / "events.parquet").num_row_groups == 7
    assert pq.read_table(tmp_path / "events.parquet").num_rows == 27


def test_an_empty_range_writes_the_header_only(sample_url: str, tmp_path: Path):
    out = tmp_path / "e.csv"
    argv = ["export", "--from", "2024-01-01", "--to", "2024-01-02", "--tables", "events", "--out", str(out)]
    code = main([*argv, "--database-url", sample_url, "--quiet"])
    assert code == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith('"event_id","session_id","ts"')


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2025-13-01", "--to", "2025-10-14"], "--from '2025-13-01' is not a date"),
        (["--from", "2025-10-14", "--to", "yesterday"], "--to 'yesterday' is not a date"),
        (["--from", "2025-10-14", "--to", "2025-10-13"], "--to 2025-10-13 is before --from 2025-10-14"),
        (["--from", "2025-10-14", "--to", "2025-10-14", "--tables", "clicks"], "unknown table clicks"),
        (["--from", "2025-10-14", "--to", "2025-10-14", "--format", "csv", "--out-suffix", ".parquet"],
         "--format csv but"),
        (["--from", "2025-10-14", "--to", "2025-10-14", "--out-suffix", ".csv"], "is one file but 2 tables"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_its_reason(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = str(tmp_path / "x")
    if "--out-suffix" in argv:
        i = argv.index("--out-suffix")
        out += argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    code = main(["export", *argv, "--out", out, "--database-url", "postgresql://127.0.0.1:1/none", "--quiet"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_kept_without_force(
    sample_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "events.csv"
    out.write_text("mine\n")
    argv = ["export", "--from", "2025-10-14", "--to", "2025-10-14", "--tables", "events", "--out", str(out),
            "--database-url", sample_url, "--quiet"]  # fmt: skip
    assert main(argv) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "mine\n"
    assert main([*argv, "--force"]) == 0
    assert len(_csv(out)) == 19


def test_a_file_path_under_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main([*DAY_14, "--tables", "events", "--out", str(blocker / "e.csv"), *NOWHERE])
    assert code == 2
    assert "cannot create the folder" in capsys.readouterr().err


def test_an_unreachable_warehouse_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = main(["export", "--from", "2025-10-14", "--to", "2025-10-14", "--out", str(tmp_path / "o"),
                 "--database-url", "postgresql://127.0.0.1:1/none", "--quiet"])  # fmt: skip
    assert code == 2
    assert "cannot reach the warehouse" in capsys.readouterr().err
    assert not list((tmp_path / "o").glob("*"))


def test_without_pyarrow_it_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    code = main([*DAY_14, "--out", str(tmp_path / "o"), *NOWHERE])
    assert code == 2
    assert "need pyarrow: pip install -e '.[local]'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
