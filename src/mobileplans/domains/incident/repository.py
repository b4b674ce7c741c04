"""SQL of incidents, their timeline and clocks. Only this module touches those tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import (
    Incident,
    IncidentCallTask,
    IncidentClock,
    IncidentEvent,
    OperatorOpsSettings,
)


async def get(session: AsyncSession, incident_id: int) -> Incident | None:
    return await session.get(Incident, incident_id)


async def get_open(session: AsyncSession, open_key: str) -> Incident | None:
    return await session.scalar(select(Incident).where(Incident.open_key == open_key))


async def open_incidents(session: AsyncSession, *, source: str | None = None) -> list[Incident]:
    query = select(Incident).where(Incident.open_key.is_not(None)).order_by(Incident.id)
    if source is not None:
        query = query.where(Incident.source == source)
    return list((await session.scalars(query)).all())


async def insert_unique(session: AsyncSession, incident: Incident) -> bool:
    """Insert; False if another open incident holds the same ``open_key`` (a race lost)."""
    try:
        async with session.begin_nested():
            session.add(incident)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def list_incidents(
    session: AsyncSession,
    *,
    operator_id: str | None,
    include_global: bool,
    status: str | None,
    open_only: bool,
    limit: int,
) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if operator_id is not None:
        if include_global:
            query = query.where(
                (Incident.operator_id == operator_id) | (Incident.operator_id.is_(None))
            )
        else:
            query = query.where(Incident.operator_id == operator_id)
    if status is not None:
        query = query.where(Incident.status == status)
    if open_only:
        query = query.where(Incident.open_key.is_not(None))
    return list((await session.scalars(query)).all())


async def children(session: AsyncSession, parent_id: int) -> list[Incident]:
    query = select(Incident).where(Incident.parent_id == parent_id).order_by(Incident.id)
    return list((await session.scalars(query)).all())


def add_event(session: AsyncSession, event: IncidentEvent) -> None:
    session.add(event)


async def events(session: AsyncSession, incident_id: int) -> list[IncidentEvent]:
    query = (
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    return list((await session.scalars(query)).all())


def add_clock(session: AsyncSession, clock: IncidentClock) -> None:
    session.add(clock)


async def clocks(session: AsyncSession, incident_id: int) -> list[IncidentClock]:
    query = (
        select(IncidentClock)
        .where(IncidentClock.incident_id == incident_id)
        .order_by(IncidentClock.id)
    )
    return list((await session.scalars(query)).all())


async def open_clocks(
    session: AsyncSession, incident_id: int, kinds: Sequence[str]
) -> list[IncidentClock]:
    query = select(IncidentClock).where(
        IncidentClock.incident_id == incident_id,
        IncidentClock.closed.is_(False),
        IncidentClock.clock.in_(list(kinds)),
    )
    return list((await session.scalars(query)).all())


async def reminders_due(session: AsyncSession, now: datetime, limit: int) -> list[IncidentClock]:
    query = (
        select(IncidentClock)
        .where(
            IncidentClock.closed.is_(False),
            IncidentClock.reminded_at.is_(None),
            IncidentClock.breached_at.is_(None),
            IncidentClock.remind_at <= now,
        )
        .order_by(IncidentClock.remind_at)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def breaches_due(session: AsyncSession, now: datetime, limit: int) -> list[IncidentClock]:
    query = (
        select(IncidentClock)
        .where(
            IncidentClock.closed.is_(False),
            IncidentClock.breached_at.is_(None),
            IncidentClock.due_at <= now,
        )
        .order_by(IncidentClock.due_at)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def mark_clock(session: AsyncSession, clock_id: int, column: str, now: datetime) -> bool:
    """Compare-and-set ``column`` (reminded_at or breached_at) from NULL to ``now``; True
    if this caller set it (so exactly one worker acts on it)."""
    target = getattr(IncidentClock, column)
    result: Any = await session.execute(
        update(IncidentClock)
        .where(IncidentClock.id == clock_id, target.is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def breach_counts(
    session: AsyncSession, start: datetime, end: datetime, operator_id: str | None
) -> list[tuple[str | None, str, str, int]]:
    """``(operator_id, clock, owner, breaches)`` for breaches in ``[start, end)``."""
    query = (
        select(Incident.operator_id, IncidentClock.clock, IncidentClock.owner, func.count())
        .join(Incident, Incident.id == IncidentClock.incident_id)
        .where(IncidentClock.breached_at >= start, IncidentClock.breached_at < end)
        .group_by(Incident.operator_id, IncidentClock.clock, IncidentClock.owner)
    )
    if operator_id is not None:
        query = query.where(Incident.operator_id == operator_id)
    return [(r[0], r[1], r[2], int(r[3])) for r in (await session.execute(query)).all()]


async def ops_settings(session: AsyncSession, operator_id: str) -> OperatorOpsSettings | None:
    return await session.get(OperatorOpsSettings, operator_id)


async def all_ops_settings(session: AsyncSession) -> dict[str, OperatorOpsSettings]:
    rows = (await session.scalars(select(OperatorOpsSettings))).all()
    return {r.operator_id: r for r in rows}


async def ops_settings_fingerprint(session: AsyncSession) -> tuple[int, datetime | None]:
    """Row count and latest change of the operations settings (a cache key)."""
    query = select(func.count(), func.max(OperatorOpsSettings.updated_at))
    count, latest = (await session.execute(query)).one()
    return int(count), latest


async def insert_call_task(session: AsyncSession, task: IncidentCallTask) -> bool:
    """Insert; False if the incident already has an open task of that purpose."""
    try:
        async with session.begin_nested():
            session.add(task)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def call_task(session: AsyncSession, task_id: int) -> IncidentCallTask | None:
    return await session.get(IncidentCallTask, task_id)


async def call_tasks(
    session: AsyncSession, incident_id: int, *, open_only: bool = False
) -> list[IncidentCallTask]:
    query = select(IncidentCallTask).where(IncidentCallTask.incident_id == incident_id)
    if open_only:
        query = query.where(IncidentCallTask.open_key.is_not(None))
    return list((await session.scalars(query.order_by(IncidentCallTask.id))).all())


async def open_call_tasks_of(
    session: AsyncSession, caller: str | None, operator_id: str | None
) -> list[IncidentCallTask]:
    """Open tasks ``caller`` owes (None: any side), on ``operator_id``'s incidents (None: all)."""
    query = (
        select(IncidentCallTask)
        .join(Incident, Incident.id == IncidentCallTask.incident_id)
        .where(IncidentCallTask.open_key.is_not(None))
        .order_by(IncidentCallTask.opened_at, IncidentCallTask.id)
    )
    if caller is not None:
        query = query.where(IncidentCallTask.caller == caller)
    if operator_id is not None:
        query = query.where(Incident.operator_id == operator_id)
    return list((await session.scalars(query)).all())
