from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mobileplans.db.models import PortalLaunch
from mobileplans.db.reads import Reads, Row, as_reads
from mobileplans.db.sqlite_stamps import SqliteStamps

_COLUMNS = (
    "transaction_id",
    "created_at",
    "operator_id",
    "environment",
    "location",
    "market",
    "imei",
    "eid",
    "iccid",
    "iccids",
    "portal_url",
)
_SQLITE_INSERT = (
    f"INSERT INTO portal_launches ({', '.join(_COLUMNS)}) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_POSTGRES_INSERT = (
    f"INSERT INTO portal_launches ({', '.join(_COLUMNS)}) "  # noqa: S608 (fixed names)
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_COLUMNS) + 1))})"
)


async def insert_launches(connection: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """One executemany straight to the driver, in the caller's transaction.

    The batch writer stores thousands of rows a second; SQLAlchemy's per-row bind
    processing cost ~20 us a row, so the values are given in the driver's own form,
    exactly as the column types would have written them (UTC timestamps, JSON text).
    """
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql(_SQLITE_INSERT, _sqlite_params(rows))
    else:
        params = [_values(row, row["created_at"].astimezone(UTC)) for row in rows]
        await connection.exec_driver_sql(_POSTGRES_INSERT, params)


def insert_launches_sqlite(connection: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """The same on a plain ``sqlite3`` connection, inside the caller's transaction."""
    connection.executemany(_SQLITE_INSERT, _sqlite_params(rows))


def _sqlite_params(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    stamps = SqliteStamps()
    return [_values(row, stamps[row["created_at"]]) for row in rows]


def _values(row: dict[str, Any], created_at: Any) -> tuple[Any, ...]:
    return (
        row["transaction_id"],
        created_at,
        row["operator_id"],
        row["environment"],
        row["location"],
        row["market"],
        row["imei"],
        row["eid"],
        row["iccid"],
        json.dumps(row["iccids"]) if row["iccids"] else "[]",
        row["portal_url"],
    )


_LAUNCH_OPERATOR = select(PortalLaunch.operator_id).where(
    PortalLaunch.transaction_id == bindparam("transaction_id")
)


async def launch_operator(source: AsyncSession | Reads, transaction_id: str) -> Row | None:
    """``(operator_id,)`` of a recorded launch: a Core read, in a session or on the
    driver (a ``DriverTransaction`` is a ``Reads``)."""
    return await as_reads(source).one(_LAUNCH_OPERATOR, {"transaction_id": transaction_id})


async def delete_launches_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(
        delete(PortalLaunch)
        .where(PortalLaunch.created_at < cutoff)
        .returning(PortalLaunch.transaction_id)
    )
    return len(result.all())


async def recent_launches(
    session: AsyncSession, operator_id: str, limit: int
) -> list[PortalLaunch]:
    query = (
        select(PortalLaunch)
        .where(PortalLaunch.operator_id == operator_id)
        .order_by(PortalLaunch.created_at.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
