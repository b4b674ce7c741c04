"""SQL of the subscriber domain (operator back office, ``mo_*`` tables)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MoAccount, MoBalance, MoLine, MoPlan, MoUsage


async def plans(
    session: AsyncSession, operator_id: str, *, active_only: bool = True
) -> list[MoPlan]:
    query = select(MoPlan).where(MoPlan.operator_id == operator_id).order_by(MoPlan.id)
    if active_only:
        query = query.where(MoPlan.active.is_(True))
    return list((await session.scalars(query)).all())


async def plan(session: AsyncSession, plan_id: int) -> MoPlan | None:
    return await session.get(MoPlan, plan_id)


async def plan_by_code(session: AsyncSession, operator_id: str, code: str) -> MoPlan | None:
    query = select(MoPlan).where(MoPlan.operator_id == operator_id, MoPlan.code == code)
    return (await session.scalars(query)).one_or_none()


async def account_by_email(session: AsyncSession, operator_id: str, email: str) -> MoAccount | None:
    query = select(MoAccount).where(MoAccount.operator_id == operator_id, MoAccount.email == email)
    return (await session.scalars(query)).one_or_none()


async def account(session: AsyncSession, account_id: int) -> MoAccount | None:
    return await session.get(MoAccount, account_id)


async def line(session: AsyncSession, iccid: str, *, for_update: bool = False) -> MoLine | None:
    query = select(MoLine).where(MoLine.iccid == iccid)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def lines_of_account(session: AsyncSession, account_id: int) -> list[MoLine]:
    query = select(MoLine).where(MoLine.account_id == account_id).order_by(MoLine.created_at)
    return list((await session.scalars(query)).all())


async def balances(session: AsyncSession, iccid: str) -> list[MoBalance]:
    query = (
        select(MoBalance)
        .where(MoBalance.iccid == iccid)
        .order_by(MoBalance.expires_at, MoBalance.id)
    )
    return list((await session.scalars(query)).all())


async def consume(session: AsyncSession, balance_id: int, mb: float, seen_used: float) -> bool:
    """Compare-and-set the used amount; False if another writer got there first."""
    result = await session.execute(
        update(MoBalance)
        .where(MoBalance.id == balance_id, MoBalance.data_used_mb == seen_used)
        .values(data_used_mb=seen_used + mb)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def move_balances(session: AsyncSession, from_iccid: str, to_iccid: str) -> int:
    result = await session.execute(
        update(MoBalance).where(MoBalance.iccid == from_iccid).values(iccid=to_iccid)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def add(session: AsyncSession, row: MoPlan | MoAccount | MoLine | MoBalance | MoUsage) -> None:
    session.add(row)


async def touch_line(session: AsyncSession, iccid: str, status: str, now: datetime) -> None:
    await session.execute(
        update(MoLine).where(MoLine.iccid == iccid).values(status=status, updated_at=now)
    )
