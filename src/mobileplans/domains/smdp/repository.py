"""SQL of the SM-DP+ (``smdp_*`` tables). The only module of the domain that queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from mobileplans.db.models import (
    SmdpDownloadSession,
    SmdpFunctionCall,
    SmdpProfile,
    SmdpProfileEvent,
    SmdpRequester,
)

Row = SmdpProfile | SmdpProfileEvent | SmdpRequester | SmdpFunctionCall | SmdpDownloadSession


def add(session: AsyncSession, row: Row) -> None:
    session.add(row)


def add_all(session: AsyncSession, rows: Sequence[Row]) -> None:
    session.add_all(rows)


# Requesters and ES2+ calls


async def requester(session: AsyncSession, requester_id: str) -> SmdpRequester | None:
    return await session.get(SmdpRequester, requester_id)


async def requesters(session: AsyncSession, operator_id: str | None = None) -> list[SmdpRequester]:
    query = select(SmdpRequester).order_by(SmdpRequester.requester_id)
    if operator_id is not None:
        query = query.where(SmdpRequester.operator_id == operator_id)
    return list((await session.scalars(query)).all())


async def function_call(
    session: AsyncSession, requester_id: str, function_call_id: str
) -> SmdpFunctionCall | None:
    return await session.get(SmdpFunctionCall, (requester_id, function_call_id))


# Profiles


async def profile(session: AsyncSession, iccid: str) -> SmdpProfile | None:
    return await session.get(SmdpProfile, iccid, populate_existing=True)


async def profile_by_matching_id(session: AsyncSession, matching_id: str) -> SmdpProfile | None:
    query = select(SmdpProfile).where(SmdpProfile.matching_id == matching_id)
    return (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()


async def matching_id_in_use(session: AsyncSession, matching_id: str) -> bool:
    query = select(func.count()).where(SmdpProfile.matching_id == matching_id)
    return bool(await session.scalar(query))


async def count_in_state(
    session: AsyncSession, operator_id: str, profile_type: str, state: str
) -> int:
    query = select(func.count()).where(
        SmdpProfile.operator_id == operator_id,
        SmdpProfile.profile_type == profile_type,
        SmdpProfile.state == state,
    )
    return int(await session.scalar(query) or 0)


async def profile_type_known(session: AsyncSession, operator_id: str, profile_type: str) -> bool:
    query = select(func.count()).where(
        SmdpProfile.operator_id == operator_id, SmdpProfile.profile_type == profile_type
    )
    return bool(await session.scalar(query))


async def available_candidates(
    session: AsyncSession, operator_id: str, profile_type: str, state: str, limit: int
) -> list[SmdpProfile]:
    """Up to ``limit`` profiles of this type in ``state``, lowest ICCID first, freshly read."""
    query = (
        select(SmdpProfile)
        .where(
            SmdpProfile.operator_id == operator_id,
            SmdpProfile.profile_type == profile_type,
            SmdpProfile.state == state,
        )
        .order_by(SmdpProfile.iccid)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(query)).all())


async def compare_and_set(
    session: AsyncSession, iccid: str, *, state: str, version: int, changes: dict[str, Any]
) -> bool:
    """``UPDATE … WHERE iccid AND state AND version`` bumping the version; True if one row
    changed. A concurrent writer that got there first leaves zero rows changed."""
    result = await session.execute(
        update(SmdpProfile)
        .where(
            SmdpProfile.iccid == iccid,
            SmdpProfile.state == state,
            SmdpProfile.version == version,
        )
        .values(**changes, version=version + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_committed(row: SmdpProfile, values: dict[str, Any]) -> None:
    """Reflect a successful compare-and-set in the loaded row without a new flush."""
    for name, value in values.items():
        set_committed_value(row, name, value)


async def profiles(session: AsyncSession, operator_id: str | None = None) -> list[SmdpProfile]:
    query = select(SmdpProfile).order_by(SmdpProfile.iccid)
    if operator_id is not None:
        query = query.where(SmdpProfile.operator_id == operator_id)
    return list((await session.scalars(query)).all())


async def existing_iccids(session: AsyncSession, start: str, end: str) -> set[str]:
    """ICCIDs held between ``start`` and ``end`` (same length: string order = number order)."""
    query = select(SmdpProfile.iccid).where(
        func.length(SmdpProfile.iccid) == len(start),
        SmdpProfile.iccid >= start,
        SmdpProfile.iccid <= end,
    )
    return set((await session.scalars(query)).all())


async def counts(
    session: AsyncSession, operator_id: str | None = None
) -> list[tuple[str, str, str, int]]:
    """(operator, profile type, state, count), sorted."""
    columns = (SmdpProfile.operator_id, SmdpProfile.profile_type, SmdpProfile.state)
    query = select(*columns, func.count()).group_by(*columns).order_by(*columns)
    if operator_id is not None:
        query = query.where(SmdpProfile.operator_id == operator_id)
    return [(o, p, s, int(n)) for o, p, s, n in (await session.execute(query)).all()]


async def events(session: AsyncSession, iccid: str) -> list[SmdpProfileEvent]:
    query = (
        select(SmdpProfileEvent)
        .where(SmdpProfileEvent.iccid == iccid)
        .order_by(SmdpProfileEvent.id)
    )
    return list((await session.scalars(query)).all())


# Download sessions


async def download_session(
    session: AsyncSession, transaction_id: str
) -> SmdpDownloadSession | None:
    return await session.get(SmdpDownloadSession, transaction_id, populate_existing=True)


async def end_open_sessions(
    session: AsyncSession, iccid: str, *, open_states: Sequence[str], to_state: str
) -> int:
    """Move the profile's sessions still in ``open_states`` to ``to_state``; how many moved."""
    result = await session.execute(
        update(SmdpDownloadSession)
        .where(
            SmdpDownloadSession.iccid == iccid,
            SmdpDownloadSession.state.in_(list(open_states)),
        )
        .values(state=to_state)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def set_session_state(
    session: AsyncSession, transaction_id: str, *, seen: str, to_state: str
) -> bool:
    """Compare-and-set a session's state; False if another request moved it first."""
    result = await session.execute(
        update(SmdpDownloadSession)
        .where(
            SmdpDownloadSession.transaction_id == transaction_id,
            SmdpDownloadSession.state == seen,
        )
        .values(state=to_state)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def sessions_of(session: AsyncSession, iccid: str) -> list[SmdpDownloadSession]:
    query = (
        select(SmdpDownloadSession)
        .where(SmdpDownloadSession.iccid == iccid)
        .order_by(SmdpDownloadSession.created_at)
    )
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())
