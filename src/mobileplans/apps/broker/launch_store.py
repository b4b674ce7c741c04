"""Where the broker writes its batches: the launch log's (decision D93) and, through
``lookups``, the GetBalance call records its balance proxy flushes every 0.1 s (D299).

On PostgreSQL a batch is one atomic ``executemany`` (one round trip) on a connection
the writer keeps in autocommit mode: no thread on the way, no pool check-out, liveness
ping, BEGIN or COMMIT per batch. Two batches may be in flight at once, each on its own
kept connection, so a request waits for its own round trip rather than also for the
one before it. A failed batch drops its connection; the next batch opens a new one.
A kept connection that the server ended while it was idle (a restart) is dropped before
use, so the first batch after a restart does not fail on it (D227).

The database away (PostgreSQL down, SQLite still locked after the busy wait): the batch
raises ``DatabaseUnavailable`` and its requests answer 503 with ``Retry-After`` (D225);
their records were never handed out, so nothing is kept or retried for them, and the
log's queue stays bounded by ``LaunchLog.max_pending`` as always.

On SQLite a batch is one transaction of a plain ``sqlite3`` connection run on the event
loop (as the request-serving engine does, D131): an insert of a few dozen rows and
its commit take well under a millisecond in WAL mode, while a writer thread cost a
GIL hand-off per batch that waited up to the 5 ms switch interval behind a busy loop
(a 10 ms median at 32 connections). The connection's ``busy_timeout`` is 0: a batch
that meets another writer's lock is retried after awaited pauses
(``sqlite_loop.retry_when_busy``), so a lock wait never blocks the loop.

WAL checkpoints (copying the log into the database, with an fsync) took up to a
quarter of a second on a busy disk; done by the committing connection, as SQLite does
by default, they would stop the loop. The writer connection therefore does not
checkpoint; a thread of its own runs a PASSIVE checkpoint (it never blocks writers)
after every ``CHECKPOINT_ROWS`` rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from mobileplans.db.errors import as_unavailable
from mobileplans.db.session import session_scope
from mobileplans.db.sqlite_loop import retry_when_busy
from mobileplans.domains.balance import service as balance_service
from mobileplans.domains.balance.schemas import LookupRecord
from mobileplans.domains.catalog import service as catalog_service
from mobileplans.domains.catalog.launch_log import LaunchRow

BUSY_TIMEOUT_S = 10.0  # as the engine's busy_timeout
WRITERS = 2  # PostgreSQL batches written at once: one commits while the next gathers
CHECKPOINT_ROWS = 4_000  # ~1,000 WAL pages: SQLite's own autocheckpoint size


def sqlite_file(sessions: async_sessionmaker[AsyncSession]) -> str | None:
    """The database file behind ``sessions`` when it is a SQLite file, else ``None``."""
    engine = sessions.kw.get("bind")
    url = getattr(engine, "url", None)
    if url is None or url.get_backend_name() != "sqlite":
        return None
    database: str | None = url.database
    return database if database and database != ":memory:" else None


class EngineLaunchStore:
    """A batch per atomic executemany on a kept connection (PostgreSQL); up to
    ``WRITERS`` batches at once, each on a connection of its own."""

    writers = WRITERS

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._idle: list[AsyncConnection] = []

    async def __call__(self, rows: list[LaunchRow]) -> None:
        with as_unavailable():
            await self._store(lambda c: catalog_service.save_launches_on(c, rows))

    async def lookups(self, records: list[LookupRecord]) -> None:
        """The GetBalance call records of one flush: one ``COPY`` (D193) on a kept
        connection, like a batch of launch records (D299)."""
        with as_unavailable():
            await self._store(lambda c: balance_service.save_lookups_on(c, records))

    async def _store(self, work: Callable[[AsyncConnection], Awaitable[None]]) -> None:
        engine = self.sessions.kw.get("bind")
        if not isinstance(engine, AsyncEngine):  # a sessionmaker without one engine
            async with session_scope(self.sessions) as session:
                await work(await session.connection())
            return
        while self._idle and _ended(self._idle[-1]):
            with contextlib.suppress(Exception):
                await self._idle.pop().invalidate()
        if self._idle:
            connection = self._idle.pop()
        else:
            connection = await engine.connect()
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            # asyncpg's executemany is atomic (>= 0.22) and so is a COPY: the batch is one
            # transaction and one round trip, with no BEGIN and COMMIT of its own.
            await work(connection)
            await connection.commit()  # ends SQLAlchemy's bookkeeping; nothing is sent
        except BaseException:
            with contextlib.suppress(Exception):
                await connection.close()
            raise
        self._idle.append(connection)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()


def _ended(connection: AsyncConnection) -> bool:
    """True when the server ended this kept connection (its driver says it is closed)."""
    try:
        driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    except Exception:
        return True
    is_closed = getattr(driver, "is_closed", None)
    return bool(is_closed()) if callable(is_closed) else False


class SqliteLaunchStore:
    """A batch per transaction of one connection on the event loop (SQLite): the launch
    records, and through ``batch`` the GetBalance call records."""

    writers = 1  # one writer at a time is all SQLite has

    def __init__(self, path: str) -> None:
        self.path = path
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._connection: sqlite3.Connection | None = None
        self._checkpoint_connection: sqlite3.Connection | None = None
        self._rows_since_checkpoint = 0
        self._checkpoint: Future[None] | None = None

    def _open(self, *, timeout: float) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA synchronous=NORMAL")  # WAL is the file's mode already
        return connection

    def _write(self, work: Callable[[sqlite3.Connection], None], rows: int) -> None:
        if self._connection is None:
            self._connection = self._open(timeout=0)
            self._connection.execute("PRAGMA wal_autocheckpoint=0")  # see the module doc
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")  # SQLITE_BUSY at once if another writer holds it
        try:
            work(connection)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self._after_commit(rows)

    async def __call__(self, rows: list[LaunchRow]) -> None:
        await self.batch(lambda c: catalog_service.save_launches_sqlite(c, rows), len(rows))

    async def lookups(self, records: list[LookupRecord]) -> None:
        """The GetBalance call records of one flush, in one transaction (D299)."""
        await self.batch(lambda c: balance_service.save_lookups_sqlite(c, records), len(records))

    async def batch(self, work: Callable[[sqlite3.Connection], None], rows: int) -> None:
        """Run ``work`` (the repository's inserts of ``rows`` rows) in one transaction of
        this connection: the broker's other batches (its GetBalance call records) use it
        too, so its writes never wait on each other's lock (D299)."""
        with as_unavailable():  # still locked after the busy wait: a 503 (D225)
            await retry_when_busy(lambda: self._write(work, rows))

    def _run_checkpoint(self) -> None:
        if self._checkpoint_connection is None:
            self._checkpoint_connection = self._open(timeout=BUSY_TIMEOUT_S)
        self._checkpoint_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _after_commit(self, rows: int) -> None:
        self._rows_since_checkpoint += rows
        running = self._checkpoint is not None and not self._checkpoint.done()
        if self._rows_since_checkpoint >= CHECKPOINT_ROWS and not running:
            self._rows_since_checkpoint = 0
            self._checkpoint = self._checkpointer.submit(self._run_checkpoint)

    def _close_checkpointer(self) -> None:
        if self._checkpoint_connection is not None:
            self._checkpoint_connection.close()
            self._checkpoint_connection = None

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._checkpointer, self._close_checkpointer)


def make_launch_store(
    sessions: async_sessionmaker[AsyncSession],
) -> EngineLaunchStore | SqliteLaunchStore:
    path = sqlite_file(sessions)
    return SqliteLaunchStore(path) if path else EngineLaunchStore(sessions)
