from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import AuditEntry


def add(session: AsyncSession, entry: AuditEntry) -> None:
    session.add(entry)


async def list_entries(
    session: AsyncSession, *, entity_id: str | None, limit: int
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list((await session.scalars(query)).all())
