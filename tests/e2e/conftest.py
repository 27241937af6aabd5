"""The whole local stack as a user starts it: ``clickstream up`` in a subprocess.

One stack per test module (PostgreSQL, moto, worker processes, ~10 s to
start); tests in a module use hours of their own so they do not interfere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest

from clickstream.operations import Operator
from clickstream.stack import StackInfo
from clickstream.storage import Lake, s3_client

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "clickstream.cli"]


class RunningStack:
    def __init__(self, data_dir: Path, process: subprocess.Popen[str], info: StackInfo) -> None:
        self.data_dir = data_dir
        self.process = process
        self.info = info
        info.apply_environ()
        self.sfn = boto3.client("stepfunctions", endpoint_url=info.aws_endpoint_url, region_name=info.region)
        self.op = Operator(self.sfn, info.state_machine_arn, local=True)
        self.lake = Lake(info.lake_bucket, s3_client(info.region))

    def cli(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*CLI, *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"clickstream {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def faults(self, plan: dict[str, Any]) -> None:
        (self.data_dir / "faults.json").write_text(json.dumps(plan), encoding="utf-8")

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.info.database_url) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: Any = None) -> Any:
        return self.query(sql, params)[0][0]


def start_stack_process(data_dir: Path, *extra: str) -> RunningStack:
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
    deadline = time.monotonic() + 120

    def written_by_this_process() -> bool:  # a killed stack leaves its stack.json behind
        return stack_json.exists() and json.loads(stack_json.read_text()).get("pid") == process.pid

    while not written_by_this_process():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"clickstream up did not start:\n{(data_dir / 'up.log').read_text()}")
        time.sleep(0.2)
    return RunningStack(data_dir, process, StackInfo(**json.loads(stack_json.read_text())))


def stop_stack_process(stack: RunningStack) -> None:
    stack.process.send_signal(signal.SIGTERM)
    try:
        stack.process.wait(60)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait(10)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory outside pytest's rotating temp folders.

    pgserver runs PostgreSQL as a separate system user and opens up the
    directory's parents for it; pytest's own temp folders may be tidied by
    another pytest process on the machine meanwhile.
    """
    path = Path(tempfile.mkdtemp(prefix="clickstream-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    path = Path(tempfile.mkdtemp(prefix="clickstream-e2e-"))
    running = start_stack_process(path)
    yield running
    stop_stack_process(running)
    shutil.rmtree(path, ignore_errors=True)
