"""Tiny reads on the raw driver, for hot paths that only read (GetBalance).

A domain's ``repository.py`` builds the statement (a SQLAlchemy Core ``select`` with
named ``bindparam``s) and runs it through a :class:`Reads`. The statement is compiled
once per dialect (SQL text, parameter order, bind and result processors, the same ones
SQLAlchemy applies) and then run on the driver itself, without a session, an ORM or an
explicit transaction:

- **SQLite** (:class:`SqliteReads`): the stdlib ``sqlite3`` driver, one connection per
  process, in autocommit mode, called *on the event loop*. That is safe because the
  database runs in WAL mode (``db.engine``): a reader never waits for a writer or
  blocks one, and an indexed point read of a few pages takes microseconds. The one wait
  a WAL reader can meet (``SQLITE_BUSY`` during WAL recovery or a restart checkpoint)
  is never taken on the loop: the connection has no busy timeout, and a busy read is
  retried in a worker thread on a connection of its own that has one. Measured against
  aiosqlite and a connection per worker thread in ``bench/reads.py`` (decision D85).
- **PostgreSQL** (:class:`AsyncpgReads`): a few asyncpg connections of our own (a
  queue, no reset round trip on release: nothing but single autocommit SELECTs ever
  runs on them), statements prepared once per connection by asyncpg's statement cache.
- :class:`SessionReads` runs the same statements through an ``AsyncSession``, for
  callers inside a transaction that must see their own writes.

:func:`reads_for` gives the one driver-level :class:`Reads` of an engine; it is closed
when the engine is disposed. Usage (any app)::

    reads = reads_for(engine)          # once, at start-up
    row = await repository.line_summary(reads, iccid)   # a repository function
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import re
import sqlite3
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import JSON, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Select

from mobileplans.db.base import UtcDateTime
from mobileplans.db.errors import as_unavailable, raise_if_unavailable
from mobileplans.db.sqlite_loop import retry_when_busy

Statement = Select[*tuple[Any, ...]]  # a repository's select, named bindparams
Row = Any  # a named tuple: attributes named after the statement's selected columns
Processor = Callable[[Any], Any] | None


class Reads(Protocol):
    """Runs a repository's read-only ``select`` with its named parameters."""

    async def one(self, statement: Statement, params: Mapping[str, Any]) -> Row | None: ...

    async def all(self, statement: Statement, params: Mapping[str, Any]) -> list[Row]: ...


class DriverReads(Reads, Protocol):
    """Driver-level reads; ``hold()`` keeps one connection for a block (a request's
    reads), where the driver has connections to hand out (asyncpg)."""

    def hold(self) -> AbstractAsyncContextManager[Reads]: ...


class _Itself:
    """``hold()`` of reads that have nothing to hold (one SQLite connection)."""

    __slots__ = ("reads",)

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    async def __aenter__(self) -> Reads:
        return self.reads

    async def __aexit__(self, *_exc: object) -> None:
        return None


class SessionReads:
    """The same statements through a session (inside a transaction: sees its writes)."""

    __slots__ = ("session",)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def one(self, statement: Statement, params: Mapping[str, Any]) -> Row | None:
        return (await self.session.execute(statement, dict(params))).first()

    async def all(self, statement: Statement, params: Mapping[str, Any]) -> list[Row]:
        return list((await self.session.execute(statement, dict(params))).all())


def as_reads(source: AsyncSession | Reads) -> Reads:
    """A session becomes :class:`SessionReads`; a :class:`Reads` is returned as is."""
    return SessionReads(source) if isinstance(source, AsyncSession) else source


@dataclass(frozen=True)
class Compiled:
    """One statement for one dialect: what the driver needs, computed once."""

    sql: str
    names: tuple[str, ...]  # bind parameters in positional order
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]
    row: Callable[..., Row]
    make: Callable[[Sequence[Any]], Row] = field(init=False, compare=False, repr=False)
    plain: bool = field(init=False, compare=False, repr=False)  # no bind processors

    def __post_init__(self) -> None:
        object.__setattr__(self, "make", _row_maker(self.row, self.results))
        object.__setattr__(self, "plain", all(p is None for p in self.binds))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = [params[name] for name in self.names]
        if self.plain:
            return values
        return [v if p is None else p(v) for v, p in zip(values, self.binds, strict=True)]


