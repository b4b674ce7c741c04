from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import BalanceLookup


def add_lookups(session: AsyncSession, rows: list[BalanceLookup]) -> None:
    session.add_all(rows)


async def lookups_since(session: AsyncSession, since: datetime) -> list[BalanceLookup]:
    query = select(BalanceLookup).where(BalanceLookup.at >= since).order_by(BalanceLookup.id)
    return list((await session.scalars(query)).all())
