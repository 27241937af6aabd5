"""clickstream env: the shell exports that point the AWS CLI, boto3 and psql at the local stack.

    eval "$(clickstream env)"        # --wait 120: first wait for a stack that is starting
    aws stepfunctions list-executions --state-machine-arn "$STATE_MACHINE_ARN"

Prints ``export NAME=value`` lines: ``AWS_ENDPOINT_URL`` (the AWS CLI and the
SDKs then talk to the local stack), the region, the stack's dummy credentials,
``DATABASE_URL``, ``LAKE_BUCKET``, ``ALERT_TOPIC_ARN``, ``STATE_MACHINE_ARN``
and ``CLICKSTREAM_DATA_DIR`` (so ``clickstream`` finds the stack from any
folder). ``--unset`` prints the lines that undo them.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

from clickstream.cli.commands._common import add_data_dir, fail
from clickstream.local.stack import StackInfo, StackNotRunning, read_stack

SHELL_ONLY = ("AWS_REGION", "STATE_MACHINE_ARN", "CLICKSTREAM_DATA_DIR")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir(parser)
    parser.add_argument("--unset", action="store_true", help="print the unset lines that undo the exports")
    parser.add_argument("--json", action="store_true", help="the variables as one JSON object")
    parser.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait up to SECONDS for a stack that is starting (clickstream up &)",
    )


def wait_for_stack(data_dir: Path, seconds: float) -> StackInfo:
    """The running stack; with ``seconds``, wait that long for one to come up. Exits 2 if none."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return read_stack(data_dir)
        except StackNotRunning as exc:
            if time.monotonic() >= deadline:
                fail(str(exc))
        time.sleep(0.5)


def variables(info: StackInfo, data_dir: str) -> dict[str, str]:
    environ = info.environ()
    return {
        **environ,
        "AWS_REGION": environ["AWS_DEFAULT_REGION"],  # AWS CLI v2 and some SDKs read this one
        "STATE_MACHINE_ARN": info.state_machine_arn,
        "CLICKSTREAM_DATA_DIR": data_dir,
    }


def run(args: argparse.Namespace) -> int:
    if args.unset:
        # What the exports set, whether or not the stack still runs.
        empty = StackInfo(aws_endpoint_url="", database_url="", state_machine_arn="", lake_bucket="",
                          alert_topic_arn="")  # fmt: skip
        print(f"unset {' '.join([*empty.environ(), *SHELL_ONLY])}")
        return 0
    info = wait_for_stack(args.data_dir, args.wait)
    values = variables(info, str(args.data_dir.resolve()))
    if args.json:
        print(json.dumps(values, indent=2))
        return 0
    print(f"# the local stack of {args.data_dir.resolve()}: AWS clients in this shell now talk to it")
    print('# (undo: eval "$(clickstream env --unset)")')
    for name, value in values.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0
