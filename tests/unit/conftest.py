"""Unit tests are pure logic: no network (pytest-socket blocks it)."""

import pytest
from pytest_socket import disable_socket


@pytest.fixture(autouse=True)
def _no_network() -> None:
    disable_socket(allow_unix_socket=False)
