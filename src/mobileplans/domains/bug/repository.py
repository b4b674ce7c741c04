"""SQL of the bug workflow: bugs and their event timeline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import Bug, BugEvent


async def add(session: AsyncSession, bug: Bug) -> None:
    session.add(bug)
    await session.flush()


async def get(session: AsyncSession, bug_id: int, *, lock: bool = False) -> Bug | None:
    """The bug; with ``lock`` its row is locked until the transaction ends (PostgreSQL), so
    two concurrent transitions of one bug run one after the other."""
    query = select(Bug).where(Bug.id == bug_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).one_or_none()


async def list_bugs(
    session: AsyncSession, *, operator_id: str | None, status: str | None
) -> Sequence[Bug]:
    query = select(Bug).order_by(Bug.id.desc())
    if operator_id is not None:
        query = query.where(Bug.operator_id == operator_id)
    if status is not None:
        query = query.where(Bug.status == status)
    return (await session.scalars(query)).all()


async def add_event(session: AsyncSession, event: BugEvent) -> None:
    session.add(event)
    await session.flush()


async def events(session: AsyncSession, bug_id: int) -> Sequence[BugEvent]:
    query = select(BugEvent).where(BugEvent.bug_id == bug_id).order_by(BugEvent.id)
    return (await session.scalars(query)).all()


async def count_events(session: AsyncSession, bug_id: int, kind: str) -> int:
    query = select(func.count()).where(BugEvent.bug_id == bug_id, BugEvent.kind == kind)
    return int(await session.scalar(query) or 0)
