"""SQL of the telemetry domain (``purchase_telemetry``): Core statements, no ORM objects."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import PurchaseTelemetry

_TABLE = cast(Table, PurchaseTelemetry.__table__)
_KEY = (_TABLE.c.transaction_id, _TABLE.c.callback)  # UNIQUE(transaction_id, callback)
_INSERT_NEW = {
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=_KEY),
    "postgresql": postgresql.insert(_TABLE).on_conflict_do_nothing(index_elements=_KEY),
}


async def insert_new(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert one report; its id, or None when the same ``transactionId`` and callback
    are already stored (one ``INSERT … ON CONFLICT DO NOTHING RETURNING id``)."""
    statement = _INSERT_NEW[session.get_bind().dialect.name].returning(_TABLE.c.id)
    row = (await session.execute(statement, values)).first()
    return int(row.id) if row is not None else None
