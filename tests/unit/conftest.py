"""Unit tests are pure logic: no network (pytest-socket blocks it)."""

import pytest
from pytest_socket import disable_socket

# X-Ray's recorder opens its UDP emitter's socket (it sends nothing) when powertools' Tracer is
# first made, at the import of observability: import it before sockets are blocked, so that a
# unit test run alone behaves as in the whole suite, where another test imported it first.
import clickstream.core.observability  # noqa: F401


@pytest.fixture(autouse=True)
def _no_network() -> None:
    disable_socket(allow_unix_socket=False)