def _row_maker(row: Any, results: tuple[Processor, ...]) -> Callable[[Sequence[Any]], Row]:
    """A driver row to a named row, applying only the processors there are (worked out
    once per statement, not per value)."""
    # ``row._make`` without its length check (a driver row has the statement's columns):
    # ``tuple.__new__`` called from C, at less than half the cost per row
    make: Callable[[Sequence[Any]], Row] = functools.partial(tuple.__new__, row)
    converted = [(i, p) for i, p in enumerate(results) if p is not None]
    if not converted:
        return make

    def convert(raw: Sequence[Any]) -> Row:
        values = list(raw)
        for i, process in converted:
            values[i] = process(values[i])
        return make(values)

    return convert


def _utc_from_sqlite(value: str | None) -> datetime | None:
    """``UtcDateTime`` on SQLite, read: SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff``
    without an offset; ``fromisoformat`` (C) reads it at half the cost of the dialect's
    regular expression, to the same value (``tests/db/test_reads.py``)."""
    if value is None:
        return None
    try:  # the stored form has no offset: read as UTC (``replace(tzinfo=)`` costs 6× more)
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # an offset already (two do not parse), or not a datetime at all
        pass
    found = datetime.fromisoformat(value)
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


_LONG_NUMBER = re.compile(r"[0-9]{19}")


def _json_from_sqlite(value: str | None) -> Any:
    """``JSON`` on SQLite, read with orjson (about 6× cheaper than ``json.loads``). Where
    they differ, ``json`` reads it: what orjson refuses (``NaN``, ``1e400``, lone
    surrogates) and integers beyond 64 bits (orjson makes them floats), which need 19
    digits or more in a row."""
    if value is None:
        return None
    if len(value) < 19 or _LONG_NUMBER.search(value) is None:  # shorter: no such run
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            pass
    return json.loads(value)


def _result_processor(column_type: Any, dialect: Dialect, code: Any) -> Processor:
    """The dialect's result processor of a column, or an equivalent cheaper one where
    SQLite's stored form is known: UTC datetimes and JSON (default deserializer)."""
    if dialect.name == "sqlite":
        if isinstance(column_type, UtcDateTime):
            return _utc_from_sqlite
        default_json = getattr(dialect, "_json_deserializer", None) is None
        if default_json and isinstance(column_type, JSON):
            return _json_from_sqlite
    processor: Processor = column_type.dialect_impl(dialect).result_processor(dialect, code)
    return processor


def compile_statement(
    statement: Statement, dialect: Dialect, coltypes: Sequence[Any] | None = None
) -> Compiled:
    """``coltypes``: the driver's type codes of the result columns, where the dialect's
    result processors need them (asyncpg numerics); SQLite's need none."""
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    types = [compiled.binds[name].type.dialect_impl(dialect) for name in names]
    binds = tuple(t.bind_processor(dialect) for t in types)
    columns = list(statement.selected_columns)
    codes = list(coltypes) if coltypes is not None else [None] * len(columns)
    results = tuple(
        _result_processor(c.type, dialect, code) for c, code in zip(columns, codes, strict=True)
    )
    row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
    return Compiled(compiled.string, names, binds, results, row)


