"""SQLite for request-serving processes: the stdlib driver on the event loop, one call per
statement, lock waits as ``await``s (dialect ``sqlite+mploop``; decision D131).

Why: through aiosqlite every statement is four hand-offs to the connection's thread and
back (cursor, execute, fetchall, close). Measured on the 2-core machine
(``docs/performance.md``, "SQLite access"): an ORM primary-key select costs about 330 µs
of CPU through aiosqlite, about 100 µs through the same ORM on ``sqlite3`` directly. An
indexed statement on a WAL database takes a few microseconds, far less than the hand-offs.

How it stays correct:

- **No lock wait on the loop.** The connection's ``busy_timeout`` is 0. A statement (or a
  commit) that meets ``SQLITE_BUSY`` had no effect, so it is retried after an
  ``await asyncio.sleep`` (1 ms doubling to 50 ms) until ``LOCK_WAIT_SECONDS`` (the same 10 s
  the thread driver waits): the writer holding the lock, in this process or another, keeps
  running meanwhile. ``SQLITE_BUSY_SNAPSHOT`` (a read transaction that must restart to write)
  is raised at once, as the thread driver does.
- **Readers never wait** in WAL mode, so reads run straight through.
- **No checkpoint on the loop.** A commit that crosses SQLite's auto-checkpoint size copies
  the log into the database and fsyncs it, on the committing connection: measured up to
  ~250 ms here. These connections turn auto-checkpoint off (``wal_autocheckpoint=0``) and a
  :class:`Checkpointer` thread per engine runs a PASSIVE checkpoint (it never blocks
  readers or writers) once a second when the log has grown.
- **Long statements would stall the loop**: this driver is for processes that serve
  requests (broker, operator, SM-DP+), whose statements are indexed and short. The worker,
  whose rollups and retention scan large ranges, keeps aiosqlite (``make_engine(...,
  sqlite_on_loop=False)``), and so do CLI commands.

It reuses SQLAlchemy's aiosqlite adaptation (same dialect behaviour, same type handling)
and replaces only the driver underneath with :class:`LoopConnection`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from prometheus_client import Counter
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

T = TypeVar("T")

LOCK_WAITS: Final = Counter(
    "mobileplans_sqlite_lock_waits_total",
    "Statements or commits on the on-loop SQLite driver that met a held write lock and "
    "were retried after a pause",
)
LOCK_WAIT_SECONDS_TOTAL: Final = Counter(
    "mobileplans_sqlite_lock_wait_seconds_total",
    "Seconds the on-loop SQLite driver paused for a held write lock",
)

DIALECT_NAME: Final = "sqlite+mploop"
LOCK_WAIT_SECONDS: Final = 10.0
_FIRST_PAUSE: Final = 0.001
_LONGEST_PAUSE: Final = 0.05
CHECKPOINT_SECONDS: Final = 1.0
_RETRYABLE: Final = frozenset(
    {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, 261}
)  # 261: BUSY_RECOVERY


async def retry_when_busy(call: Callable[[], T], *, wait: float | None = None) -> T:
    """``call()`` now; while it fails with a retryable lock error, sleep and try again
    (for ``wait`` seconds, default ``LOCK_WAIT_SECONDS``), then raise the last error."""
    wait = LOCK_WAIT_SECONDS if wait is None else wait
    pause, deadline = _FIRST_PAUSE, 0.0
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in _RETRYABLE:
                raise
            now = time.monotonic()
            deadline = deadline or now + wait
            if now >= deadline:
                raise
        LOCK_WAITS.inc()
        LOCK_WAIT_SECONDS_TOTAL.inc(pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


Outcome = tuple[Any, list[Any] | None, int, int | None]


def _statement(
    connection: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> Outcome:
    """Execute, fetch every row and close, in one call: description, rows, counts."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else None
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class LoopConnection:
    """The async surface SQLAlchemy's aiosqlite adaptation expects, over a ``sqlite3``
    connection that is used on the event loop."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (closed connections have none)."""
        return self._connection is not None and self._connection.in_transaction

    async def statement(self, operation: str, parameters: Any, many: bool) -> Outcome:
        connection = self._conn
        return await retry_when_busy(lambda: _statement(connection, operation, parameters, many))

    async def commit(self) -> None:
        await retry_when_busy(self._conn.commit)

    async def rollback(self) -> None:
        await retry_when_busy(self._conn.rollback)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)


class LoopCursor(AsyncAdapt_aiosqlite_cursor):
    """One driver call per statement; the rows are held here, as the base class does."""

    __slots__ = ("_loop_description", "_loop_lastrowid", "_loop_rowcount")
    _awaitable_cursor_close = False

    def _make_new_cursor(self, connection: Any) -> Any:
        return None

    def _aenter_cursor(self, cursor: Any) -> Any:
        self._loop_description: Any = None
        self._loop_rowcount = -1
        self._loop_lastrowid: int | None = None
        return None

    @property
    def description(self) -> Any:
        return self._loop_description

    @property
    def rowcount(self) -> int:
        return self._loop_rowcount

    @property
    def lastrowid(self) -> Any:
        return self._loop_lastrowid

    async def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: LoopConnection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            outcome = await connection.statement(operation, parameters, many)
        self._loop_description, rows, self._loop_rowcount, self._loop_lastrowid = outcome
        self._rows = collections.deque(rows or ())

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._run(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        await self._run(operation, seq_of_parameters, True)


class LoopAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = LoopCursor

    @property
    def isolation_level(self) -> str | None:
        connection: LoopConnection = self._connection  # type: ignore[assignment]
        return connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        connection: LoopConnection = self._connection  # type: ignore[assignment]
        connection._conn.isolation_level = value  # type: ignore[assignment]


class LoopDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> LoopAdaptedConnection:
        kw.pop("async_creator_fn", None)
        kw["check_same_thread"] = False  # the pool may close it from the GC's thread
        connection = sqlite3.connect(*arg, **kw)
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's job
        return LoopAdaptedConnection(self, LoopConnection(connection))  # type: ignore[arg-type]


class LoopSqliteDialect(SQLiteDialect_aiosqlite):
    driver = "mploop"
    supports_statement_cache = True
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> LoopDbapi:
        return LoopDbapi(__import__("aiosqlite"), sqlite3)


registry.register("sqlite.mploop", __name__, "LoopSqliteDialect")


class Checkpointer:
    """A daemon thread that checkpoints one database file's WAL in the background."""

    def __init__(self, path: str, *, interval: float = CHECKPOINT_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        while not self._stop.wait(self.interval):
            try:
                connection = connection or sqlite3.connect(self.path, check_same_thread=False)
                busy, log_pages, _moved = connection.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
                if log_pages > 0 and not busy:
                    self.checkpoints += 1
            except sqlite3.Error:
                continue  # the file may be busy or gone; try again next time
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def on_loop_url(url: str) -> str:
    """The same SQLite database through this driver (``sqlite+aiosqlite://`` → ``+mploop``)."""
    scheme, sep, rest = url.partition("://")
    return f"{DIALECT_NAME}{sep}{rest}" if scheme.startswith("sqlite") else url
