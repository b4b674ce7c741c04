from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import BalanceLookup

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
_POSTGRES_INSERT = (
    "INSERT INTO balance_lookups (at, operator_id, environment, iccid, ms_transaction_id, "
    "outcome, status_code, latency_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's DateTime stores on SQLite


async def insert_lookups(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One executemany straight to the driver (about a thousand rows a second at full load;
    the ORM's unit of work cost ~90 us a row), values in the column types' stored form."""
    connection = await session.connection()
    sqlite = connection.dialect.name == "sqlite"
    params = [
        (
            row["at"].astimezone(UTC).strftime(_SQLITE_DATETIME)
            if sqlite
            else row["at"].astimezone(UTC),
            *(row[name] for name in _COLUMNS[1:]),
        )
        for row in rows
    ]
    await connection.exec_driver_sql(_SQLITE_INSERT if sqlite else _POSTGRES_INSERT, params)


async def lookups_since(session: AsyncSession, since: datetime) -> list[BalanceLookup]:
    query = select(BalanceLookup).where(BalanceLookup.at >= since).order_by(BalanceLookup.id)
    return list((await session.scalars(query)).all())
