"""A repository's Core statements run on the driver (decisions D180, D295, D296): compiled
once per dialect and executed the way SQLAlchemy's execution would (the same SQL text, bind
and result processors), without an ORM session's identity map, unit of work or result
objects.

The edge's transaction is either the driver kind (``db.driver_tx.DriverTransaction``: the
SM-DP+'s routes and callback sender on ``sqlite+mploop`` and asyncpg) or a session (CLI
commands, the worker's aiosqlite, tests, and every other domain); on a session the
statement runs on the driver connection of the session's transaction
(:func:`on_session`). Only ``repository.py`` modules use this module; the SQL itself lives
there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar, cast, overload

from sqlalchemy import Insert, Table, bindparam, event, insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction

from mobileplans.db.driver_tx import DriverTransaction, Tx, compiled

InsertT = TypeVar("InsertT", bound=Insert)
_CONNECTION: Final = "mobileplans.driver.connection"
_LATER: Final = "mobileplans.driver.later"
"""``session.info`` key: rows queued by :func:`later`, by statement, not yet written."""


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


def on_session(
    sync_session: Session,
    statement: Any,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    fetch: bool,
    many: bool = False,
) -> Any:
    """Run ``statement`` on the session's connection (its transaction, begun if needed),
    the way SQLAlchemy's execution would: the same SQL, processors and cursor calls, with
    ``before_cursor_execute`` fired for listeners that count statements. ``many``: one
    ``executemany`` of every mapping in ``params``. Driver errors are raised as
    SQLAlchemy's (``IntegrityError`` for a duplicate key). Runs in SQLAlchemy's greenlet:
    from a sync session event, or through ``AsyncSession.run_sync``."""
    connection = _connection(sync_session)
    dialect = connection.dialect
    found = compiled(statement, dialect)
    if many:
        args: Any = [found.args(p) for p in cast(Sequence[Mapping[str, Any]], params)]
    else:
        args = found.args(cast(Mapping[str, Any], params))
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    connection.dispatch.before_cursor_execute(connection, cursor, found.sql, args, None, many)
    try:
        if many:
            cursor.executemany(found.sql, args)
        else:
            cursor.execute(found.sql, args)
        result = [found.row(r) for r in cursor.fetchall()] if fetch else cursor.rowcount
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            found.sql, args, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost
        ) from exc
    finally:
        cursor.close()
    return result


async def rows(tx: Tx, statement: Any, **params: Any) -> list[Any]:
    """Run a SELECT (or an INSERT/UPDATE … RETURNING); its rows, processed, as named tuples."""
    if isinstance(tx, DriverTransaction):
        return await tx.rows(statement, params)
    found: list[Any] = await tx.run_sync(on_session, statement, params, True)
    return found


async def change(tx: Tx, statement: Any, **params: Any) -> int:
    """Run an INSERT/UPDATE; the number of rows it changed."""
    if isinstance(tx, DriverTransaction):
        return await tx.change(statement, params)
    count: int = await tx.run_sync(on_session, statement, params, False)
    return count


def later(tx: Tx, statement: Any, values: Mapping[str, Any]) -> None:
    """Queue one row of an ``INSERT`` (no ``RETURNING``) in the transaction: each
    statement's queued rows are written in one ``executemany`` just before it commits,
    or earlier by :func:`write_later` (before a read of them in the same transaction).
    A transaction rolled back or closed without a commit writes none of them; a
    savepoint leaves them queued. For rows nobody reads back: a journal (D296, D297)."""
    if isinstance(tx, DriverTransaction):
        tx.later(statement, values)
        return
    queued: dict[Any, list[Mapping[str, Any]]] = tx.sync_session.info.setdefault(_LATER, {})
    queued.setdefault(statement, []).append(values)


@event.listens_for(Session, "before_commit")
def write_later(session: Session) -> None:
    """The session's queued rows, one executemany per statement on the driver."""
    queued: dict[Any, list[Mapping[str, Any]]] | None = session.info.pop(_LATER, None)
    for statement, rows in (queued or {}).items():
        on_session(session, statement, rows, False, many=True)


@event.listens_for(Session, "after_transaction_end")
def _drop_later(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the transaction ended without a commit (or after one)
        session.info.pop(_LATER, None)


@overload
def insert_statement(table: Table) -> Insert: ...
@overload
def insert_statement(table: Table, make: Callable[[Table], InsertT]) -> InsertT: ...
def insert_statement(table: Table, make: Callable[[Table], Any] = insert) -> Any:
    """An ``INSERT`` of every column but the autoincrement key, each a named bind that
    carries the column's default: its scalar ``default``, else NULL for a nullable column
    with no default at all. A column without such a value (not nullable, or a callable or
    server default) is required: a row that leaves it out raises ``KeyError``, never a
    silent NULL (D297). ``make``: the dialect's ``insert`` (``ON CONFLICT``)."""
    binds: dict[str, Any] = {}
    for column in table.columns:
        if column is table.autoincrement_column:
            continue
        default, name = column.default, column.name
        if default is not None and default.is_scalar:
            binds[name] = bindparam(name, cast(Any, default).arg, type_=column.type)
        elif default is None and column.server_default is None and column.nullable:
            binds[name] = bindparam(name, None, type_=column.type)
        else:
            binds[name] = bindparam(name, type_=column.type, required=True)
    return make(table).values(binds)


def dialect_name(tx: Tx) -> str:
    """``sqlite`` or ``postgresql``: the dialect the transaction runs on."""
    if isinstance(tx, DriverTransaction):
        return tx.dialect.name
    return tx.get_bind().dialect.name
