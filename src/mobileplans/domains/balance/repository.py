from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mobileplans.db.models import BalanceLookup
from mobileplans.db.sqlite_stamps import SqliteStamps
from mobileplans.domains.balance.schemas import LookupRecord

_COLUMNS = (
    "at",
    "operator_id",
    "environment",
    "iccid",
    "ms_transaction_id",
    "outcome",
    "status_code",
    "latency_ms",
)
_SQLITE_INSERT = (
    "INSERT INTO balance_lookups (at, operator_id, environment, iccid, ms_transaction_id, "
    "outcome, status_code, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


async def insert_lookups(session: AsyncSession, rows: list[LookupRecord]) -> None:
    """About a thousand rows a second at full load, straight to the driver (the ORM's unit
    of work cost ~90 us a row), values in the column types' stored form: on SQLite one
    executemany; on PostgreSQL one ``COPY`` (decision D193: per 1,000 rows 1.9 ms of the
    broker's CPU and 5.3 ms of the server's, against 2.8 and 8.7 ms for an executemany of
    INSERTs). One statement either way: the batch is stored whole or not at all."""
    if rows:
        await insert_lookups_on(await session.connection(), rows)


async def insert_lookups_on(connection: AsyncConnection, rows: list[LookupRecord]) -> None:
    """The same on a connection the caller holds (in a transaction or in autocommit: the
    one statement is atomic either way)."""
    if connection.dialect.name != "sqlite":
        raw = await connection.get_raw_connection()
        records = [(row[0].astimezone(UTC), *row[1:]) for row in rows]  # UTC: as is
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table("balance_lookups", records=records, columns=_COLUMNS)
        return
    await connection.exec_driver_sql(_SQLITE_INSERT, _sqlite_params(rows))


def insert_lookups_sqlite(connection: sqlite3.Connection, rows: list[LookupRecord]) -> None:
    """The same on a plain ``sqlite3`` connection, inside the caller's transaction."""
    connection.executemany(_SQLITE_INSERT, _sqlite_params(rows))


def _sqlite_params(rows: list[LookupRecord]) -> list[tuple[Any, ...]]:
    """Rows in SQLite's stored form."""
    stamps = SqliteStamps()
    return [(stamps[row[0]], *row[1:]) for row in rows]


async def lookups_since(session: AsyncSession, since: datetime) -> list[BalanceLookup]:
    query = select(BalanceLookup).where(BalanceLookup.at >= since).order_by(BalanceLookup.id)
    return list((await session.scalars(query)).all())
