"""The dashboards of the local stack: ``python -m shiny run shiny/app.py`` as a child process.

``start_dashboard(info, data_dir)`` starts the Shiny app with the stack's
environment (``DATABASE_URL``, the ``AWS_*`` variables of ``info.environ()``,
``CLICKSTREAM_DATA_DIR`` and the state machine's ARN for the Reliability
page), waits until it answers HTTP and returns its URL. The app logs to
``DIR/dashboard.log``. On Linux the child is told to stop when the process
that started it dies, so a killed stack leaves no dashboard behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from clickstream.local.stack import StackInfo

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "shiny" / "app.py"
START_TIMEOUT_S = 60.0
PR_SET_PDEATHSIG = 1


class DashboardNotStarted(RuntimeError):
    """The app exited, or did not answer HTTP in time; the message holds the end of its log."""


@dataclass
class DashboardProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited after timeout_s. Safe to call twice."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout_s)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that asks Linux to SIGTERM the child when its parent dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child only makes one call

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return preexec


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_dashboard(
    info: StackInfo, data_dir: Path, port: int | None = None, timeout_s: float = START_TIMEOUT_S
) -> DashboardProcess:
    """Start the dashboards for this stack; returns once GET / answers 200 (DashboardNotStarted if not)."""
    data_dir = Path(data_dir).resolve()
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **info.environ(),
        "CLICKSTREAM_DATA_DIR": str(data_dir),
        "CLICKSTREAM_STATE_MACHINE_ARN": info.state_machine_arn,
        "PYTHONUNBUFFERED": "1",
    }
    log_path = data_dir / "dashboard.log"
    with open(log_path, "ab") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "shiny", "run", str(APP), "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(),  # one prctl call; libc is loaded beforehand
        )
    dashboard = DashboardProcess(url, process, log_path)
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise DashboardNotStarted(
                f"the dashboards exited with code {process.returncode}:\n{_log_tail(log_path)}"
            )
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return dashboard
        except requests.RequestException:
            pass  # not listening yet
        if time.monotonic() > deadline:
            dashboard.stop()
            raise DashboardNotStarted(
                f"the dashboards did not answer at {url} within {timeout_s:.0f} s:\n{_log_tail(log_path)}"
            )
        time.sleep(0.2)
