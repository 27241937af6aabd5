"""clickstream import: turn a real sample into contract events in a raw lake folder.

    clickstream import rees46 tests/data/real/rees46_oct2019_head/2019-Oct.csv --out .tmp/rees46
    clickstream import yoochoose tests/data/real/yoochoose_rsc15_100k/*.txt --out .tmp/yoochoose

Writes DIR/raw/... in the same layout as ``clickstream generate`` and a summary,
DIR/_import-<source>.json (rows read, events written, rows skipped by reason).
Event ids are stable, so importing a file again into the same folder adds new
objects (new keys, unless --seed repeats them) whose lines are all duplicates.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from clickstream.tools.adapters import rees46, yoochoose
from clickstream.tools.adapters.common import ImportSummary, write_lake

Converter = Callable[[Path, ImportSummary], Iterator[tuple[int, bytes]]]
SOURCES: dict[str, Converter] = {"rees46": rees46.convert, "yoochoose": yoochoose.convert}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", choices=sorted(SOURCES), help="which sample format")
    parser.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="files to import")
    parser.add_argument("--out", type=Path, required=True, help="folder to write raw/ into")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed object key names (default: fresh names on every import)"
    )


def run(args: argparse.Namespace) -> int:
    convert = SOURCES[args.source]
    summary = ImportSummary(source=args.source)
    entries: list[tuple[int, bytes]] = []
    for path in args.paths:
        entries.extend(convert(path, summary))
    rng = random.Random(args.seed) if args.seed is not None else random.Random()
    args.out.mkdir(parents=True, exist_ok=True)
    write_lake(entries, args.out, summary, rng)
    summary_path = args.out / f"_import-{args.source}.json"
    summary_path.write_bytes(orjson.dumps(summary.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
    print(
        f"{args.source}: read {summary.rows_read:,} rows, wrote {summary.events_written:,} events "
        f"in {summary.objects_written:,} objects to {args.out / 'raw'} ({summary.ts_min} .. {summary.ts_max})"
    )
    for reason, count in sorted(summary.rows_skipped.items()):
        print(f"  skipped {count:,}: {reason}")
    print(f"  summary: {summary_path}")
    return 0 if summary.events_written or not summary.rows_read else 1
