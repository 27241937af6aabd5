"""clickstream schema: export the event contract's JSON Schema."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from clickstream.core.contract import json_schema

DEFAULT_OUT = Path("docs/event.schema.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="file to write (- for stdout)")


def run(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if str(args.out) == "-":
        print(text, end="")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
