"""The limits the pipeline runs under, on AWS and locally: one place, read by infra/ and the local runtime.

- Each function's memory and timeout (infra/constants.py builds the Lambda functions from them;
  the local runtime kills a task that runs past its function's timeout or grows past its memory,
  and fails it with the error Lambda reports).
- Step Functions' quotas a standard execution must stay under (history events, payload size).
- The work one execution may take: ListNew sizes it from the measured rate of the slowest state
  (SessionizeAndUpsert), with a safety margin, so the upsert of one execution fits the load
  function's timeout; a backlog larger than that drains through chained executions.

Locally the timeouts and the budget can be scaled down for tests through the environment:
``CLICKSTREAM_TIMEOUT_S_<FUNCTION>`` (e.g. ``CLICKSTREAM_TIMEOUT_S_LOAD=4``) and
``MAX_BYTES_PER_EXECUTION`` (a setting, clickstream/core/settings.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionLimits:
    memory_mb: int
    timeout_s: int


LAMBDA_MAX_TIMEOUT_S = 900  # Lambda's hard cap
FUNCTION_LIMITS: dict[str, FunctionLimits] = {
    "list_new": FunctionLimits(512, 120),
    "transform": FunctionLimits(1024, 300),
    "load": FunctionLimits(1024, 600),
    "notify": FunctionLimits(256, 30),
}

# The error Step Functions reports for a Lambda task that ran past its function's timeout, and for
# one that ran out of memory (both are unhandled Lambda errors, caught by States.ALL, matched by no
# Retry here; docs/DEPLOY.md cites the AWS pages).
LAMBDA_TIMEOUT_ERROR = "Sandbox.Timedout"
LAMBDA_OUT_OF_MEMORY_ERROR = "Runtime.OutOfMemory"

# Step Functions quotas of a standard execution (docs/DEPLOY.md cites the quotas page).
SFN_MAX_HISTORY_EVENTS = 25_000
SFN_MAX_PAYLOAD_BYTES = 256 * 1024

# Measured (docs/PERFORMANCE.md, `make bench`): SessionizeAndUpsert, the slowest state, at about
# 13,000 events/s (the 1M-event catch-up, 2026-12-03: 997,218 new events in 61.3 s and, in the
# run of docs/PERFORMANCE.md, 74.7 s; the slower one counts); generated traffic compresses to
# about 108 bytes an event in the raw lake.
UPSERT_EVENTS_PER_S = 13_000
RAW_BYTES_PER_EVENT = 108
# Plan for half the measured rate, and count events as if they compressed 25 % better than
# measured (more events per byte): an execution's upsert then needs at most ~half its timeout.
RATE_SAFETY = 0.5
BYTES_PER_EVENT_SAFETY = 0.75


def events_per_execution(load_timeout_s: int | None = None) -> int:
    """The most new events one execution may take so that its upsert fits the load function's timeout."""
    timeout = FUNCTION_LIMITS["load"].timeout_s if load_timeout_s is None else load_timeout_s
    return int(timeout * UPSERT_EVENTS_PER_S * RATE_SAFETY)


def bytes_per_execution(load_timeout_s: int | None = None) -> int:
    """The same budget in raw (gzipped) bytes, what ListNew sees of an object before reading it."""
    return int(events_per_execution(load_timeout_s) * RAW_BYTES_PER_EVENT * BYTES_PER_EVENT_SAFETY)


MAX_BYTES_PER_EXECUTION = bytes_per_execution()


def timeout_s(function: str) -> float:
    """The function's timeout; locally ``CLICKSTREAM_TIMEOUT_S_<FUNCTION>`` scales it down (tests)."""
    override = os.environ.get(f"CLICKSTREAM_TIMEOUT_S_{function.upper()}")
    if override:
        return float(override)
    limits = FUNCTION_LIMITS.get(function)
    return float(limits.timeout_s if limits else LAMBDA_MAX_TIMEOUT_S)


def memory_mb(function: str) -> int:
    """The function's memory; locally ``CLICKSTREAM_MEMORY_MB_<FUNCTION>`` overrides it (tests)."""
    override = os.environ.get(f"CLICKSTREAM_MEMORY_MB_{function.upper()}")
    if override:
        return int(override)
    limits = FUNCTION_LIMITS.get(function)
    return limits.memory_mb if limits else 10_240
