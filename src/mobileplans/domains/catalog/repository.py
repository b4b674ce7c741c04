from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import PortalLaunch

_INSERT = insert(PortalLaunch.__table__)  # type: ignore[arg-type]


async def insert_launches(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One executemany of plain column values (no ORM unit of work per row)."""
    await session.execute(_INSERT, rows)


async def get_launch(session: AsyncSession, transaction_id: str) -> PortalLaunch | None:
    return await session.get(PortalLaunch, transaction_id)


async def delete_launches_before(session: AsyncSession, cutoff: datetime) -> int:
    result = await session.execute(
        delete(PortalLaunch)
        .where(PortalLaunch.created_at < cutoff)
        .returning(PortalLaunch.transaction_id)
    )
    return len(result.all())


async def recent_launches(
    session: AsyncSession, operator_id: str, limit: int
) -> list[PortalLaunch]:
    query = (
        select(PortalLaunch)
        .where(PortalLaunch.operator_id == operator_id)
        .order_by(PortalLaunch.created_at.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
