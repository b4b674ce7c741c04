"""SQL of the purchase domain: ``mo_orders``, ``mo_download_events``, ``mo_transaction_log``.

Reads of the order path are Core statements built once over the table's columns: rows of
column values (no ORM objects, no identity map), through the caller's session or, for a
read-only page, a driver-level :class:`mobileplans.db.reads.Reads`. Writes are Core
``INSERT``/``UPDATE`` statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db import driver
from mobileplans.db.driver_tx import Tx
from mobileplans.db.models import MoDownloadEvent, MoOrder, MoTransactionLog
from mobileplans.db.reads import Reads, Row, as_reads

_ORDERS = cast(Table, MoOrder.__table__)
_INSERT_ORDER = {
    "sqlite": driver.insert_statement(_ORDERS, sqlite.insert).on_conflict_do_nothing(),
    "postgresql": driver.insert_statement(_ORDERS, postgresql.insert).on_conflict_do_nothing(),
}


async def insert_order(tx: Tx, values: dict[str, Any]) -> bool:
    """Insert the order; ``False`` if its checkout key is taken (a double submit).

    One ``INSERT … ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL): a taken key inserts
    nothing and leaves the transaction usable, with no savepoint around it."""
    return await driver.change(tx, _INSERT_ORDER[driver.dialect_name(tx)], **values) == 1


_ORDER = select(_ORDERS).where(_ORDERS.c.id == bindparam("order_id"))
_ORDER_BY_KEY = select(_ORDERS).where(
    _ORDERS.c.operator_id == bindparam("operator_id"),
    _ORDERS.c.checkout_key == bindparam("checkout_key"),
)
_LATEST_FOR_ICCID = (
    select(MoOrder.id, MoOrder.transaction_id)
    .where(MoOrder.operator_id == bindparam("operator_id"), MoOrder.iccid == bindparam("iccid"))
    .order_by(MoOrder.created_at.desc(), MoOrder.id.desc())
    .limit(bindparam("limit"))  # named (SQLite adds OFFSET): the driver's reads bind by name
    .offset(bindparam("offset"))
)
"""Statements of the purchase path built once (their cache key and compiled form reused)."""


async def order(source: AsyncSession | Reads, order_id: str) -> Row | None:
    """The order's columns, as stored now."""
    return await as_reads(source).one(_ORDER, {"order_id": order_id})


async def order_by_key(
    source: AsyncSession | Reads, operator_id: str, checkout_key: str
) -> Row | None:
    values = {"operator_id": operator_id, "checkout_key": checkout_key}
    return await as_reads(source).one(_ORDER_BY_KEY, values)


