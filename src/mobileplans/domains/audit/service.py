"""Record and read audit entries. Callers pass the session; the edge commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import AuditEntry
from mobileplans.domains.audit import repository
from mobileplans.domains.audit.schemas import AuditEntryRead


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Write one audit entry in the caller's transaction (so it commits with the change)."""
    repository.add(
        session,
        AuditEntry(
            at=now,
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
        ),
    )


async def list_entries(
    session: AsyncSession, *, entity_id: str | None = None, limit: int = 100
) -> list[AuditEntryRead]:
    rows = await repository.list_entries(session, entity_id=entity_id, limit=limit)
    return [
        AuditEntryRead(
            id=row.id,
            at=row.at.isoformat(),
            actor=row.actor,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            before=row.before,
            after=row.after,
        )
        for row in rows
    ]
