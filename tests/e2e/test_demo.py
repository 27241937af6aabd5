"""`make demo` as a new user sees it: a clean console that fits one screen, and no hour in the future."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clickstream.core.lake import floor_hour, partition_hour
from clickstream.local.process import CLI, ROOT

LINE_BUDGET = 40  # one terminal screen, progress bars aside
PROGRESS = re.compile(r"━|^backfill ")


def test_the_demo_prints_a_clean_summary_on_one_screen_and_loads_no_future_hour(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONWARNINGS", "POWERTOOLS_"))}
    result = subprocess.run(
        [
            *CLI,
            "demo",
            "--days",
            "1",
            "--events-per-day",
            "2000",
            "--no-serve",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )
    finished = datetime.now(UTC)
    console = result.stdout + result.stderr
    assert result.returncode == 0, console
    lines = console.splitlines()

    # Nothing but what is meant for a person
    assert "Traceback" not in console
    assert not [line for line in lines if re.search(r"warning|deprecat", line, re.IGNORECASE)], console
    assert not [line for line in lines if line.lstrip().startswith(("{", "["))], console
    assert len([line for line in lines if not PROGRESS.search(line)]) <= LINE_BUDGET, console

    # The summary says what happened and where things went
    log_file = data_dir.resolve() / "clickstream.log"
    assert console.count(str(log_file)) == 1 and log_file.stat().st_size > 0
    for label in ("events loaded", "lines rejected", "objects quarantined", "executions", "alerts"):
        assert re.search(rf"^{label} +[\d,]+", console, re.MULTILINE), label
    assert re.search(r"^rejects, quarantined +s3://clickstream-lake/rejects/", console, re.MULTILINE)
    assert "(0 failed)" in console

    # The traffic ends with the last closed hour: no partition of the open hour or later
    match = re.search(r"to (\d{4}-\d\d-\d\d \d\d):00 UTC", lines[0])
    assert match, lines[0]
    end = datetime.strptime(match[1], "%Y-%m-%d %H").replace(tzinfo=UTC)
    assert end <= floor_hour(finished)
    raw = data_dir / "lake" / "clickstream-lake"
    hours = {partition_hour(p.relative_to(raw).as_posix()) for p in (raw / "raw").rglob("*.ndjson.gz")}
    assert hours and max(hours) <= end - timedelta(hours=1)
