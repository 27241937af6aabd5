"""clickstream lake put FILE... --hour H | lake ls --hour H: the raw lake, checked at the door.

``put`` accepts NDJSON events, gzipped (stored byte for byte) or plain
(gzipped on the way in), and refuses anything else before a single file is
put (exit 2): a file that starts with the gzip magic must decompress to its
end (no truncation, no CRC error), and its first lines must be JSON objects.
"""

from __future__ import annotations

import argparse
import gzip
import json
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clickstream.cli.commands._common import Sight, add_data_dir, fail, sight, stack_or_fail
from clickstream.core.lake import hour_label, parse_hour, partition_prefix
from clickstream.core.storage import Lake, s3_client
from clickstream.ops import inventory

GZIP_MAGIC = b"\x1f\x8b"
LINES_CHECKED = 5  # the first non-blank lines that must be JSON objects
ACCEPTS = (
    "it accepts newline-delimited JSON events (one JSON object per line, see docs/event.schema.json), "
    "gzipped (.ndjson.gz) or plain (.ndjson)"
)
SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive",
    b"\xff\xd8\xff": "a JPEG image",
    b"BZh": "a bzip2 file",
    b"\xfd7zXZ": "an xz file",
    b"(\xb5/\xfd": "a zstd file",
}


JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class NotNdjson(ValueError):
    """The file is not what the lake takes; the message says what it is and what is accepted."""


@dataclass(frozen=True)
class Checked:
    path: Path
    body: bytes  # what is stored: the file's own gzip bytes, or the plain file gzipped
    lines: int
    gzipped: bool


def _looks_like(data: bytes) -> str | None:
    for magic, name in SIGNATURES.items():
        if data.startswith(magic):
            return name
    return None


def _check_lines(text: bytes, what: str) -> int:
    """The first LINES_CHECKED non-blank lines are JSON objects; returns the non-blank line count."""
    lines = [line for line in text.split(b"\n") if line.strip()]
    if not lines:
        raise NotNdjson(f"{what} holds no events (no non-blank line)")
    for number, line in enumerate(lines[:LINES_CHECKED], start=1):
        try:
            value = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            raise NotNdjson(f"{what}: line {number} is not JSON ({exc})") from None
        if not isinstance(value, dict):
            kind = JSON_KINDS.get(type(value), type(value).__name__)
            raise NotNdjson(f"{what}: line {number} is JSON but not an object ({kind})")
    return len(lines)


def check_file(path: Path) -> Checked:
    """The file as the lake would store it, or NotNdjson saying what is wrong."""
    data = path.read_bytes()
    if not data:
        raise NotNdjson(f"{path} is empty")
    if data.startswith(GZIP_MAGIC):
        try:
            text = gzip.decompress(data)
        except EOFError:
            raise NotNdjson(f"{path} is a truncated gzip file (it ends before its end of stream)") from None
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise NotNdjson(f"{path} is a corrupt gzip file ({exc})") from None
        return Checked(path, data, _check_lines(text, f"{path} (decompressed)"), gzipped=True)
    kind = _looks_like(data)
    if kind is not None:
        raise NotNdjson(f"{path} is {kind}, not NDJSON")
    lines = _check_lines(data, str(path))
    return Checked(path, gzip.compress(data, compresslevel=6), lines, gzipped=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lake_command", required=True, metavar="SUBCOMMAND")
    put = sub.add_parser(
        "put",
        help="put NDJSON (.ndjson or .ndjson.gz) files into the raw partition of an hour",
        description="Put NDJSON files into the raw partition of an hour. Every file is checked first "
        f"and nothing is put unless all pass: {ACCEPTS}. Exit 0 put, 2 refused (nothing put).",
    )
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
    if args.lake_command == "put":
        checked: list[Checked] = []
        for path in args.files:
            if not path.is_file():
                fail(f"{path}: no such file; nothing was put")
            try:
                checked.append(check_file(path))
            except NotNdjson as exc:
                fail(f"refused {exc}; {ACCEPTS}. Nothing was put.")
    info = stack_or_fail(args.data_dir)
    info.apply_environ()
    lake = Lake(info.lake_bucket, s3_client(info.region))
    if args.lake_command == "ls":
        for obj in lake.list(partition_prefix(hour)):
            print(f"{obj.size:>12,}  {obj.key}")
        return 0
    for item in checked:
        key = f"{partition_prefix(hour)}events-{uuid.uuid4()}.ndjson.gz"
        lake.put_bytes(key, item.body, "application/x-ndjson")
        how = "" if item.gzipped else ", gzipped"
        print(f"put {item.path} ({item.lines:,} lines{how}) -> s3://{info.lake_bucket}/{key}")
    print(who_takes(sight(args), hour))
    return 0


def who_takes(see: Sight, hour: datetime) -> str:
    """Which run will take objects put into the hour's partition, and the command when none will."""
    label = hour_label(hour)
    with see.fetch() as fetch:
        row = inventory.read_watermark(fetch)
    watermark = row["watermark_hour"] if row else None
    taken = inventory.taken_by(hour, watermark, see.lookback_hours)
    if taken == inventory.OPEN:
        return f"hour {label} has not ended: its run takes them once it has"
    if taken == inventory.NEXT_RUN:
        return (
            f"the next scheduled run lists partition {label} (after the watermark, or within its "
            f"{see.lookback_hours}-hour lookback) and takes them"
        )
    return (
        f"hour {label} is before the watermark's lookback: no scheduled run lists it again. "
        f"Take them with: clickstream run --hour {label} --rerun"
    )
