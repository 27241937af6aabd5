"""``python -m bench [ARGS]`` is ``make bench``: the whole suite (bench/suite.py), results written down.

``python -m bench NAME [ARGS]`` runs one benchmark on its own and prints its JSON.
"""

from __future__ import annotations

import importlib
import sys

# Each name is a module bench/<name>.py with main(argv) -> int.
BENCHES = (
    "e2e",
    "floor",
    "duckdb_reference",
    "incremental",
    "dashboards",
    "transform",
    "load",
    "sessionize",
    "pii",
    "report",
)


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHES:
        return int(importlib.import_module(f"bench.{argv[0]}").main(argv[1:]))
    if argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    return int(importlib.import_module("bench.suite").main(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
