"""Where the local stack's logs go: ``DIR/clickstream.log``, never the console.

The console of ``clickstream up`` and ``clickstream demo`` is for people:
what started, where it listens, progress, alerts and a summary. Everything
else goes to one log file under the data directory, whose path ``up`` prints
once:

- this process's Python logging (moto's Step Functions engine logs every
  failed state at ERROR, with the exception), warnings (``warnings.warn``:
  library deprecations, platformdirs' XDG notice) and uncaught errors of
  background threads;
- the JSON lines of the package's Powertools logger;
- everything the worker processes and PostgreSQL write to stdout or stderr:
  they are started while file descriptors 1 and 2 point at the log file
  (:func:`descriptors_to`), and keep them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOG_FILE = "clickstream.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def log_file(data_dir: Path) -> Path:
    return Path(data_dir) / LOG_FILE


class _FileHandler(logging.FileHandler):
    """The handler this module installs (recognised, so that a second call replaces it)."""


def send_to_file(path: Path) -> None:
    """Python logging, warnings and uncaught thread errors of this process go to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = _FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _FileHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    logging.captureWarnings(True)

    # The package's Powertools logger writes JSON lines to stdout through a handler of its own.
    from clickstream.core.observability import logger

    powertools = logger.registered_handler
    if isinstance(powertools, logging.StreamHandler) and not isinstance(powertools, logging.FileHandler):
        powertools.setStream(open(path, "a", buffering=1, encoding="utf-8"))  # noqa: SIM115 - for good

    def excepthook(args: Any) -> None:
        logging.getLogger("clickstream.local").error(
            "uncaught error in thread %s",
            getattr(args.thread, "name", "?"),
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    threading.excepthook = excepthook


@contextmanager
def descriptors_to(path: Path) -> Iterator[None]:
    """File descriptors 1 and 2 point at ``path`` while the block runs, then back at the console.

    Processes started inside the block (the worker pool's forkserver, PostgreSQL)
    inherit them and keep writing to the file for their whole life. Nothing meant
    for the console may be printed inside the block.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)
