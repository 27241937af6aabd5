"""The app's page and the process the local stack starts (clickstream/local/dashboard.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import app as dashboard_app
import pytest
import requests
from htmltools import HTMLDocument, Tag

import config
from clickstream.local.dashboard import DashboardNotStarted, start_dashboard
from clickstream.local.stack import StackInfo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean dashboard environment; settings are read again for each test."""
    for name in ("DATABASE_URL", "CLICKSTREAM_DATA_DIR", "CLICKSTREAM_STATE_MACHINE_ARN", "LAKE_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    config.get_settings.cache_clear()
    yield monkeypatch
    config.get_settings.cache_clear()


def page(environment: pytest.MonkeyPatch, url: str) -> str:
    environment.setenv("DATABASE_URL", url)
    config.get_settings.cache_clear()
    return render(dashboard_app.app_ui(None))  # type: ignore[arg-type]  # the request is not used


def render(tag: Tag) -> str:
    """The whole HTML document, head included, as the browser receives it."""
    return HTMLDocument(tag).render()["html"]


def test_the_page_offers_the_filters_of_the_data(environment: pytest.MonkeyPatch, sample_url: str) -> None:
    html = page(environment, sample_url)
    for tab in ("Traffic", "Funnel", "Products", "Acquisition", "Reliability"):
        assert f'data-value="{tab.lower()}"' in html
    # the last 7 days of data, clamped to the first day there is
    assert html.count('data-initial-date="2025-10-13"') == 1
    assert html.count('data-initial-date="2025-10-14"') == 1
    for choice in ("desktop", "mobile", "tablet", "(unknown)", "Organic Search", "DE", "US"):
        assert f">{choice}</option>" in html
    assert "No data yet" not in html
    assert "plotly/plotly.min.js" in html


def test_an_empty_warehouse_says_so(environment: pytest.MonkeyPatch, empty_url: str) -> None:
    html = page(environment, empty_url)
    assert "No data yet" in html
    assert 'data-value="traffic"' in html  # the pages are there, with their empty states


def test_an_unreachable_warehouse_says_so(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    html = page(environment, f"postgresql://nobody@/nowhere?host={tmp_path}")
    assert "The dashboards cannot reach the warehouse" in html
    environment.delenv("DATABASE_URL")
    environment.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path))
    config.get_settings.cache_clear()
    assert "no local stack found" in render(dashboard_app.app_ui(None))  # type: ignore[arg-type]


def stack_info(database_url: str) -> StackInfo:
    return StackInfo(
        aws_endpoint_url="http://127.0.0.1:9",
        database_url=database_url,
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:clickstream-pipeline",
        lake_bucket="clickstream-lake",
        alert_topic_arn="arn:aws:sns:us-east-1:123456789012:clickstream-alerts",
    )


def test_start_dashboard_serves_the_app_until_stopped(sample_url: str, tmp_path: Path) -> None:
    dashboard = start_dashboard(stack_info(sample_url), tmp_path)
    try:
        assert dashboard.url.startswith("http://127.0.0.1:")
        home = requests.get(dashboard.url, timeout=10)
        assert home.status_code == 200
        assert ">tablet</option>" in home.text  # it reads the warehouse it was given
        assert requests.get(f"{dashboard.url}/plotly/plotly.min.js", timeout=10).status_code == 200
        assert requests.get(f"{dashboard.url}/assets/styles.css", timeout=10).status_code == 200
    finally:
        dashboard.stop()
    assert dashboard.process.poll() is not None
    dashboard.stop()  # twice is fine
    assert (tmp_path / "dashboard.log").exists()


def test_start_dashboard_reports_an_app_that_cannot_start(sample_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DashboardNotStarted, match="exited with code"):
            start_dashboard(stack_info(sample_url), tmp_path, port=port)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_the_dashboard_stops_when_the_stack_process_is_killed(sample_url: str, tmp_path: Path) -> None:
    # Given a process (standing in for clickstream up) that started the dashboards
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from clickstream.local.dashboard import start_dashboard\n"
        "from clickstream.local.stack import StackInfo\n"
        f"info = StackInfo('http://127.0.0.1:9', {sample_url!r}, 'arn:x', 'lake', 'arn:y')\n"
        f"dash = start_dashboard(info, Path({str(tmp_path)!r}))\n"
        "print(dash.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())

    # When that process is killed outright
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)

    # Then the dashboards go too
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) counts as gone
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())
