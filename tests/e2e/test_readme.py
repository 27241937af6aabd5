"""The README's examples work as written: the shell blocks of "The local stack", in a fresh shell.

The blocks run in order, as one bash script (``set -e``), in an empty folder
standing for a fresh clone after ``make install``: its ``.venv/bin/activate``
puts this interpreter's ``clickstream`` and ``aws`` on the PATH, and nothing
else is set: no AWS region, credentials, endpoint or profile, no data dir.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickstream.local.process import ROOT

README = ROOT / "README.md"
SECTION = "## The local stack\n"


def local_stack_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return re.findall(r"^```sh\n(.*?)^```", text[start:end], re.MULTILINE | re.DOTALL)


def fresh_clone_venv(work: Path) -> None:
    """What `make install` leaves for these commands: .venv/bin with clickstream and aws."""
    bin_dir = work / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\nexport PYTHONPATH="{ROOT}"\n')
    for name, module in (("clickstream", "clickstream.cli"), ("aws", "awscli")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n')
        shim.chmod(0o755)


def fresh_shell_environment(work: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(work),  # no ~/.aws
        AWS_CONFIG_FILE=str(work / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(work / "no-aws-credentials"),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def work() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="clickstream-e2e-"))  # not under pytest's rotating temp dirs
    yield path
    stack_json = path / ".clickstream" / "stack.json"
    if stack_json.exists():  # the script stopped before its last line: stop the stack it started
        with contextlib.suppress(ProcessLookupError, ValueError, KeyError):
            os.kill(int(json.loads(stack_json.read_text())["pid"]), signal.SIGTERM)
    shutil.rmtree(path, ignore_errors=True)


def test_the_local_stack_examples_run_as_written_in_a_fresh_shell(work: Path) -> None:
    blocks = local_stack_blocks()
    assert len(blocks) == 2, "the session and the fault drill"
    assert "jq" not in "".join(blocks)  # nothing that make does not install
    fresh_clone_venv(work)
    script = work / "readme.sh"
    script.write_text("set -e\n" + "\n".join(blocks), encoding="utf-8")

    result = subprocess.run(
        ["bash", str(script)],
        cwd=work,
        env=fresh_shell_environment(work),
        capture_output=True,
        text=True,
        timeout=900,
        start_new_session=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output and "Warning" not in output, output

    # The session: an hour with data run through the state machine, seen by the AWS CLI too
    assert "SUCCEEDED hour-2025-10-13T13" in output
    assert re.search(r"\|\s*hour-2025-10-13T13\s*\|\s*SUCCEEDED\s*\|", output), "the AWS CLI's table"
    assert "postgresql://" in output and "Lambda" in output  # db url, cost
    # The fault drill: the failure, its alert (printed by `up` and by `alerts`), the redrive
    assert "failed, as drilled" in output
    assert "Subject: Clickstream hour 2025-10-13T14 FAILED: ConfigurationError" in output
    assert "alert          Clickstream hour 2025-10-13T14 FAILED: ConfigurationError" in output
    assert "SUCCEEDED hour-2025-10-13T14-r2" in output
    # and `kill %1; wait` stopped the stack
    assert "stopping ..." in output
    assert not (work / ".clickstream" / "stack.json").exists()
