"""clickstream up: start the local stack and keep it running until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from datetime import datetime
from types import FrameType

from clickstream.cli.commands._common import add_data_dir, fail
from clickstream.core.lake import parse_hour
from clickstream.core.origins import ENV_VAR as ORIGINS_ENV
from clickstream.core.origins import parse_origins
from clickstream.local.runtime import LocalStack, start_stack
from clickstream.local.scheduler import Scheduler
from clickstream.local.stack import stack_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir(parser)
    parser.add_argument(
        "--clock",
        choices=["real", "accelerated", "off"],
        default="real",
        help="how the scheduler starts hourly executions (default real)",
    )
    parser.add_argument("--clock-start", help="accelerated clock: first hour to replay, e.g. 2025-10-13T00")
    parser.add_argument("--seconds-per-hour", type=float, default=10.0, help="accelerated clock speed")
    parser.add_argument("--workers", type=int, help="worker processes for the handlers (default: cores)")
    parser.add_argument("--port", type=int, help="port of the local AWS endpoint (default: a free one)")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of the embedded one")
    add_allowed_origins(parser)


def add_allowed_origins(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allowed-origin",
        dest="allowed_origins",
        action="append",
        metavar="ORIGIN",
        help=f"an origin whose pages may post events (CORS), e.g. https://shop.example.com; repeat for "
        f"more (default: ${ORIGINS_ENV}, origins separated by commas; none)",
    )


def allowed_origins(args: argparse.Namespace) -> tuple[str, ...]:
    """--allowed-origin values, else $CLICKSTREAM_ALLOWED_ORIGINS; exits 2 on an invalid one."""
    given = args.allowed_origins if args.allowed_origins else os.environ.get(ORIGINS_ENV, "")
    try:
        return parse_origins(given)
    except ValueError as exc:
        fail(f"allowed origins: {exc}")


def print_endpoints(stack: LocalStack) -> None:
    info = stack.info
    print(f"AWS endpoint   {info.aws_endpoint_url}   (AWS_ENDPOINT_URL, aws --endpoint-url)")
    print(f"database       {info.database_url}")
    print(f"state machine  {info.state_machine_arn}")
    print(f"lake           s3://{info.lake_bucket}")
    print(f"alerts         {info.alert_topic_arn}")
    for label, url in (("dashboards", info.dashboard_url), ("ingest", info.ingest_url)):
        if url:
            print(f"{label:<14} {url}")
    if info.alerts_file:
        print(f"alert e-mails  {info.alerts_file}   (clickstream alerts [--follow])")
    print(f"stack file     {stack_file(stack.data_dir)}   (clickstream env: the shell exports)")
    if info.log_file:
        print(f"log file       {info.log_file}")


def serve_until_stopped(stack: LocalStack) -> None:
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("ready; Ctrl-C to stop")
    stopped.wait()
    print("stopping ...")
    stack.stop()


def run(args: argparse.Namespace) -> int:
    start: datetime | None = None
    if args.clock_start:
        try:
            start = parse_hour(args.clock_start)
        except ValueError as exc:
            fail(f"--clock-start: {exc}")
    try:
        stack = start_stack(
            args.data_dir,
            database_url=args.database_url,
            workers=args.workers,
            port=args.port,
            allowed_origins=allowed_origins(args),
        )
    except RuntimeError as exc:
        fail(str(exc))
    scheduler = Scheduler(stack.operator(), args.clock, start, args.seconds_per_hour)
    stack.stop_callbacks.append(scheduler.stop)
    scheduler.start()
    print_endpoints(stack)
    serve_until_stopped(stack)
    return 0
