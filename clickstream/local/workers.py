"""Warm worker processes that run the real Lambda handlers for the local runtime.

moto's Step Functions engine calls Lambda in its own threads (one per Map
iteration); each call is handed to a pool of worker processes so the
CPU-bound transform uses every core. Workers are started through the
forkserver (safe with the server's threads), import each handler once and
keep it warm like a Lambda container. A worker that dies (killed, out of
memory) breaks the pool: the call fails with ``WorkerLostError``, which the
state machine retries, and the pool is rebuilt for the next call.

Lambda's limits hold here too (clickstream.core.limits, the numbers infra/
deploys): a call that runs past its function's timeout has its worker
killed and fails with ``Sandbox.Timedout`` ("Task timed out after N
seconds"), as Lambda reports it; one whose worker grows by more than its
function's memory during the call is killed and fails with
``Runtime.OutOfMemory``. Other calls running in the same pool at that
moment fail with ``WorkerLostError`` (retried) as the pool is rebuilt.
Memory is approximate: the warm worker is shared by every function, so the
limit applies to what the call adds to its resident set.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from clickstream.core import errors, limits

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
FUNCTION_TIMEOUT_S = limits.LAMBDA_MAX_TIMEOUT_S  # Lambda's own ceiling
MEMORY_POLL_S = 0.1

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


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _watch_memory(start: int, limit_mb: int, marker: Path, done: threading.Event) -> None:
    """Kill this worker, leaving ``marker``, if the call grows its resident set past ``limit_mb``."""
    while not done.wait(MEMORY_POLL_S):
        if _rss_bytes() - start > limit_mb * 2**20:
            marker.write_text(str(limit_mb), encoding="ascii")
            os.kill(os.getpid(), signal.SIGKILL)


def run_in_worker(
    name: str,
    event_json: str,
    fault: dict[str, Any] | None,
    ticket: str | None = None,
    timeout_s: float = FUNCTION_TIMEOUT_S,
    memory_mb: int = 10_240,
) -> tuple[bool, str]:
    """Run one invocation; (True, result JSON) or (False, error JSON with errorType).

    ``ticket`` (a path) receives this worker's pid, so the pool can kill it at the timeout;
    ``<ticket>.oom`` is left when the memory watchdog killed it. The handler is imported
    first: the clock starts after a cold start, as Lambda's timeout does not count its init.
    """
    context = LocalLambdaContext(
        function_name=name,
        aws_request_id=str(uuid.uuid4()),
        memory_limit_in_mb=memory_mb,
        deadline=time.monotonic() + timeout_s,
    )
    try:
        module = _load_handler(name)  # a cold start's import, like Lambda's init, is not the call's time
    except Exception as exc:
        return False, json.dumps(_error_payload(exc), default=str)
    done = threading.Event()
    if ticket:
        Path(ticket).write_text(str(os.getpid()), encoding="ascii")
        try:
            start = _rss_bytes()  # here, before the call: the watchdog thread may start late
        except OSError:  # no /proc (not Linux): no memory limit
            start = None
        if start is not None:
            threading.Thread(
                target=_watch_memory, args=(start, memory_mb, Path(ticket + ".oom"), done), daemon=True
            ).start()
    try:
        if fault:
            apply_fault(fault)
        result = module.handler(json.loads(event_json), context)
        return True, json.dumps(result, default=str)
    except Exception as exc:  # a handler's uncaught error is the task's error, as on Lambda
        return False, json.dumps(_error_payload(exc), default=str)
    finally:
        done.set()


def apply_fault(fault: dict[str, Any]) -> None:
    """An injected fault: die like an out-of-memory container, or raise a named error.

    ``{"sleep": S}`` first holds the invocation S seconds (a slow task: its
    execution stays RUNNING meanwhile); alone, the task then runs normally.
    """
    if fault.get("allocate_mb"):  # hold that much memory meanwhile (a drill of the memory limit)
        held = bytearray(int(fault["allocate_mb"]) * 2**20)
        for i in range(0, len(held), 4096):
            held[i] = 1
        time.sleep(float(fault.get("sleep", 1)))
        if not fault.get("kill") and "error" not in fault:
            return
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
        self._tickets = Path(tempfile.mkdtemp(prefix="clickstream-calls-"))
        self._pool = self._new_pool()
        self.rebuilds = 0
        self.timeouts = 0

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
        """Run the function's handler under its Lambda limits (module docstring)."""
        pool = self._pool
        timeout = limits.timeout_s(name)
        memory = limits.memory_mb(name)
        ticket = self._tickets / uuid.uuid4().hex
        started = time.monotonic()
        future = pool.submit(run_in_worker, name, event_json, fault, str(ticket), timeout, memory)
        try:
            return self._result(future, ticket, timeout)
        except FutureTimeout:
            self._kill(ticket)
            self._replace(pool)
            self.timeouts += 1
            return False, json.dumps(
                {
                    "errorType": limits.LAMBDA_TIMEOUT_ERROR,
                    "errorMessage": f"RequestId: {ticket.name} Error: "
                    f"Task timed out after {timeout:.2f} seconds",
                }
            )
        except BrokenProcessPool as exc:
            self._replace(pool)
            if ticket.with_suffix(".oom").exists():
                return False, json.dumps(
                    {
                        "errorType": limits.LAMBDA_OUT_OF_MEMORY_ERROR,
                        "errorMessage": f"RequestId: {ticket.name} Error: Runtime exited with error: "
                        f"signal: killed (memory of {memory} MB exceeded after "
                        f"{time.monotonic() - started:.1f} s)",
                    }
                )
            lost = errors.WorkerLostError(f"the worker running {name} died: {exc}")
            return False, json.dumps(_error_payload(lost))
        finally:
            ticket.unlink(missing_ok=True)
            ticket.with_suffix(".oom").unlink(missing_ok=True)

    @staticmethod
    def _result(future: Future[tuple[bool, str]], ticket: Path, timeout: float) -> tuple[bool, str]:
        """The call's result; FutureTimeout once it has run ``timeout`` s in its worker.

        The clock starts when a worker takes the call (it writes the ticket), not while the
        call waits for a free worker: Lambda would have started another sandbox meanwhile.
        """
        deadline: float | None = None
        while True:
            if deadline is None and ticket.exists():
                deadline = time.monotonic() + timeout
            wait = 0.05 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return future.result(timeout=wait)
            except FutureTimeout:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    @staticmethod
    def _kill(ticket: Path) -> None:
        """Kill the worker that runs the call (its pid is in the ticket), as Lambda ends its sandbox."""
        try:
            pid = int(ticket.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return  # it never started: the pool is rebuilt anyway
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = self._new_pool()
                self.rebuilds += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._tickets, ignore_errors=True)
