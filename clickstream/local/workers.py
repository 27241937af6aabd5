"""Warm worker processes that run the real Lambda handlers for the local runtime.

moto's Step Functions engine calls Lambda in its own threads (one per Map
iteration); each call is handed to a pool of worker processes so the
CPU-bound transform uses every core. Workers are started through the
forkserver (safe with the server's threads), import each handler once and
keep it warm like a Lambda container. A worker that dies (killed, out of
memory) breaks the pool: the call fails with ``WorkerLostError``, which the
state machine retries, and the pool is rebuilt for the next call.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
import signal
import threading
import time
import traceback
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from clickstream.core import errors

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
FUNCTION_TIMEOUT_S = 900  # Lambda's own ceiling

_handlers: dict[str, ModuleType] = {}


@dataclass
class LocalLambdaContext:
    """What a handler reads from the Lambda context."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    log_group_name: str = "/local/lambda"
    log_stream_name: str = "local"
    deadline: float = 0.0

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def _load_handler(name: str) -> ModuleType:
    module = _handlers.get(name)
    if module is None:
        path = FUNCTIONS_DIR / name / "handler.py"
        if not path.exists():
            raise errors.ConfigurationError(f"no handler for function {name!r} at {path}")
        spec = importlib.util.spec_from_file_location(f"functions_{name}_handler", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _handlers[name] = module
    return module


def _die_with_parent() -> None:
    """On Linux, end this worker when the process that forked it ends (even by kill -9)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the pool's shutdown is the only way out
        return


def _init_worker(environ: dict[str, str]) -> None:
    _die_with_parent()
    os.environ.update(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _warm(names: list[str]) -> int:
    for name in names:
        _load_handler(name)
    return os.getpid()


def _error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-12:],
    }


def run_in_worker(name: str, event_json: str, fault: dict[str, Any] | None) -> tuple[bool, str]:
    """Run one invocation; (True, result JSON) or (False, error JSON with errorType)."""
    context = LocalLambdaContext(
        function_name=name,
        aws_request_id=str(uuid.uuid4()),
        deadline=time.monotonic() + FUNCTION_TIMEOUT_S,
    )
    try:
        if fault:
            apply_fault(fault)
        result = _load_handler(name).handler(json.loads(event_json), context)
        return True, json.dumps(result, default=str)
    except Exception as exc:  # a handler's uncaught error is the task's error, as on Lambda
        return False, json.dumps(_error_payload(exc), default=str)


def apply_fault(fault: dict[str, Any]) -> None:
    """An injected fault: die like an out-of-memory container, or raise a named error.

    ``{"sleep": S}`` first holds the invocation S seconds (a slow task: its
    execution stays RUNNING meanwhile); alone, the task then runs normally.
    """
    if fault.get("sleep"):
        time.sleep(float(fault["sleep"]))
        if not fault.get("kill") and "error" not in fault:
            return
    if fault.get("kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    name = str(fault.get("error", "InjectedFault"))
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = type(name, (errors.InjectedFault,), {})
    raise cls(str(fault.get("message", f"injected fault {name}")))


class HandlerPool:
    """A process pool that runs handlers by function name and survives worker deaths."""

    def __init__(self, environ: dict[str, str], workers: int | None = None) -> None:
        self._environ = dict(environ)
        self._workers = workers or max(2, os.cpu_count() or 2)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(
            ["clickstream.local.forkserver_guard", "clickstream", "boto3", "psycopg", "orjson", "pydantic"]
        )
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self.rebuilds = 0

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(self._environ,),
        )

    def warm(self, names: list[str]) -> list[int]:
        """Start every worker now and import the handlers in each."""
        futures = [self._pool.submit(_warm, names) for _ in range(self._workers)]
        return [f.result(timeout=120) for f in futures]

    def invoke(self, name: str, event_json: str, fault: dict[str, Any] | None = None) -> tuple[bool, str]:
        pool = self._pool
        try:
            return pool.submit(run_in_worker, name, event_json, fault).result(timeout=FUNCTION_TIMEOUT_S)
        except BrokenProcessPool as exc:
            self._replace(pool)
            lost = errors.WorkerLostError(f"the worker running {name} died: {exc}")
            return False, json.dumps(_error_payload(lost))

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = self._new_pool()
                self.rebuilds += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
