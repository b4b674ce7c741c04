"""SQL of maintenance notices: windows due a reminder or a completion notice, the
compare-and-set that sends each once, late-notice counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MaintenanceWindow

M = MaintenanceWindow
SentColumn = Literal["reminder_sent_at", "completion_sent_at"]


async def due_reminders(
    session: AsyncSession, now: datetime, before: timedelta
) -> Sequence[MaintenanceWindow]:
    """Live windows starting within ``before`` from now whose reminder has not gone out."""
    query = (
        select(M)
        .where(
            M.cancelled_at.is_(None),
            M.reminder_sent_at.is_(None),
            M.starts_at > now,
            M.starts_at <= now + before,
        )
        .order_by(M.starts_at, M.id)
    )
    return (await session.scalars(query)).all()


async def due_completions(
    session: AsyncSession, now: datetime, lookback: timedelta
) -> Sequence[MaintenanceWindow]:
    """Live windows that ended (within ``lookback``) without a completion notice."""
    query = (
        select(M)
        .where(
            M.cancelled_at.is_(None),
            M.completion_sent_at.is_(None),
            M.ends_at <= now,
            M.ends_at > now - lookback,
        )
        .order_by(M.ends_at, M.id)
    )
    return (await session.scalars(query)).all()


async def claim(session: AsyncSession, window_id: int, column: SentColumn, now: datetime) -> bool:
    """Set ``column`` to ``now`` if it is still empty (and the window not cancelled).

    True for exactly one caller: a second worker's identical update waits on the row lock
    (PostgreSQL) or the write lock (SQLite), then matches no row.
    """
    target = getattr(M, column)
    statement = (
        update(M)
        .where(M.id == window_id, target.is_(None), M.cancelled_at.is_(None))
        .values({column: now})
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def late_notice_counts(
    session: AsyncSession, start: datetime, end: datetime, operator_id: str | None
) -> list[tuple[str, str, int, int]]:
    """``(operator_id, side, windows, late)`` of uncancelled windows starting in the period."""
    late = func.sum(case((M.late_notice.is_(True), 1), else_=0))
    query = (
        select(M.operator_id, M.side, func.count(), late)
        .where(M.cancelled_at.is_(None), M.starts_at >= start, M.starts_at < end)
        .group_by(M.operator_id, M.side)
        .order_by(M.operator_id, M.side)
    )
    if operator_id is not None:
        query = query.where(M.operator_id == operator_id)
    rows = (await session.execute(query)).all()
    return [(str(o), str(s), int(n), int(late or 0)) for o, s, n, late in rows]
