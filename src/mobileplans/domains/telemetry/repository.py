"""SQL of the telemetry domain (``purchase_telemetry``): Core statements, no ORM objects."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from mobileplans.db import driver
from mobileplans.db.driver_tx import Tx
from mobileplans.db.models import PurchaseTelemetry

_TABLE = cast(Table, PurchaseTelemetry.__table__)
_KEY = (_TABLE.c.transaction_id, _TABLE.c.callback)  # UNIQUE(transaction_id, callback)
_INSERT_NEW = {
    "sqlite": driver.insert_statement(_TABLE, sqlite.insert)
    .on_conflict_do_nothing(index_elements=_KEY)
    .returning(_TABLE.c.id),
    "postgresql": driver.insert_statement(_TABLE, postgresql.insert)
    .on_conflict_do_nothing(index_elements=_KEY)
    .returning(_TABLE.c.id),
}


async def insert_new(tx: Tx, values: dict[str, Any]) -> int | None:
    """Insert one report; its id, or None when the same ``transactionId`` and callback
    are already stored (one ``INSERT … ON CONFLICT DO NOTHING RETURNING id``), on the
    driver (``db.driver``, D297)."""
    found = await driver.rows(tx, _INSERT_NEW[driver.dialect_name(tx)], **values)
    return int(found[0][0]) if found else None