async def latest_profile_order(
    session: AsyncSession, operator_id: str, iccid: str
) -> MoOrder | None:
    """The newest successful order that handed out an activation code for ``iccid``."""
    query = (
        select(MoOrder)
        .where(
            MoOrder.operator_id == operator_id,
            MoOrder.iccid == iccid,
            MoOrder.activation_code.is_not(None),
            MoOrder.status.in_(("fulfilled", "pending-release")),
        )
        .order_by(MoOrder.created_at.desc(), MoOrder.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).one_or_none()


async def latest_order_for_iccid(
    source: AsyncSession | Reads, operator_id: str, iccid: str
) -> Row | None:
    """``(id, transaction_id)`` of the newest order for ``iccid``."""
    values = {"operator_id": operator_id, "iccid": iccid, "limit": 1, "offset": 0}
    return await as_reads(source).one(_LATEST_FOR_ICCID, values)


_FIRST_RELEASE_DUE = select(func.min(MoOrder.release_due_at).label("due")).where(
    MoOrder.status == bindparam("status")
)


async def first_release_due(reads: Reads) -> datetime | None:
    """When the earliest delayed profile is due (None: no order waits for a release)."""
    row = await reads.one(_FIRST_RELEASE_DUE, {"status": "pending-release"})
    return row.due if row is not None else None


async def due_releases(session: AsyncSession, now: datetime, limit: int) -> list[MoOrder]:
    """Delayed profiles whose release is due; rows other workers hold are skipped."""
    query = (
        select(MoOrder)
        .where(MoOrder.status == "pending-release", MoOrder.release_due_at <= now)
        .order_by(MoOrder.release_due_at, MoOrder.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


_FIRST_RECONCILE_DUE = select(func.min(MoOrder.reconcile_due_at).label("due"))


async def first_reconcile_due(reads: Reads) -> datetime | None:
    """When the earliest lost-answer order is due for a replay (None: none waits, D245)."""
    row = await reads.one(_FIRST_RECONCILE_DUE, {})
    return row.due if row is not None else None


async def due_reconciles(session: AsyncSession, now: datetime, limit: int) -> list[MoOrder]:
    """Failed orders whose ``downloadOrder`` replay is due; rows other workers hold are
    skipped."""
    query = (
        select(MoOrder)
        .where(MoOrder.reconcile_due_at <= now)
        .order_by(MoOrder.reconcile_due_at, MoOrder.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def set_reconcile_due(
    session: AsyncSession, order_id: str, seen: datetime, due: datetime | None
) -> bool:
    """Move (or clear, ``None``) an order's replay time; CAS on the time this pass read."""
    result = await session.execute(
        update(MoOrder)
        .where(MoOrder.id == order_id, MoOrder.reconcile_due_at == seen)
        .values(reconcile_due_at=due)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


_UPDATE_ORDER: dict[frozenset[str], Update] = {}
"""``update_order``'s statement per set of columns it sets (a handful in all)."""


def _update_order_statement(columns: frozenset[str]) -> Update:
    statement = _UPDATE_ORDER.get(columns)
    if statement is None:
        statement = _UPDATE_ORDER[columns] = (
            update(_ORDERS)
            .where(
                _ORDERS.c.id == bindparam("order_id"),
                _ORDERS.c.status == bindparam("expect_status"),
            )
            .values({name: bindparam(name, type_=_ORDERS.c[name].type) for name in columns})
        )
    return statement


async def update_order(tx: Tx, order_id: str, *, expect_status: str, **values: Any) -> bool:
    """Compare-and-set on the status: ``False`` if another writer moved the order first."""
    statement = _update_order_statement(frozenset(values))
    changed = await driver.change(
        tx, statement, order_id=order_id, expect_status=expect_status, **values
    )
    return changed == 1


_TAKE_OVER = (
    update(_ORDERS)
    .where(
        _ORDERS.c.id == bindparam("order_id"),
        _ORDERS.c.status == "placed",
        _ORDERS.c.updated_at == bindparam("seen"),
    )
    .values(updated_at=bindparam("now"))
)


async def take_over(tx: Tx, order_id: str, seen: datetime, now: datetime) -> bool:
    """Claim a stale ``placed`` order (its driver died): CAS on ``updated_at``."""
    return await driver.change(tx, _TAKE_OVER, order_id=order_id, seen=seen, now=now) == 1


_LOG = cast(Table, MoTransactionLog.__table__)
_LOG_ADD = insert(_LOG).values(
    {name: bindparam(name) for name in ("operator_id", "transaction_id", "event", "detail", "at")}
)  # the journal's rows at commit, on the driver (D296): journal.log gives these five keys


def add_log(tx: Tx, values: dict[str, Any]) -> None:
    """Queue one ``mo_transaction_log`` row; the transaction's rows are written together,
    in one ``executemany`` just before it commits, or before a read of the log in the
    same session (``db.driver.later``). A transaction rolled back writes none of them."""
    driver.later(tx, _LOG_ADD, values)


async def log_entries(
    session: AsyncSession, operator_id: str, transaction_id: str
) -> list[MoTransactionLog]:
    await session.run_sync(driver.write_later)
    query = (
        select(MoTransactionLog)
        .where(
            MoTransactionLog.operator_id == operator_id,
            MoTransactionLog.transaction_id == transaction_id,
        )
        .order_by(MoTransactionLog.id)
    )
    return list((await session.scalars(query)).all())


_DOWNLOAD_EVENTS = cast(Table, MoDownloadEvent.__table__)
_ADD_DOWNLOAD_EVENT = driver.insert_statement(_DOWNLOAD_EVENTS)


async def add_download_event(tx: Tx, values: dict[str, Any]) -> None:
    """One ``INSERT`` on the driver (no ORM object, no unit of work)."""
    await driver.change(tx, _ADD_DOWNLOAD_EVENT, **values)


async def download_events(
    session: AsyncSession, operator_id: str, iccid: str
) -> list[MoDownloadEvent]:
    query = (
        select(MoDownloadEvent)
        .where(MoDownloadEvent.operator_id == operator_id, MoDownloadEvent.iccid == iccid)
        .order_by(MoDownloadEvent.id)
    )
    return list((await session.scalars(query)).all())
