"""functions/load/handler.py as the state machine calls it: three actions, one function."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from clickstream.core.errors import ContractViolation
from clickstream.core.settings import get_settings
from clickstream.core.storage import Lake
from clickstream.pipeline.load import RunNotUpserted
from functions.load import handler as load_handler
from tests.support.aws import LambdaContext
from tests.support.staged import StagedObjectSpec, Stager, raw_key, staged_event


@pytest.fixture
def handler_env(database_url: str, lake: Lake, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LAKE_BUCKET", lake.bucket)
    monkeypatch.setenv("RUNTIME", "local")
    get_settings.cache_clear()
    load_handler.lake.cache_clear()
    yield
    get_settings.cache_clear()
    load_handler.lake.cache_clear()


def invoke(action: str, worklist: str | None = None, **extra: Any) -> dict[str, Any]:
    event = {"action": action, "hour": "2025-10-18T13:00:00Z", "execution": "hour-2025-10-18T13", **extra}
    if action != "advance_watermark":
        event["worklist"] = worklist
    result = load_handler.handler(event, LambdaContext("load"))
    json.dumps(result)  # what Step Functions receives must be JSON
    return result


def test_the_three_states_in_order(handler_env: None, database_url: str, stager: Stager) -> None:
    spec = StagedObjectSpec(
        raw_key("one"), [staged_event(), staged_event()], duplicates=1, rejects={"bad": 1}
    )
    execution = "hour-2025-10-18T13"
    worklist = stager.worklist(execution, [stager.batch(execution, 0, [spec])])

    with pytest.raises(RunNotUpserted):
        invoke("advance_watermark")
    assert invoke("check_staged_batches", worklist)["rows"] == 2
    counts = invoke("sessionize_and_upsert", worklist)
    watermark = invoke("advance_watermark")

    assert (counts["lines_read"], counts["loaded"], counts["duplicates"], counts["rejected"]) == (4, 2, 1, 1)
    assert watermark["watermark"] == "2025-10-18T13:00:00Z"
    assert watermark["freshness_minutes"] > 0
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select status from etl_runs").fetchone() == ("SUCCEEDED",)
    # A retried SessionizeAndUpsert after the commit returns the same counts
    assert invoke("sessionize_and_upsert", worklist) == {**counts, "replayed": True}


def test_a_null_worklist_loads_nothing_but_records_the_run(handler_env: None, database_url: str) -> None:
    assert invoke("check_staged_batches", None)["batches"] == 0
    assert invoke("sessionize_and_upsert", None)["objects"] == 0
    assert invoke("advance_watermark")["watermark"] == "2025-10-18T13:00:00Z"


def test_watermark_to_null_keeps_the_watermark(handler_env: None, database_url: str) -> None:
    invoke("sessionize_and_upsert", None)
    assert invoke("advance_watermark", watermark_to=None)["watermark"] is None
    with psycopg.connect(database_url) as conn:
        assert conn.execute("select status from etl_runs").fetchone() == ("SUCCEEDED",)
        assert conn.execute("select count(*) from etl_watermark").fetchone() == (0,)


def test_an_unknown_action_is_refused(handler_env: None) -> None:
    with pytest.raises(ContractViolation, match="unknown load action 'load_everything'"):
        invoke("load_everything")


def test_freshness_is_an_emf_metric_on_aws_and_a_log_line_elsewhere(
    handler_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    invoke("sessionize_and_upsert", None)
    capsys.readouterr()
    invoke("advance_watermark")
    assert [getattr(r, "metric", None) for r in caplog.records if r.getMessage() == "metric"] == [
        "FreshnessMinutes"
    ]
    assert "_aws" not in capsys.readouterr().out

    monkeypatch.setenv("RUNTIME", "aws")
    get_settings.cache_clear()
    invoke("advance_watermark")
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for m in emf] == ["FreshnessMinutes"]
