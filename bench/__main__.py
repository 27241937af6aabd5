"""``python -m bench [NAME] [ARGS]``: run one benchmark (default: all of BENCHES in turn)."""

from __future__ import annotations

import importlib
import sys

# Each name is a module bench/<name>.py with main(argv) -> int.
BENCHES = ("transform", "load", "sessionize", "dashboards")


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHES:
        return int(importlib.import_module(f"bench.{argv[0]}").main(argv[1:]))
    if argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    status = 0
    for name in BENCHES:
        status = max(status, int(importlib.import_module(f"bench.{name}").main(argv)))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
