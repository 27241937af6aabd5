"""``clickstream up`` in a subprocess, as a user starts it, and what the e2e tests do with it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import psycopg

from clickstream.core.storage import Lake, s3_client
from clickstream.local import process as stack_process
from clickstream.local.process import CLI, ROOT
from clickstream.local.stack import StackInfo
from clickstream.ops.operations import Operator

# A fault plan (RunningStack.faults): SessionizeAndUpsert fails with a permanent error, a
# ConfigurationError "role lacks INSERT", on every attempt until the plan is lifted.
LOAD_FAILS_FOR_GOOD: dict[str, Any] = {
    "load": [
        {
            "error": "ConfigurationError",
            "action": "sessionize_and_upsert",
            "message": "role lacks INSERT",
            "times": -1,
        }
    ]
}


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
    process, info = stack_process.start(data_dir, *extra)
    return RunningStack(data_dir, process, info)


def stop_stack_process(stack: RunningStack) -> None:
    stack_process.stop(stack.process)
