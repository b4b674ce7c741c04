"""SQL of the SM-DP+ (``smdp_*`` tables). The only module of the domain that queries.

The statements of the download and ES2+ paths are built once, with bound parameters
(``_BY_ICCID``, ``_cas``, ...): SQLAlchemy then reuses their cache key and compiled form,
where a statement built per call costs its construction and cache-key walk every time
(about half the CPU of a small indexed read, measured for docs/performance.md).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Update, bindparam, func, select, update
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


_REQUESTER = select(SmdpRequester).where(SmdpRequester.requester_id == bindparam("requester_id"))
_FUNCTION_CALL = select(SmdpFunctionCall).where(
    SmdpFunctionCall.requester_id == bindparam("requester_id"),
    SmdpFunctionCall.function_call_id == bindparam("call_id"),
)
_FRESH = {"populate_existing": True}
_PROFILE = select(SmdpProfile).where(SmdpProfile.iccid == bindparam("iccid"))
_PROFILE_BY_MATCHING_ID = select(SmdpProfile).where(
    SmdpProfile.matching_id == bindparam("matching_id")
)
_MATCHING_ID_COUNT = select(func.count()).where(SmdpProfile.matching_id == bindparam("matching_id"))
_DOWNLOAD_SESSION = select(SmdpDownloadSession).where(
    SmdpDownloadSession.transaction_id == bindparam("transaction_id")
)
_NO_SYNC = {"synchronize_session": False}


async def requester(session: AsyncSession, requester_id: str) -> SmdpRequester | None:
    return (await session.scalars(_REQUESTER, {"requester_id": requester_id})).one_or_none()


async def requesters(session: AsyncSession, operator_id: str | None = None) -> list[SmdpRequester]:
    query = select(SmdpRequester).order_by(SmdpRequester.requester_id)
    if operator_id is not None:
        query = query.where(SmdpRequester.operator_id == operator_id)
    return list((await session.scalars(query)).all())


async def function_call(
    session: AsyncSession, requester_id: str, function_call_id: str
) -> SmdpFunctionCall | None:
    values = {"requester_id": requester_id, "call_id": function_call_id}
    return (await session.scalars(_FUNCTION_CALL, values)).one_or_none()


# Profiles


async def profile(session: AsyncSession, iccid: str) -> SmdpProfile | None:
    """The profile, freshly read (``populate_existing``: a loaded row is refreshed)."""
    rows = await session.scalars(_PROFILE, {"iccid": iccid}, execution_options=_FRESH)
    return rows.one_or_none()


async def profile_by_matching_id(session: AsyncSession, matching_id: str) -> SmdpProfile | None:
    values = {"matching_id": matching_id}
    rows = await session.scalars(_PROFILE_BY_MATCHING_ID, values, execution_options=_FRESH)
    return rows.one_or_none()


async def matching_id_in_use(session: AsyncSession, matching_id: str) -> bool:
    return bool(await session.scalar(_MATCHING_ID_COUNT, {"matching_id": matching_id}))


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
    values = {f"new_{name}": value for name, value in changes.items()}
    values |= {"the_iccid": iccid, "seen_state": state, "seen_version": version}
    values["new_version"] = version + 1
    result = await session.execute(_cas(tuple(sorted(changes))), values)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@functools.cache
def _cas(names: tuple[str, ...]) -> Update:
    """The compare-and-set statement for one set of changed columns (built once)."""
    columns = SmdpProfile.__table__.c
    changes = {name: bindparam(f"new_{name}", type_=columns[name].type) for name in names}
    changes["version"] = bindparam("new_version", type_=columns["version"].type)
    return (
        update(SmdpProfile)
        .where(
            SmdpProfile.iccid == bindparam("the_iccid"),
            SmdpProfile.state == bindparam("seen_state"),
            SmdpProfile.version == bindparam("seen_version"),
        )
        .values(changes)
        .execution_options(**_NO_SYNC)
    )


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
    values = {"transaction_id": transaction_id}
    rows = await session.scalars(_DOWNLOAD_SESSION, values, execution_options=_FRESH)
    return rows.one_or_none()


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
    values = {"the_transaction_id": transaction_id, "seen": seen, "to_state": to_state}
    result = await session.execute(_SESSION_CAS, values)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


_SESSION_CAS = (
    update(SmdpDownloadSession)
    .where(
        SmdpDownloadSession.transaction_id == bindparam("the_transaction_id"),
        SmdpDownloadSession.state == bindparam("seen"),
    )
    .values(state=bindparam("to_state"))
    .execution_options(**_NO_SYNC)
)


async def sessions_of(session: AsyncSession, iccid: str) -> list[SmdpDownloadSession]:
    query = (
        select(SmdpDownloadSession)
        .where(SmdpDownloadSession.iccid == iccid)
        .order_by(SmdpDownloadSession.created_at)
    )
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())
