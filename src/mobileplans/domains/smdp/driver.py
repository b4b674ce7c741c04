"""Statements of ``repository.py`` run on the driver connection of the edge's transaction
(decision D180): compiled once per dialect, executed with the driver's cursor the way
SQLAlchemy's execution would (the same SQL text, bind and result processors, cursor
calls), without an ORM session's identity map, unit of work or result objects. Only
``repository.py`` uses it; the SQL itself lives there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Insert, Update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement for one dialect: SQL text, parameters in positional order with
    their bind processors (and the defaults of binds the caller does not give, such as
    SQLite's ``OFFSET``), result processors; the same processors SQLAlchemy applies."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Any, ...]
    defaults: dict[str, Any]
    results: tuple[Any, ...]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        values = [params[n] if n in params else self.defaults[n] for n in self.names]
        return [v if p is None else p(v) for v, p in zip(values, self.binds, strict=True)]

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v if p is None else p(v) for v, p in zip(raw, self.results, strict=True))


_COMPILED: dict[tuple[int, str, str], tuple[Any, _Compiled]] = {}


def _compiled(statement: Any, dialect: Dialect) -> _Compiled:
    """``statement`` for this dialect, compiled once (kept with the statement it was made
    from: the key is its identity)."""
    key = (id(statement), dialect.name, dialect.driver)
    found = _COMPILED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    sql = statement.compile(dialect=dialect)
    names = tuple(sql.positiontup or ())
    binds = tuple(sql.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
    defaults = {n: sql.binds[n].value for n in names}
    dml = isinstance(statement, Insert | Update)  # an INSERT/UPDATE: its RETURNING columns
    columns = list(statement.exported_columns if dml else statement.selected_columns)
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    compiled = _Compiled(sql.string, names, binds, defaults, results)
    _COMPILED[key] = (statement, compiled)
    return compiled


_CONNECTION: Final = "smdp.connection"


def _connection(sync_session: Session) -> Connection:
    """The connection of the session's transaction (begun if needed), looked up once per
    transaction: kept in ``session.info`` with the transaction it belongs to."""
    transaction = sync_session.get_transaction()
    cached = sync_session.info.get(_CONNECTION)
    if cached is not None and transaction is not None and cached[0] is transaction:
        if transaction.is_active:
            connection: Connection = cached[1]
            return connection
    connection = sync_session.connection()
    sync_session.info[_CONNECTION] = (sync_session.get_transaction(), connection)
    return connection


def _on_driver(
    sync_session: Session, statement: Any, params: Mapping[str, Any], fetch: bool
) -> Any:
    """Run ``statement`` on the session's connection (its transaction, begun if needed),
    the way SQLAlchemy's execution would: the same SQL, processors and cursor calls, with
    ``before_cursor_execute`` fired for listeners that count statements. Driver errors are
    raised as SQLAlchemy's (``IntegrityError`` for a duplicate key)."""
    connection = _connection(sync_session)
    dialect = connection.dialect
    compiled = _compiled(statement, dialect)
    args = compiled.args(params)
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    connection.dispatch.before_cursor_execute(connection, cursor, compiled.sql, args, None, False)
    try:
        cursor.execute(compiled.sql, args)
        result = [compiled.row(r) for r in cursor.fetchall()] if fetch else cursor.rowcount
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            compiled.sql, args, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost
        ) from exc
    finally:
        cursor.close()
    return result


async def rows(session: AsyncSession, statement: Any, **params: Any) -> list[Any]:
    """Run a SELECT (or an INSERT/UPDATE … RETURNING); its rows, as processed tuples."""
    rows: list[Any] = await session.run_sync(_on_driver, statement, params, True)
    return rows


async def change(session: AsyncSession, statement: Any, **params: Any) -> int:
    """Run an INSERT/UPDATE; the number of rows it changed."""
    count: int = await session.run_sync(_on_driver, statement, params, False)
    return count
