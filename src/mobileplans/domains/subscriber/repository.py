"""SQL of the subscriber domain (operator back office, ``mo_*`` tables).

The MO API's reads (GetBalance, GetOffers, GetNotifications) are Core statements run
through a :class:`mobileplans.db.reads.Reads`: on the raw driver for the MO API (no
session, no explicit transaction), or through the caller's session inside a
transaction. Everything else works on ORM rows in the caller's session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MoAccount, MoBalance, MoLine, MoPlan, MoUsage
from mobileplans.db.reads import Reads, Row

# --- the MO API's reads (named parameters; compiled once per dialect by db.reads) ---

LINE_SUMMARY: Final = select(MoLine.iccid, MoLine.operator_id, MoLine.supported).where(
    MoLine.iccid == bindparam("iccid")
)
BALANCE_ROWS: Final = (
    select(
        MoBalance.id,
        MoBalance.plan_id,
        MoBalance.balance_type,
        MoBalance.data_total_mb,
        MoBalance.data_used_mb,
        MoBalance.locations,
        MoBalance.expires_at,
    )
    .where(MoBalance.iccid == bindparam("iccid"))
    .order_by(MoBalance.expires_at, MoBalance.id)
)
ACTIVE_PLAN_IDS: Final = (
    select(MoPlan.id)
    .where(MoPlan.operator_id == bindparam("operator_id"), MoPlan.active.is_(True))
    .order_by(MoPlan.id)
)


async def line_summary(reads: Reads, iccid: str) -> Row | None:
    """``(iccid, operator_id, supported)`` of one line, or None."""
    return await reads.one(LINE_SUMMARY, {"iccid": iccid})


async def balance_rows(reads: Reads, iccid: str) -> list[Row]:
    """Every balance of a line (consumable or not), earliest expiry first."""
    return await reads.all(BALANCE_ROWS, {"iccid": iccid})


async def active_plan_ids(reads: Reads, operator_id: str) -> list[int]:
    return [row.id for row in await reads.all(ACTIVE_PLAN_IDS, {"operator_id": operator_id})]


# --- ORM work in the caller's session ----------------------------------------------


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