class _Compiler:
    """Compiled statements of one dialect, by statement identity (repository constants)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._cache: dict[int, tuple[Statement, Compiled]] = {}

    def get(self, statement: Statement) -> Compiled | None:
        found = self._cache.get(id(statement))
        return found[1] if found is not None and found[0] is statement else None

    def __call__(self, statement: Statement, coltypes: Sequence[Any] | None = None) -> Compiled:
        compiled = self.get(statement)
        if compiled is None:
            compiled = compile_statement(statement, self.dialect, coltypes)
            self._cache[id(statement)] = (statement, compiled)
        return compiled


class SqliteReads:
    """``sqlite3`` on the event loop, autocommit, WAL (see the module docstring)."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self.compiled = _Compiler(dialect)
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA query_only=ON")
        return connection

    def _rows(self, compiled: Compiled, args: list[Any], many: bool) -> list[Any]:
        if self._connection is None:
            self._connection = self._connect()
        cursor = self._connection.execute(compiled.sql, args)
        return cursor.fetchall() if many else cursor.fetchmany(1)

    async def _retry(self, compiled: Compiled, args: list[Any], many: bool) -> list[Any]:
        """A read that failed: awaited retries while busy (others raise again); still
        busy after them: a 503 (D225)."""
        with as_unavailable():
            return await retry_when_busy(lambda: self._rows(compiled, args, many))

    # ``one`` and ``all`` do their work themselves, no shared coroutine under them: a
    # GetBalance is two reads, and a coroutine per read is a tenth of what one costs.
    async def one(self, statement: Statement, params: Mapping[str, Any]) -> Row | None:
        compiled = self.compiled.get(statement) or self.compiled(statement)
        args = compiled.args(params)
        try:
            raw = self._rows(compiled, args, False)
        except sqlite3.OperationalError:
            raw = await self._retry(compiled, args, False)
        return compiled.make(raw[0]) if raw else None

    async def all(self, statement: Statement, params: Mapping[str, Any]) -> list[Row]:
        compiled = self.compiled.get(statement) or self.compiled(statement)
        args = compiled.args(params)
        try:
            raw = self._rows(compiled, args, True)
        except sqlite3.OperationalError:
            raw = await self._retry(compiled, args, True)
        make = compiled.make
        return [make(r) for r in raw]

    def hold(self) -> AbstractAsyncContextManager[Reads]:
        return _Itself(self)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class AsyncpgReads:
    """Our own few asyncpg connections; statements prepared once per connection."""

    def __init__(self, dsn: str, dialect: Dialect, *, size: int = 4, name: str = "reads") -> None:
        self.dsn = dsn
        self.size = size
        self.name = name
        self.dialect = dialect
        self.compiled = _Compiler(dialect)
        self._json = getattr(dialect, "_json_deserializer", None) or json.loads
        self._idle: list[Any] = []
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._all: list[Any] = []
        self._opened = 0

    async def _open(self) -> Any:
        import asyncpg  # type: ignore[import-untyped]

        connection = await asyncpg.connect(
            self.dsn, server_settings={"application_name": self.name}
        )
        for kind in ("json", "jsonb"):
            await connection.set_type_codec(
                kind, encoder=json.dumps, decoder=self._json, schema="pg_catalog"
            )
        self._all.append(connection)
        return connection

    async def _acquire(self) -> Any:
        """An idle connection, a new one (up to ``size``), or the next one released, in
        the order of asking (a queue that lets late callers overtake waiting ones
        starves some requests for seconds under load)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or a new event loop (tests): start afresh
            self.close()
            self._loop = loop
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
            self._release(connection, True)  # the server ended it while idle (D227)
        if self._opened < self.size:
            self._opened += 1
            try:
                return await self._open()
            except BaseException:
                self._opened -= 1
                raise
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over, then cancelled
                self._release(waiter.result(), False)
            raise

    def _release(self, connection: Any, broken: bool) -> None:
        if broken or connection.is_closed():
            self._opened -= 1
            if connection in self._all:
                self._all.remove(connection)
            connection.terminate()
            self._wake_opener()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _wake_opener(self) -> None:
        """A connection was dropped: the first waiter opens a new one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(_Reopen())
                return

    async def _compile(self, statement: Statement, connection: Any) -> Compiled:
        compiled = self.compiled.get(statement)
        if compiled is None:  # first use: the result columns' type OIDs, from the server
            prepared = await connection.prepare(str(statement.compile(dialect=self.dialect)))
            oids = [attribute.type.oid for attribute in prepared.get_attributes()]
            compiled = self.compiled(statement, oids)
        return compiled

    def hold(self) -> AbstractAsyncContextManager[Reads]:
        """One connection for the block: a request's reads wait for a connection once."""
        return _Held(self)

    async def one(self, statement: Statement, params: Mapping[str, Any]) -> Row | None:
        async with _Held(self) as held:
            return await held.one(statement, params)

    async def all(self, statement: Statement, params: Mapping[str, Any]) -> list[Row]:
        async with _Held(self) as held:
            return await held.all(statement, params)

    def close(self) -> None:
        for connection in self._all:
            connection.terminate()
        self._all.clear()
        self._opened = 0
        self._idle = []
        self._waiters.clear()
        self._loop = None


