"""SQL of the purchase domain: ``mo_orders``, ``mo_download_events``, ``mo_transaction_log``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from mobileplans.db.models import MoDownloadEvent, MoOrder, MoTransactionLog


async def insert_order(session: AsyncSession, row: MoOrder) -> bool:
    """Insert under a savepoint; ``False`` if the checkout key is taken (a double submit)."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


_FRESH = {"populate_existing": True}
_ORDER = select(MoOrder).where(MoOrder.id == bindparam("order_id"))
_LATEST_FOR_ICCID = (
    select(MoOrder)
    .where(MoOrder.operator_id == bindparam("operator_id"), MoOrder.iccid == bindparam("iccid"))
    .order_by(MoOrder.created_at.desc(), MoOrder.id.desc())
    .limit(1)
)
"""Statements of the purchase path built once (their cache key and compiled form reused)."""


async def order(session: AsyncSession, order_id: str) -> MoOrder | None:
    """The order, freshly read (``populate_existing``: a loaded row is refreshed)."""
    rows = await session.scalars(_ORDER, {"order_id": order_id}, execution_options=_FRESH)
    return rows.one_or_none()


async def order_by_key(
    session: AsyncSession, operator_id: str, checkout_key: str
) -> MoOrder | None:
    query = select(MoOrder).where(
        MoOrder.operator_id == operator_id, MoOrder.checkout_key == checkout_key
    )
    return (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()


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
    session: AsyncSession, operator_id: str, iccid: str
) -> MoOrder | None:
    values = {"operator_id": operator_id, "iccid": iccid}
    return (await session.scalars(_LATEST_FOR_ICCID, values)).one_or_none()


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


async def update_order(
    session: AsyncSession, order_id: str, *, expect_status: str, **values: Any
) -> bool:
    """Compare-and-set on the status: ``False`` if another writer moved the order first."""
    result = await session.execute(
        update(MoOrder)
        .where(MoOrder.id == order_id, MoOrder.status == expect_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def take_over(session: AsyncSession, order_id: str, seen: datetime, now: datetime) -> bool:
    """Claim a stale ``placed`` order (its driver died): CAS on ``updated_at``."""
    result = await session.execute(
        update(MoOrder)
        .where(MoOrder.id == order_id, MoOrder.status == "placed", MoOrder.updated_at == seen)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


_PENDING_LOG = "mobileplans.purchase.pending_log"
"""``session.info`` key: transaction-log rows of the open transaction, not yet written."""
_LOG = cast(Table, MoTransactionLog.__table__)


def add_log(session: AsyncSession, values: dict[str, Any]) -> None:
    """Queue one ``mo_transaction_log`` row; the transaction's rows are written together,
    in one ``executemany`` just before it commits (:func:`_write_pending_log`), or before
    a read of the log in the same session. A transaction rolled back or closed without a
    commit writes none of them (as with an ORM ``add``); a savepoint leaves them queued."""
    session.sync_session.info.setdefault(_PENDING_LOG, []).append(values)


def _pending(session: Session) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = session.info.pop(_PENDING_LOG, None) or []
    return rows


@event.listens_for(Session, "before_commit")
def _write_pending_log(session: Session) -> None:
    rows = _pending(session)
    if rows:  # one INSERT … VALUES executemany (no RETURNING: nobody reads the ids back)
        session.execute(insert(_LOG), rows)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending_log(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the transaction ended without a commit (or after one)
        session.info.pop(_PENDING_LOG, None)


async def log_entries(
    session: AsyncSession, operator_id: str, transaction_id: str
) -> list[MoTransactionLog]:
    rows = _pending(session.sync_session)
    if rows:
        await session.execute(insert(_LOG), rows)
    query = (
        select(MoTransactionLog)
        .where(
            MoTransactionLog.operator_id == operator_id,
            MoTransactionLog.transaction_id == transaction_id,
        )
        .order_by(MoTransactionLog.id)
    )
    return list((await session.scalars(query)).all())


def add_download_event(session: AsyncSession, row: MoDownloadEvent) -> None:
    session.add(row)


async def download_events(
    session: AsyncSession, operator_id: str, iccid: str
) -> list[MoDownloadEvent]:
    query = (
        select(MoDownloadEvent)
        .where(MoDownloadEvent.operator_id == operator_id, MoDownloadEvent.iccid == iccid)
        .order_by(MoDownloadEvent.id)
    )
    return list((await session.scalars(query)).all())
