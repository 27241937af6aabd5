"""What the operator commands share: finding the stack, and talking to its Step Functions."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import boto3
import psycopg

from clickstream.core.settings import Settings
from clickstream.core.storage import Lake, s3_client
from clickstream.local.stack import DEFAULT_DATA_DIR, StackInfo, StackNotRunning, read_stack
from clickstream.ops import inventory
from clickstream.ops.operations import Operator, lambda_error

EXIT_CODES = """exit status:
  0  succeeded (every execution it ran or waited for ended SUCCEEDED)
  1  an execution failed (FAILED, TIMED_OUT or ABORTED): see clickstream execution NAME
  2  refused, nothing started (the message says why and what to run instead), or a usage error"""


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


def add_lake_target(
    parser: argparse.ArgumentParser,
    target: str = "--state-machine-arn",
    warehouse: str = "the deployed warehouse, e.g. through an SSM port forward (default DATABASE_URL)",
) -> None:
    """With ``target`` (a deployed pipeline's option): where the deployed lake and warehouse are (the
    local stack knows); ``warehouse`` says what --database-url is for."""
    parser.add_argument(
        "--lake-bucket",
        default=os.environ.get("LAKE_BUCKET"),
        help=f"with {target}: the deployed lake bucket (default LAKE_BUCKET)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), help=f"with {target}: {warehouse}"
    )


def exit_codes(parser: argparse.ArgumentParser, extra: str = "") -> None:
    """Document the exit codes in --help (0 succeeded, 1 an execution failed, 2 refused)."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXIT_CODES + (f"\n{extra}" if extra else "")


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


@dataclass
class Sight:
    """What a command can see beside Step Functions: the lake and the warehouse (None: cannot)."""

    lake: Lake | None
    database_url: str | None
    local_lake: Path | None = None  # the local stack keeps the lake's objects under this folder
    lookback_hours: int = 2

    @property
    def missing(self) -> str | None:
        """Why the lake or the warehouse cannot be seen, None when both can."""
        lacking = []
        if self.lake is None:
            lacking.append("the lake (--lake-bucket or LAKE_BUCKET)")
        if self.database_url is None:
            lacking.append("the warehouse (--database-url or DATABASE_URL)")
        return " and ".join(lacking) if lacking else None

    @contextmanager
    def fetch(self) -> Iterator[inventory.Fetch]:
        if self.database_url is None:
            raise RuntimeError(f"no warehouse to read: {self.missing}")
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            yield inventory.connection_fetch(conn)

    def where(self, key: str) -> list[str]:
        """s3://bucket/key, and locally the file that holds it."""
        bucket = self.lake.bucket if self.lake else "<lake bucket>"
        places = [f"s3://{bucket}/{key}"]
        if self.local_lake is not None:
            places.append(str(self.local_lake / key))
        return places


def sight(args: argparse.Namespace) -> Sight:
    """The local stack's lake and warehouse, or with --state-machine-arn those named by the options."""
    lookback = Settings().lookback_hours
    if getattr(args, "state_machine_arn", None):
        bucket = getattr(args, "lake_bucket", None)
        return Sight(
            Lake(bucket, s3_client()) if bucket else None,
            getattr(args, "database_url", None),
            lookback_hours=lookback,
        )
    info = stack_or_fail(args.data_dir)
    info.apply_environ()
    local = Path(args.data_dir).resolve() / "lake" / info.lake_bucket
    return Sight(Lake(info.lake_bucket, s3_client(info.region)), info.database_url, local, lookback)


def value_text(value: Any) -> str:
    """How a count prints: booleans as yes/no, integers with thousands separators."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def cause_text(cause: str | None) -> str:
    """An execution's cause as a person reads it: a Lambda error's message, not its JSON and stack."""
    error = lambda_error(cause)
    if error is None:
        return cause or ""
    return f"{error.get('errorType', 'Error')}: {error['errorMessage']}"


def table(rows: list[list[Any]], headers: list[str]) -> str:
    cells = [headers, *[[("" if c is None else str(c)) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
