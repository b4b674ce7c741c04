"""Short transactions on the driver itself, for a domain whose repository runs only
compiled Core statements (the SM-DP+'s flow; decisions D180, D295).

A :class:`DriverTransactions` is the driver kind of ``db.transactions.Steps``: each
``step()`` checks one connection out of the engine's pool (the same pool, pings and
disconnect handling as a session), hands the block a :class:`DriverTransaction`, and
commits when the block ends or rolls back if it raises. A statement is compiled once per
dialect (the SQL text, parameter order, bind and result processors SQLAlchemy itself
would use) and run straight on the driver:

- **SQLite** (``sqlite+mploop``): ``LoopConnection.statement``, one call per statement
  on the event loop, lock waits awaited (``db.sqlite_loop``); the driver begins the
  transaction at the first write, as it does under a session.
- **PostgreSQL** (``postgresql+asyncpg``): the asyncpg connection, ``BEGIN`` before the
  first statement, ``fetch``/``execute`` with asyncpg's prepared-statement cache.

What it saves against an ``AsyncSession`` per transaction (measured in
``docs/performance.md``, "Transaction layers" and "SM-DP+ flow"): the session, its
transaction objects and the greenlet hand-off around every statement. Listeners still
see every statement (``before_cursor_execute``), a ``begin`` at a step's first statement
and every ``commit``/``rollback``, so counters and probes keep counting; errors still reach
the caller as SQLAlchemy's (``IntegrityError`` for a duplicate key, ``connection_invalidated``
for a lost connection, which ``db.errors.is_unavailable`` reads).

Other drivers (aiosqlite, in CLI commands and the worker) have no driver kind:
:func:`driver_steps` gives them session steps, which the SM-DP+'s repository also runs.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Insert, Numeric, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from mobileplans.db.driver_kept import kept_connections
from mobileplans.db.transactions import Steps, Transactions, patiently

_DRIVERS = ("mploop", "asyncpg")


@dataclass(frozen=True, slots=True)
class Compiled:
    """One statement for one dialect: SQL text, parameters in positional order with
    their bind processors (and the defaults of binds the caller does not give, such as
    SQLite's ``OFFSET``), result processors; the same processors SQLAlchemy applies."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Any, ...]
    defaults: dict[str, Any]
    results: tuple[Any, ...]
    named: Any  # the row class: a named tuple of the columns' keys

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The driver's arguments. A bind the caller leaves out takes its statement's own
        value if it has one; a bind without one raises ``KeyError`` (never a silent NULL:
        a column default is the repository's to give, D297)."""
        values = [params[n] if n in params else self.defaults[n] for n in self.names]
        return [v if p is None else p(v) for v, p in zip(values, self.binds, strict=True)]

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        """A driver row, processed, as a named tuple (a tuple still: ``row[0]`` reads)."""
        row: tuple[Any, ...] = self.named._make(
            v if p is None else p(v) for v, p in zip(raw, self.results, strict=True)
        )
        return row


_COMPILED: dict[tuple[int, str, str], tuple[Any, Compiled]] = {}


def compiled(statement: Any, dialect: Dialect) -> Compiled:
    """``statement`` for this dialect, compiled once (kept with the statement it was made
    from: the key is its identity)."""
    key = (id(statement), dialect.name, dialect.driver)
    found = _COMPILED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    sql = statement.compile(dialect=dialect)
    names = tuple(sql.positiontup or ())
    binds = tuple(sql.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
    defaults = {n: sql.binds[n].value for n in names if not sql.binds[n].required}
    dml = isinstance(statement, Insert | Update)  # an INSERT/UPDATE: its RETURNING columns
    columns = list(statement.exported_columns if dml else statement.selected_columns)
    results = tuple(_result_processor(c.type, dialect) for c in columns)
    keys = [str(c.key) for c in columns]
    named = namedtuple("Row", keys, rename=True)  # type: ignore[misc]
    found_now = Compiled(sql.string, names, binds, defaults, results, named)
    _COMPILED[key] = (statement, found_now)
    return found_now


def _result_processor(column_type: Any, dialect: Dialect) -> Any:
    """The dialect's result processor of a column. asyncpg's numeric processors need the
    column's type code, which a statement compiled once has not; asyncpg itself returns
    ``float`` for a float column and ``Decimal`` for a numeric one, what they would give
    for the columns of our models (``Float`` is ``double precision``)."""
    if dialect.driver == "asyncpg" and isinstance(column_type, Float | Numeric):
        return None
    return column_type.dialect_impl(dialect).result_processor(dialect, None)


class DriverTransaction:
    """One transaction on one pooled driver connection; ``rows``/``change`` run the
    repository's statements in it. Made and ended by :meth:`DriverTransactions.step`."""

    __slots__ = (
        "_begun",
        "_dialect",
        "_dispatch",
        "_driver",
        "_later",
        "_pending",
        "_postgres",
        "_raw",
        "_renew",
    )

    def __init__(
        self,
        raw: PoolProxiedConnection,
        dialect: Dialect,
        dispatch: Any,
        renew: Callable[[], Awaitable[PoolProxiedConnection]] | None = None,
    ) -> None:
        self._raw = raw
        self._renew = renew  # a connection handed on (D298): how to replace it if lost
        self._dialect = dialect
        self._dispatch = dispatch
        self._driver: Any = raw.driver_connection
        self._postgres = dialect.driver == "asyncpg"
        self._pending: Any = None  # asyncpg's transaction, once begun
        self._later: dict[Any, list[Mapping[str, Any]]] = {}  # statement -> queued rows
        self._begun = False  # ``begin`` told to listeners (at the first statement)

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @property
    def connection(self) -> PoolProxiedConnection:
        """The pooled connection the transaction runs on."""
        return self._raw

    async def rows(self, statement: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run a SELECT (or an INSERT/UPDATE … RETURNING); its rows, processed, as named
        tuples."""
        found = compiled(statement, self._dialect)
        raw_rows, _count = await self._run(found, True, params)
        return [found.row(r) for r in raw_rows]

    async def change(self, statement: Any, params: Mapping[str, Any]) -> int:
        """Run an INSERT/UPDATE/DELETE; the number of rows it changed."""
        _rows, count = await self._run(compiled(statement, self._dialect), False, params)
        return count

    # ``one``/``all``: a DriverTransaction is a ``db.reads.Reads`` (named rows), so a
    # repository's reads run in it as they run through a session (``as_reads``).
    async def one(self, statement: Any, params: Mapping[str, Any]) -> Any:
        found = await self.rows(statement, params)
        return found[0] if found else None

    async def all(self, statement: Any, params: Mapping[str, Any]) -> list[Any]:
        return await self.rows(statement, params)

    def later(self, statement: Any, params: Mapping[str, Any]) -> None:
        """Queue one row of an ``INSERT`` without ``RETURNING``: each statement's queued
        rows are written in one ``executemany`` just before the commit (a rollback
        writes none). For rows nobody reads back in the transaction (a journal)."""
        self._later.setdefault(statement, []).append(params)

    async def _run(
        self, found: Compiled, fetch: bool, params: Mapping[str, Any]
    ) -> tuple[Sequence[Any], int]:
        return await self._send(found, fetch, found.args(params), False)

    async def _send(
        self, found: Compiled, fetch: bool, args: Any, many: bool
    ) -> tuple[Sequence[Any], int]:
        if not self._begun:
            self._begun = True
            if self._dispatch.begin:
                self._dispatch.begin(None)
        if self._dispatch.before_cursor_execute:
            self._dispatch.before_cursor_execute(None, None, found.sql, args, None, many)
        try:
            if not self._postgres:
                _description, got, count, _last = await self._driver.statement(
                    found.sql, args, many
                )
                return got or (), count
            if self._pending is None:
                await self._begin()
            if many:
                await self._driver.executemany(found.sql, args)
                return (), len(args)
            if fetch:
                return await self._driver.fetch(found.sql, *args), -1
            status: str = await self._driver.execute(found.sql, *args)
            return (), int(status.rsplit(" ", 1)[-1])
        except Exception as exc:
            raise self._translated(exc, found.sql, args) from exc

    async def _begin(self) -> None:
        """asyncpg: ``BEGIN`` before the first statement. A connection handed on from an
        earlier step (D298) was not pinged: if the server has gone since (a restart), it
        is found lost here, before anything ran, and the step goes on with a connection
        from the pool, which pings it at checkout (D225)."""
        try:
            pending = self._driver.transaction()
            await pending.start()
        except Exception as exc:
            renew, self._renew = self._renew, None
            error = self._translated(exc, "BEGIN", ())  # invalidates a lost connection
            if renew is None or not getattr(error, "connection_invalidated", False):
                raise error from exc
            self._raw = await renew()
            self._driver = self._raw.driver_connection
            pending = self._driver.transaction()
            await pending.start()
        self._renew = None
        self._pending = pending

    async def _write_later(self) -> None:
        queued, self._later = self._later, {}
        for statement, rows in queued.items():
            found = compiled(statement, self._dialect)
            await self._send(found, False, [found.args(r) for r in rows], True)

    def _translated(self, exc: Exception, sql: str | None, args: Any) -> Exception:
        """The driver's error as SQLAlchemy raises it: asyncpg's through SQLAlchemy's
        adaptation, then ``DBAPIError.instance`` (``IntegrityError`` …), noting a lost
        connection (which is then invalidated: the pool will not hand it out again)."""
        dbapi_error = self._dialect.loaded_dbapi.Error
        error: Exception = exc
        if not isinstance(exc, dbapi_error):
            try:
                self._raw.dbapi_connection._handle_exception(exc)  # type: ignore[union-attr]
            except dbapi_error as translated:
                error = translated
            except Exception:
                return exc
        lost = self._dialect.is_disconnect(error, self._raw.dbapi_connection, None)  # type: ignore[arg-type]
        if lost:
            self._raw.invalidate(error)
        return DBAPIError.instance(sql, args, error, dbapi_error, connection_invalidated=lost)

    async def _end(self, name: str) -> None:
        """``commit`` or ``rollback`` on the driver (on asyncpg, of the transaction begun)."""
        if not self._postgres:
            await getattr(self._driver, name)()
        elif self._pending is not None:
            pending, self._pending = self._pending, None
            await getattr(pending, name)()

    async def commit(self) -> None:
        if self._later:
            await self._write_later()
        try:
            await self._end("commit")
        except Exception as exc:
            raise self._translated(exc, None, None) from exc
        if self._dispatch.commit:
            self._dispatch.commit(None)

    async def rollback(self) -> None:
        """Roll back; a connection that cannot is invalidated (never reused), not raised
        over the error that caused the rollback."""
        self._later = {}
        if not self._raw.is_valid:  # lost with the error that brought us here
            self._pending = None
            return
        try:
            await self._end("rollback")
        except Exception as exc:
            self._raw.invalidate(exc)
        if self._dispatch.rollback:
            self._dispatch.rollback(None)


Tx = AsyncSession | DriverTransaction
"""What a driver-kind repository runs in: a :class:`DriverTransaction` (the request paths)
or a session (CLI commands, the worker's aiosqlite, tests)."""


class DriverTransactions(Steps[DriverTransaction]):
    """Short transactions on the driver (see the module's doc), from an engine whose
    driver has a driver kind (``has_driver_kind``)."""

    __slots__ = ("_engine", "_kept")

    def __init__(self, engine: AsyncEngine, *, patience: float = 0.0) -> None:
        super().__init__(patience=patience)
        self._engine = engine
        self._kept = kept_connections(engine)

    async def _checkout(self) -> PoolProxiedConnection:
        return await self._engine.raw_connection()

    @asynccontextmanager
    async def step(self) -> AsyncIterator[DriverTransaction]:
        """One transaction: committed when the block ends, rolled back if it raises.
        Its connection is one an earlier step handed on (D298), else the pool's; a step
        with ``patience`` always asks the pool, whose checkout it can wait for."""
        raw = self._kept.take() if self.patience <= 0 else None
        renew = None
        if raw is not None:
            renew = self._checkout  # a lost connection is found at the first statement
        elif self.patience > 0:
            raw = await patiently(self._checkout, self.patience)
        else:
            raw = await self._checkout()
        sync = self._engine.sync_engine
        transaction = DriverTransaction(raw, sync.dialect, sync.dispatch, renew)
        try:
            yield transaction
            await transaction.commit()
        except BaseException:
            await transaction.rollback()
            raise
        finally:
            raw = transaction.connection  # a lost one may have been renewed
            if not self._kept.keep(raw):
                await greenlet_spawn(raw.close)  # to the pool (its reset needs the greenlet)


def has_driver_kind(engine: AsyncEngine) -> bool:
    """Whether the engine's driver runs :class:`DriverTransactions`."""
    return engine.dialect.driver in _DRIVERS


def driver_steps(
    sessions: async_sessionmaker[AsyncSession], *, patience: float = 0.0
) -> DriverTransactions | Transactions:
    """The driver kind of steps for the session maker's engine where it has one, else
    session steps (``Transactions``)."""
    engine = sessions.kw["bind"]
    if isinstance(engine, AsyncEngine) and has_driver_kind(engine):
        return DriverTransactions(engine, patience=patience)
    return Transactions(sessions, patience=patience)
