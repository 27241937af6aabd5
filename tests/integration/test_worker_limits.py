"""The worker pool holds each call to its function's Lambda limits (clickstream/core/limits.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from clickstream.core.limits import LAMBDA_OUT_OF_MEMORY_ERROR, LAMBDA_TIMEOUT_ERROR
from clickstream.local.workers import HandlerPool

# A notify event that needs nothing else (a failure notice without an execution to read).
EVENT = json.dumps({"outcome": "failure", "hour": "2025-10-18T13:00:00Z", "execution": "x"})


@pytest.fixture(scope="module")
def pool() -> Iterator[HandlerPool]:
    handlers = HandlerPool(
        {"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_DISABLED": "true"}, workers=2
    )
    handlers.warm(["notify"])
    yield handlers
    handlers.shutdown()


def test_a_call_past_its_timeout_is_killed_and_fails_as_lambda_reports_it(
    pool: HandlerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLICKSTREAM_TIMEOUT_S_NOTIFY", "1")
    began = time.monotonic()
    ok, payload = pool.invoke("notify", EVENT, {"sleep": 30})
    assert not ok
    error = json.loads(payload)
    assert error["errorType"] == LAMBDA_TIMEOUT_ERROR
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    assert time.monotonic() - began < 10
    # the worker was replaced: the next call runs
    ok, payload = pool.invoke("notify", EVENT)
    assert ok, payload
    assert json.loads(payload)["error"] == "Unknown"


def test_a_call_that_grows_past_its_memory_is_killed_as_out_of_memory(
    pool: HandlerPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLICKSTREAM_MEMORY_MB_NOTIFY", "64")
    ok, payload = pool.invoke("notify", EVENT, {"allocate_mb": 256, "sleep": 5})
    assert not ok
    assert json.loads(payload)["errorType"] == LAMBDA_OUT_OF_MEMORY_ERROR
    ok, payload = pool.invoke("notify", EVENT)
    assert ok, payload


def test_a_call_within_its_limits_runs(pool: HandlerPool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_TIMEOUT_S_NOTIFY", "20")
    ok, payload = pool.invoke("notify", EVENT, {"sleep": 0.2})
    assert ok, payload
