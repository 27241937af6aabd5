"""What several benchmarks write the same way: where a figure was measured, and the raw data's size."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import orjson


def machine() -> dict[str, Any]:
    """The Python, the cores and the load average when the benchmark ends, for its report."""
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def server_label(embedded: bool) -> str:
    """Which PostgreSQL a report's figures come from."""
    return "embedded pgserver (default settings)" if embedded else "--database-url"


def generated_lines(raw_dir: Path) -> int | None:
    """The lines the generator wrote into ``raw_dir`` (its _generated.json), None without that file."""
    truth = raw_dir / "_generated.json"
    if truth.exists():
        return int(orjson.loads(truth.read_bytes())["lines_written"])
    return None
