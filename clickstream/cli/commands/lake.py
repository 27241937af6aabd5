"""clickstream lake put FILE --hour H: put an NDJSON(.gz) file into a raw partition."""

from __future__ import annotations

import argparse
import gzip
import uuid
from pathlib import Path

from clickstream.cli.commands._common import add_data_dir, fail, stack_or_fail
from clickstream.core.lake import parse_hour, partition_prefix
from clickstream.core.storage import Lake, s3_client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lake_command", required=True, metavar="SUBCOMMAND")
    put = sub.add_parser("put", help="put an NDJSON or NDJSON.gz file into the raw partition of an hour")
    put.add_argument("files", nargs="+", type=Path, help="NDJSON files (.ndjson or .ndjson.gz)")
    put.add_argument("--hour", required=True, help="receive hour of the partition, e.g. 2025-10-18T13")
    add_data_dir(put)
    ls = sub.add_parser("ls", help="list the objects of a raw partition")
    ls.add_argument("--hour", required=True)
    add_data_dir(ls)


def run(args: argparse.Namespace) -> int:
    try:
        hour = parse_hour(args.hour)
    except ValueError as exc:
        fail(f"--hour: {exc}")
    info = stack_or_fail(args.data_dir)
    info.apply_environ()
    lake = Lake(info.lake_bucket, s3_client(info.region))
    if args.lake_command == "ls":
        for obj in lake.list(partition_prefix(hour)):
            print(f"{obj.size:>12,}  {obj.key}")
        return 0
    for path in args.files:
        if not path.is_file():
            fail(f"{path}: no such file")
        body = path.read_bytes()
        if body[:2] != b"\x1f\x8b":
            body = gzip.compress(body, compresslevel=6)
        key = f"{partition_prefix(hour)}events-{uuid.uuid4()}.ndjson.gz"
        lake.put_bytes(key, body, "application/x-ndjson")
        print(f"put {path} -> s3://{info.lake_bucket}/{key}")
    return 0
