"""What the operator commands share: finding the stack, and talking to its Step Functions."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import boto3

from clickstream.local.stack import DEFAULT_DATA_DIR, StackInfo, StackNotRunning, read_stack
from clickstream.ops.operations import Operator


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("CLICKSTREAM_DATA_DIR", DEFAULT_DATA_DIR)),
        help="where the local stack keeps its data and stack.json (default .clickstream)",
    )


def add_aws_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-machine-arn",
        default=os.environ.get("CLICKSTREAM_STATE_MACHINE_ARN"),
        help="operate a deployed pipeline on AWS instead of the local stack (uses your AWS credentials)",
    )


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"clickstream: {message}", file=sys.stderr)
    raise SystemExit(code)


def stack_or_fail(data_dir: Path) -> StackInfo:
    try:
        return read_stack(data_dir)
    except StackNotRunning as exc:
        fail(str(exc))


def operator(args: argparse.Namespace) -> Operator:
    """The local stack's pipeline, or the deployed one when --state-machine-arn is given."""
    arn = getattr(args, "state_machine_arn", None)
    if arn:
        return Operator(boto3.client("stepfunctions"), arn, local=False)
    info = stack_or_fail(args.data_dir)
    info.apply_environ()
    client = boto3.client("stepfunctions", endpoint_url=info.aws_endpoint_url, region_name=info.region)
    return Operator(client, info.state_machine_arn, local=True)


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def cause_text(cause: str | None) -> str:
    """An execution's cause as a person reads it: a Lambda error's message, not its JSON and stack."""
    if not cause:
        return ""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return f"{parsed.get('errorType', 'Error')}: {parsed['errorMessage']}"
    return cause


def count_text(value: Any) -> str:
    """A count as a person reads it: 1,234; a boolean as yes or no (never 0 or 1)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[list[Any]], headers: list[str]) -> str:
    cells = [headers, *[[("" if c is None else str(c)) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