class _Reopen(Exception):
    """Tells a waiter that a connection was dropped: ask again (and open one)."""


class _Held:
    """An asyncpg connection held for a block; released (or dropped, when a statement
    failed on it) when the block ends."""

    __slots__ = ("broken", "connection", "owner")

    def __init__(self, owner: AsyncpgReads) -> None:
        self.owner = owner
        self.connection: Any = None
        self.broken = False

    async def __aenter__(self) -> _Held:
        while True:
            try:
                self.connection = await self.owner._acquire()
                return self
            except _Reopen:
                continue
            except Exception as exc:  # the server away: DatabaseUnavailable, a 503 (D225)
                raise_if_unavailable(exc)
                raise

    async def __aexit__(self, *_exc: object) -> None:
        self.owner._release(self.connection, self.broken)

    async def _run(self, statement: Statement, params: Mapping[str, Any]) -> list[Row]:
        try:
            compiled = self.owner.compiled.get(statement) or await self.owner._compile(
                statement, self.connection
            )
            raw = await self.connection.fetch(compiled.sql, *compiled.args(params))
        except BaseException as exc:
            self.broken = True  # a failed or interrupted statement: not reused
            raise_if_unavailable(exc)
            raise
        return [compiled.make(r) for r in raw]

    async def one(self, statement: Statement, params: Mapping[str, Any]) -> Row | None:
        rows = await self._run(statement, params)
        return rows[0] if rows else None

    async def all(self, statement: Statement, params: Mapping[str, Any]) -> list[Row]:
        return await self._run(statement, params)


_BY_ENGINE: weakref.WeakKeyDictionary[Any, SqliteReads | AsyncpgReads] = weakref.WeakKeyDictionary()


def reads_for(engine: AsyncEngine, *, name: str = "mobileplans-reads") -> DriverReads:
    """The driver-level :class:`Reads` of ``engine`` (one per engine; closed on dispose).

    An in-memory SQLite database cannot be opened a second time, so it gets
    :class:`SessionReads`-like access through the engine instead.
    """
    key = engine.sync_engine
    found = _BY_ENGINE.get(key)
    if found is not None:
        return found
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return _EngineReads(engine)
        reads: SqliteReads | AsyncpgReads = SqliteReads(database, engine.dialect)
    else:
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        reads = AsyncpgReads(dsn, engine.dialect, name=name)
    _BY_ENGINE[key] = reads
    event.listen(key, "engine_disposed", lambda _engine: reads.close())
    return reads


class _EngineReads:
    """Fallback: each read in a short connection of the engine (in-memory SQLite)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def one(self, statement: Statement, params: Mapping[str, Any]) -> Row | None:
        async with self.engine.connect() as connection:
            return (await connection.execute(statement, dict(params))).first()

    async def all(self, statement: Statement, params: Mapping[str, Any]) -> list[Row]:
        async with self.engine.connect() as connection:
            return list((await connection.execute(statement, dict(params))).all())

    def hold(self) -> AbstractAsyncContextManager[Reads]:
        return _Itself(self)
