"""What several benchmarks do the same way: the server they run on, where a figure was measured, and
the raw data's size."""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
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


class Postgres:
    """The server a benchmark runs on: ``--database-url``'s, or an embedded pgserver in a temporary
    directory that ``close()`` stops and removes."""

    def __init__(self, database_url: str | None, prefix: str) -> None:
        self.server: Any = None
        self.tmp: Path | None = None
        if database_url:
            self.admin_url = database_url
        else:
            import pgserver

            self.tmp = Path(tempfile.mkdtemp(prefix=prefix))
            self.server = pgserver.get_server(self.tmp / "pg", cleanup_mode="delete")
            self.admin_url = self.server.get_uri("postgres")

    @property
    def label(self) -> str:
        """Which PostgreSQL the report's figures come from."""
        return "embedded pgserver (default settings)" if self.server is not None else "--database-url"

    def close(self) -> None:
        if self.server is not None:
            self.server.cleanup()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def generated_lines(raw_dir: Path) -> int | None:
    """The lines the generator wrote into ``raw_dir`` (its _generated.json), None without that file."""
    truth = raw_dir / "_generated.json"
    if truth.exists():
        return int(orjson.loads(truth.read_bytes())["lines_written"])
    return None
