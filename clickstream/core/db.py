"""PostgreSQL access for the whole package: the only module that opens connections.

``connect(database_url)`` returns a psycopg 3 connection with autocommit off.
Errors worth retrying become ``TransientDatabaseError`` (the state machine
retries it by name): a failed or lost connection, a server shutting down or
starting, too many connections, a lock wait that timed out, a serialization
failure or a deadlock. They are classified by SQLSTATE and exception class,
never by message text. Everything else propagates unchanged.

Errors are mapped when connecting, and for everything inside
``with connect(url) as conn:`` (the connection's ``__exit__`` rolls back,
closes, then re-raises a transient error as ``TransientDatabaseError``).
``transient_errors()`` does the same for code that manages the connection
itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from clickstream.core.errors import ConfigurationError, TransientDatabaseError

CONNECT_TIMEOUT_S = 10

# SQLSTATEs worth a retry (https://www.postgresql.org/docs/16/errcodes-appendix.html).
TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available: a lock_timeout expired
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: starting up or in recovery
        "53300",  # too_many_connections
    }
)
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08"})  # connection_exception and its subclasses


def is_transient(exc: BaseException) -> bool:
    """True for a psycopg error that a retry may cure."""
    if not isinstance(exc, psycopg.Error):
        return False
    sqlstate = exc.sqlstate
    if sqlstate is None:
        # No SQLSTATE: the client could not connect, or the connection broke mid-way.
        return isinstance(exc, psycopg.OperationalError)
    return sqlstate in TRANSIENT_SQLSTATES or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES


def _transient(exc: psycopg.Error) -> TransientDatabaseError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return TransientDatabaseError(f"{type(exc).__name__} (SQLSTATE {exc.sqlstate or 'none'}): {detail}")


@contextmanager
def transient_errors() -> Iterator[None]:
    """Re-raise transient psycopg errors raised inside the block as TransientDatabaseError."""
    try:
        yield
    except psycopg.Error as exc:
        if is_transient(exc):
            raise _transient(exc) from exc
        raise


class Connection(psycopg.Connection[TupleRow]):
    """A psycopg connection whose ``with`` block maps transient errors on the way out."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc_val, exc_tb)  # commit or roll back, then close
        if isinstance(exc_val, psycopg.Error) and is_transient(exc_val):
            raise _transient(exc_val) from exc_val


def connect(
    database_url: str,
    *,
    application_name: str = "clickstream",
    connect_timeout_s: int = CONNECT_TIMEOUT_S,
    **kwargs: Any,
) -> Connection:
    """A new connection (autocommit off). ConfigurationError without a URL or with a malformed one."""
    if not database_url:
        raise ConfigurationError(
            "no database: set DATABASE_URL, or pass --database-url / --data-dir to the command"
        )
    try:
        return Connection.connect(
            database_url,
            autocommit=False,
            connect_timeout=connect_timeout_s,
            application_name=application_name,
            **kwargs,
        )
    except psycopg.ProgrammingError as exc:  # a malformed URL or an unknown option
        raise ConfigurationError(f"invalid DATABASE_URL: {exc}") from exc
    except psycopg.Error as exc:
        if is_transient(exc):
            raise _transient(exc) from exc
        raise
