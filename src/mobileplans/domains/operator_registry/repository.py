"""SQL of the operator registry. Only this module selects, updates or deletes its tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from mobileplans.db.models import ConfigState, IccidRange, Operator
from mobileplans.db.reads import Reads, as_reads

_WITH_CHILDREN = (
    selectinload(Operator.environments),
    selectinload(Operator.contacts),
    selectinload(Operator.iccid_ranges),
)


async def get(session: AsyncSession, operator_id: str) -> Operator | None:
    query = select(Operator).where(Operator.id == operator_id).options(*_WITH_CHILDREN)
    return (await session.scalars(query)).one_or_none()


async def list_all(session: AsyncSession) -> list[Operator]:
    query = select(Operator).order_by(Operator.id).options(*_WITH_CHILDREN)
    return list((await session.scalars(query)).all())


async def ranges_of_others(session: AsyncSession, operator_id: str) -> list[IccidRange]:
    query = select(IccidRange).where(IccidRange.operator_id != operator_id)
    return list((await session.scalars(query)).all())


async def prefixes_of_others(session: AsyncSession, operator_id: str) -> list[tuple[str, str]]:
    """``(operator id, phone prefix)`` of every other operator."""
    query = select(Operator.id, Operator.phone_prefixes).where(Operator.id != operator_id)
    return [(op_id, p) for op_id, prefixes in await session.execute(query) for p in prefixes or ()]


async def all_ranges(session: AsyncSession) -> list[IccidRange]:
    return list((await session.scalars(select(IccidRange))).all())


async def get_range(session: AsyncSession, operator_id: str, range_id: int) -> IccidRange | None:
    query = select(IccidRange).where(
        IccidRange.id == range_id, IccidRange.operator_id == operator_id
    )
    return (await session.scalars(query)).one_or_none()


def add(session: AsyncSession, row: Operator | IccidRange) -> None:
    session.add(row)


async def delete(session: AsyncSession, row: Operator | IccidRange) -> None:
    await session.delete(row)
    await session.flush()


_CONFIG_VERSION = select(ConfigState.version).where(ConfigState.id == bindparam("id"))


async def config_version(source: AsyncSession | Reads) -> int:
    """The configuration version: in the caller's transaction, or on the driver's reads
    (a poll that only compares it: no transaction)."""
    row = await as_reads(source).one(_CONFIG_VERSION, {"id": 1})
    return int(row.version or 0) if row is not None else 0


async def bump_version(session: AsyncSession, now: datetime) -> int:
    """Increment the configuration version in this transaction; replicas reload on change."""
    result = await session.execute(
        update(ConfigState)
        .where(ConfigState.id == 1)
        .values(version=ConfigState.version + 1, updated_at=now)
        .returning(ConfigState.version)
    )
    version = result.scalar_one_or_none()
    if version is None:
        session.add(ConfigState(id=1, version=1, updated_at=now))
        await session.flush()
        return 1
    return int(version)
