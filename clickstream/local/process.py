"""``clickstream up`` in a child process, as a user starts it: for the end-to-end tests and the benchmark.

The child writes DIR/stack.json once everything listens; :func:`start`
returns then (or raises with the child's log when it exits or takes too
long). :func:`stop` sends SIGTERM, the child's Ctrl-C, and waits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from clickstream.local.stack import StackInfo

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "clickstream.cli"]


def start(data_dir: Path, *extra: str, timeout_s: float = 120) -> tuple[subprocess.Popen[str], StackInfo]:
    """Start ``clickstream up --clock off`` on ``data_dir``; its output goes to DIR/up.log."""
    log = open(data_dir / "up.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [*CLI, "up", "--data-dir", str(data_dir), "--clock", "off", *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    stack_json = data_dir / "stack.json"
    deadline = time.monotonic() + timeout_s

    def written_by_this_process() -> bool:  # a killed stack leaves its stack.json behind
        return stack_json.exists() and json.loads(stack_json.read_text()).get("pid") == process.pid

    while not written_by_this_process():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"clickstream up did not start:\n{(data_dir / 'up.log').read_text()}")
        time.sleep(0.2)
    return process, StackInfo(**json.loads(stack_json.read_text()))


def stop(process: subprocess.Popen[str], timeout_s: float = 60) -> None:
    """SIGTERM (what Ctrl-C does to ``clickstream up``), then SIGKILL if it does not end in time."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
