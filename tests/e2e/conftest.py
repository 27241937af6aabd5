"""The whole local stack as a user starts it: ``clickstream up`` in a subprocess.

One stack per test module (PostgreSQL, moto, worker processes, ~10 s to
start); tests in a module use hours of their own so they do not interfere.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import RunningStack, start_stack_process, stop_stack_process


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory outside pytest's rotating temp folders.

    pgserver runs PostgreSQL as a separate system user and opens up the
    directory's parents for it; pytest's own temp folders may be tidied by
    another pytest process on the machine meanwhile.
    """
    path = Path(tempfile.mkdtemp(prefix="clickstream-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    path = Path(tempfile.mkdtemp(prefix="clickstream-e2e-"))
    running = start_stack_process(path)
    yield running
    stop_stack_process(running)
    shutil.rmtree(path, ignore_errors=True)
