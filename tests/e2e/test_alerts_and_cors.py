"""What a person sees of the local stack: the alert of a fault drill, and CORS for a shop's own domain.

One ``clickstream up`` for the module, started with an allowed origin as a
shop on its own domain would configure it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from clickstream.core.lake import floor_hour, partition_prefix
from clickstream.local.alerts import Alert, read_alerts
from clickstream.local.process import CLI, ROOT
from tests.support.ingest import posted_event, preflight, send
from tests.support.stack import RunningStack, start_stack_process, stop_stack_process

SHOP = "https://shop.example.com"
OTHER = "https://elsewhere.example.net"
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    path = Path(tempfile.mkdtemp(prefix="clickstream-e2e-"))
    running = start_stack_process(path, "--allowed-origin", SHOP)
    yield running
    stop_stack_process(running)
    shutil.rmtree(path, ignore_errors=True)


def eventually(probe: Callable[[], T | None], timeout_s: float = 30) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s")
        time.sleep(0.2)


class Follower:
    """``clickstream alerts --follow`` in the background, its output collected line by line."""

    def __init__(self, data_dir: Path) -> None:
        self.process = subprocess.Popen(
            [*CLI, "alerts", "--follow", "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(10)
        self._reader.join(5)
        return "\n".join(self.lines)


# -- alerts -------------------------------------------------------------------------------------------
def test_a_fault_drill_gives_exactly_one_alert_with_what_the_e_mail_would_say(stack: RunningStack) -> None:
    hour = "2025-11-20T10"
    alerts_path = stack.data_dir / "alerts.jsonl"
    assert read_alerts(alerts_path) == []
    follower = Follower(stack.data_dir)
    eventually(lambda: any("waiting for alerts" in line for line in follower.lines))

    # When SessionizeAndUpsert fails for good (the README's fault drill)
    stack.faults(
        {
            "load": [
                {
                    "error": "ConfigurationError",
                    "action": "sessionize_and_upsert",
                    "message": "role lacks INSERT",
                }
            ]
        }
    )
    failed = stack.cli("run", "--hour", hour, check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr

    # Then exactly one alert reaches the local sink, with what a person needs to act
    alerts: list[Alert] = eventually(lambda: read_alerts(alerts_path))
    time.sleep(1.5)  # a second alert, if any, would arrive meanwhile
    (alert,) = read_alerts(alerts_path)
    assert alert.subject == f"Clickstream hour {hour} FAILED: ConfigurationError"
    assert alerts == [alert]
    message = alert.message
    assert f"hour-{hour}" in message and f"for hour {hour}:00:00Z failed" in message
    assert "failed state SessionizeAndUpsert" in message
    assert "error        ConfigurationError" in message
    assert "cause        role lacks INSERT" in message
    assert f"clickstream redrive --hour {hour}" in message

    # printed where `clickstream up` runs (its console is DIR/up.log here),
    def up_console_with_alert() -> str | None:
        text = (stack.data_dir / "up.log").read_text()
        return text if alert.subject in text else None

    up_console = eventually(up_console_with_alert)
    assert "failed state SessionizeAndUpsert" in up_console
    # shown by `clickstream alerts`, and by `clickstream alerts --follow` as it came
    shown = stack.cli("alerts").stdout
    assert f"Subject: {alert.subject}" in shown and f"clickstream redrive --hour {hour}" in shown
    assert json.loads(stack.cli("alerts", "--json").stdout) == json.loads(json.dumps(alert.__dict__))
    eventually(lambda: any(alert.subject in line for line in follower.lines))
    followed = follower.stop()
    assert "failed state SessionizeAndUpsert" in followed

    # And the redrive that follows the fix alerts nobody
    stack.faults({})
    stack.cli("redrive", "--hour", hour)
    time.sleep(1.5)
    assert read_alerts(alerts_path) == [alert]


def test_the_console_of_up_has_no_tracebacks_warnings_or_json_logs(stack: RunningStack) -> None:
    console = (stack.data_dir / "up.log").read_text()
    assert "Traceback" not in console
    assert not [line for line in console.splitlines() if line.lstrip().startswith("{")]
    assert "Warning" not in console and "WARNING" not in console
    log_file = stack.data_dir / "clickstream.log"
    assert console.count(str(log_file)) == 1
    # moto's engine logs each failed state; that went to the log file with the workers' output
    assert "ConfigurationError" in log_file.read_text()


def test_execution_prints_booleans_as_yes_or_no(stack: RunningStack) -> None:
    stack.cli("run", "--hour", "2025-11-20T12")
    shown = stack.cli("execution", "hour-2025-11-20T12").stdout
    truncated = [line.split() for line in shown.splitlines() if line.startswith("dates_truncated")]
    assert truncated == [["dates_truncated", "no"]]


# -- CORS: a shop on its own domain -------------------------------------------------------------------
def preflight_to(stack: RunningStack, origin: str) -> tuple[int, dict[str, str]]:
    return preflight(f"{stack.info.ingest_url}/v1/events", origin)


def event() -> dict[str, Any]:
    return posted_event(anonymous_id="shop-on-its-own-domain", page_url=f"{SHOP}/")


def test_the_stack_says_which_origins_may_post(stack: RunningStack) -> None:
    assert stack.info.allowed_origins == [SHOP]


def test_a_preflight_from_the_allowed_origin_is_answered_without_credentials(stack: RunningStack) -> None:
    status, headers = preflight_to(stack, SHOP)
    assert status == 204
    assert headers["access-control-allow-origin"] == SHOP
    assert headers["access-control-allow-methods"] == "POST"
    assert headers["access-control-allow-headers"] == "content-type"
    assert "access-control-allow-credentials" not in headers


def test_a_preflight_from_any_other_origin_gets_no_cors_headers(stack: RunningStack) -> None:
    for origin in (OTHER, "null", SHOP + ".evil.example", "http://shop.example.com"):
        status, headers = preflight_to(stack, origin)
        assert status == 204
        assert not [h for h in headers if h.startswith("access-control-")], (origin, headers)


def test_a_post_from_the_allowed_origin_is_stored_and_readable_by_that_origin_only(
    stack: RunningStack,
) -> None:
    body = json.dumps([event()]).encode()
    status, headers = send(
        f"{stack.info.ingest_url}/v1/events",
        "POST",
        {"origin": SHOP, "content-type": "application/json"},
        body,
    )
    assert status == 202
    assert headers["access-control-allow-origin"] == SHOP
    assert "access-control-allow-credentials" not in headers
    assert eventually(lambda: list(stack.lake.list(partition_prefix(floor_hour(datetime.now(UTC)))))), (
        "the batch is in the current hour's raw partition"
    )

    status, headers = send(
        f"{stack.info.ingest_url}/v1/events",
        "POST",
        {"origin": OTHER, "content-type": "application/json"},
        json.dumps([event()]).encode(),
    )
    # As on AWS: CORS is the browser's to enforce (it sends no such POST after the refused
    # preflight); the answer only withholds the header that would let that page read it.
    assert status == 202
    assert not [h for h in headers if h.startswith("access-control-")]
