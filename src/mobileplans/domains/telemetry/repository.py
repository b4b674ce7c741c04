from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import PurchaseTelemetry


async def find(
    session: AsyncSession, transaction_id: str, callback: str
) -> PurchaseTelemetry | None:
    query = select(PurchaseTelemetry).where(
        PurchaseTelemetry.transaction_id == transaction_id, PurchaseTelemetry.callback == callback
    )
    return (await session.scalars(query)).one_or_none()


def add(session: AsyncSession, row: PurchaseTelemetry) -> None:
    session.add(row)
