"""The database going away: which driver errors mean "unavailable, retry later" (issue #11).

While PostgreSQL restarts, or a SQLite writer holds the lock past the busy wait, a request
cannot be served; it is not a bug in the request either. Such errors become
:class:`DatabaseUnavailable`, a 503 ``application/problem+json`` answer with
``Retry-After: RETRY_AFTER_SECONDS`` (decision D225), on every app and fast path
(``web.unavailable`` installs the handlers). Everything else stays what it was: a bug is
still a 500, a constraint violation still whatever its caller makes of it.

What counts (:func:`is_unavailable`), walking the wrapper chain (SQLAlchemy's ``orig``,
the driver adaptation's ``__cause__``):

- SQLAlchemy ``DBAPIError`` with ``connection_invalidated`` (SQLAlchemy saw a disconnect);
- asyncpg: a connection error (SQLSTATE class 08, e.g. ``ConnectionDoesNotExistError``),
  the server shutting down or starting up (``AdminShutdownError`` 57P01,
  ``CrashShutdownError`` 57P02, ``CannotConnectNowError`` 57P03), too many connections
  (53300), and the client-side ``InterfaceError`` "connection is closed";
- ``OSError`` (refused, reset, timed out, name not resolved) raised *inside the driver*
  (a frame of ``asyncpg`` in its traceback): an ``OSError`` of anything else is not
  the database's;
- sqlite3 ``OperationalError`` whose primary code is ``SQLITE_BUSY`` ("database is
  locked", after ``sqlite_loop.LOCK_WAIT_SECONDS`` of awaited retries).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final

from sqlalchemy.exc import DBAPIError

from mobileplans.errors import ServiceUnavailable

RETRY_AFTER_SECONDS: Final = 5
"""``Retry-After`` of a 503 while the database is away: a PostgreSQL restart takes a few
seconds; a SQLite lock is held for one write transaction (decision D225)."""

_SERVER_STATES: Final = frozenset({"57P01", "57P02", "57P03", "53300"})
_DRIVER_MODULE: Final = "asyncpg"
_CLOSED_WORDS: Final = ("connection is closed", "connection was closed")


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached (or, SQLite, stays locked): retry after a few seconds."""

    title = "Service unavailable"
    slug = "database-unavailable"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or "The database is unavailable; retry in a few seconds.",
            retryAfter=RETRY_AFTER_SECONDS,
        )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then what it wraps: SQLAlchemy's ``orig``, then ``__cause__`` links."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def _from_driver(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(_DRIVER_MODULE):
            return True
        traceback = traceback.tb_next
    return False


def _asyncpg_unavailable(exc: BaseException) -> bool:
    module = type(exc).__module__
    if not module.startswith("asyncpg"):
        return False
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str):
        return state.startswith("08") or state in _SERVER_STATES
    if type(exc).__name__ == "InterfaceError":  # the client's own "connection is closed"
        text = str(exc)
        return any(words in text for words in _CLOSED_WORDS)
    return False


def _one_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_BUSY
    if isinstance(exc, OSError):
        return _from_driver(exc.__traceback__)
    return _asyncpg_unavailable(exc)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says the database is away or locked."""
    return any(_one_unavailable(found) for found in _causes(exc))


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 to answer for ``exc``, or None when ``exc`` is something else."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    return DatabaseUnavailable() if is_unavailable(exc) else None


def raise_if_unavailable(exc: BaseException) -> None:
    """Raise :class:`DatabaseUnavailable` from ``exc`` when it is an outage; else return
    (the caller re-raises ``exc``)."""
    if not isinstance(exc, DatabaseUnavailable) and is_unavailable(exc):
        raise DatabaseUnavailable() from exc


@contextmanager
def as_unavailable() -> Iterator[None]:
    """Raise :class:`DatabaseUnavailable` (from the driver's error) for an outage inside
    the block; every other error passes unchanged. For code on the raw driver (the
    read path, the launch log) whose callers render ``AppError``s."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailable() from exc
        raise


def describe(exc: BaseException) -> str:
    """One line for the log: the innermost error's type and first line."""
    innermost: Any = exc
    for found in _causes(exc):
        innermost = found
    first = (str(innermost).strip().splitlines() or [""])[0]
    return f"{type(innermost).__name__}: {first}"[:200]
