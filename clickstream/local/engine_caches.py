"""Two caches for moto's Step Functions engine: the local runtime's CPU, not its behaviour.

Profiled during the 1M-event catch-up of ``make bench`` (py-spy on the
``clickstream up`` process, GIL samples), moto's engine spent about a sixth of
its CPU on work it repeats for every state of every Map item:

- ``boto_client_for`` builds a new boto3 client (the service model loaded and
  its classes generated) for each Lambda invocation and each SNS publish;
  moto's function uses only the region, the service and moto's port (the
  state's credentials are not passed on), so the client is the same every
  time, and boto3 clients are safe to share between threads;
- every JSONPath (``InputPath``, ``ResultPath``, ``ItemsPath``, the ``.$``
  fields of ``Parameters`` and ``ItemSelector``) is parsed again by
  jsonpath_ng's parser at each evaluation; a parsed path is an immutable tree,
  so the same text gives the same tree.

Both are memoised here. What the engine executes, and what the state machine
sees, is unchanged: the same ASL, the same requests to the same server.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from moto.settings import moto_server_port

# The engine's modules that call boto_client_for for the states this project's ASL uses
# (Lambda tasks, sns:publish, states:startExecution).
_CLIENT_USERS = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
)
# The modules that parse JSONPath with jsonpath_ng, each under the name ``parse``.
_PATH_PARSERS = (
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
)
_MARK = "_clickstream_cached"


def _cached_clients(original: Any) -> Any:
    clients: dict[tuple[str, str, str], Any] = {}

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, str(moto_server_port()))
        client = clients.get(key)
        if client is None:
            client = clients.setdefault(key, original(region, service, state_credentials))
        return client

    setattr(boto_client_for, _MARK, True)
    return boto_client_for


def install() -> None:
    """Memoise the engine's clients and parsed paths (idempotent, process-wide)."""
    for name in _CLIENT_USERS:
        module: Any = importlib.import_module(name)
        current = module.boto_client_for
        if not getattr(current, _MARK, False):
            module.boto_client_for = _cached_clients(current)
    for name in _PATH_PARSERS:
        module = importlib.import_module(name)
        current = module.parse
        if not getattr(current, _MARK, False):
            cached = functools.lru_cache(maxsize=4096)(current)
            setattr(cached, _MARK, True)
            module.parse = cached
