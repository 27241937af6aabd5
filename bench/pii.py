"""PII checks on long hostile text: ingest and transform stay linear on the worst 32 KB lines.

    python -m bench pii [--repeat 5]

A line may be 32 KB of untrusted text. A backtracking pattern (an unbounded
e-mail or phone pattern) takes seconds on text like ``"a@" * 16000``; the
bounded ones take milliseconds. This times, best of ``--repeat``:

- transform's checks (``clickstream.pipeline.normalize``): ``looks_like_pii``,
  ``is_pii_key`` and ``clean_props`` on each hostile text as key and value;
- ingest (``clickstream.pipeline.ingest.process``): one request with an event
  per hostile text in its props.

Each is set beside the same call on ordinary text of the same length (words
and spaces), measured in the same run: ``ratio`` is hostile time / ordinary
time, about 1 for a linear check on a machine of any speed. The tests check
what these calls return on the same texts (tests/unit/test_normalize.py,
tests/unit/test_ingest.py), never how long they take. ``budget_ms`` is the
bound the tests once asserted, kept here as a yardstick: one text through
transform's three checks in 0.5 s, the ingest request in 2 s.

Prints one JSON object to stdout, a summary to stderr.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.common import machine
from clickstream.core.pii import is_pii_key, looks_like_pii
from clickstream.pipeline import ingest
from clickstream.pipeline.normalize import clean_props

# Neither an e-mail address nor a phone number; each defeats a naive pattern.
NORMALIZE_HOSTILE = {
    "a_at_b": "a" * 16000 + "@" + "b" * 16000,
    "at_signs": "@" * 32000,
    "a_at_repeated": "a@" * 16000,
    "dotted_locals": ("a." * 100 + "@") * 150,
    "long_domain": "x@" + "b" * 30000 + ".c",
    "plus_digits": "+" + "1 " * 16000,
}
INGEST_HOSTILE = ["a" * 30_000 + "@", "a@" * 15_000, "+1" * 15_000, ("x" * 60 + "@") * 500]
NORMALIZE_BUDGET_MS = 500.0
INGEST_BUDGET_MS = 2000.0
NOW = datetime(2025, 10, 18, 13, 5, 7, tzinfo=UTC)


def ordinary(length: int) -> str:
    """Words and spaces, as much text as a hostile one."""
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit "
    return (words * (length // len(words) + 1))[:length]


def best_ms(call: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(max(1, repeat)):
        gc.collect()
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 3)


def normalize_checks(text: str) -> Callable[[], Any]:
    def call() -> Any:
        # Long text bypasses the caches, so every repeat computes again.
        return looks_like_pii(text), is_pii_key(text), clean_props({text: text, "k": [text]})

    return call


def ingest_request(texts: list[str]) -> Callable[[], Any]:
    events = [
        {
            "event_id": f"00000000-0000-4000-8000-{i:012d}",
            "ts": "2025-10-18T13:04:59.001Z",
            "event_type": "view",
            "session_id": "00000000-0000-4000-8000-000000000000",
            "anonymous_id": "bench-anon",
            "page_url": "https://shop.example/",
            "props": {"note": text},
        }
        for i, text in enumerate(texts)
    ]
    body = orjson.dumps(events)

    def call() -> Any:
        result = ingest.process(body, {}, NOW, b"bench-key")
        assert result.body["accepted"] == len(texts), result.body
        return result

    return call


def case(
    hostile: Callable[[], Any], plain: Callable[[], Any], budget_ms: float, repeat: int
) -> dict[str, Any]:
    hostile_ms, plain_ms = best_ms(hostile, repeat), best_ms(plain, repeat)
    return {
        "ms": hostile_ms,
        "ordinary_ms": plain_ms,
        "ratio": round(hostile_ms / plain_ms, 2) if plain_ms else None,
        "budget_ms": budget_ms,
        "within_budget": hostile_ms < budget_ms,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench pii", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="report the best of N timed runs")
    args = parser.parse_args(argv)

    normalize = {
        name: case(
            normalize_checks(text), normalize_checks(ordinary(len(text))), NORMALIZE_BUDGET_MS, args.repeat
        )
        for name, text in NORMALIZE_HOSTILE.items()
    }
    request = case(
        ingest_request(INGEST_HOSTILE),
        ingest_request([ordinary(len(text)) for text in INGEST_HOSTILE]),
        INGEST_BUDGET_MS,
        args.repeat,
    )
    worst = max(normalize, key=lambda name: normalize[name]["ms"])
    report = {
        "bench": "pii",
        "normalize": normalize,
        "normalize_worst": worst,
        "ingest_request": request,
        "within_budget": request["within_budget"] and all(c["within_budget"] for c in normalize.values()),
        **machine(),
    }
    print(
        f"pii: transform's checks worst {normalize[worst]['ms']:.1f} ms ({worst}, "
        f"{normalize[worst]['ratio']}x ordinary text); ingest request {request['ms']:.1f} ms "
        f"({request['ratio']}x); {'within' if report['within_budget'] else 'OVER'} the budgets",
        file=sys.stderr,
    )
    print(orjson.dumps(report).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
