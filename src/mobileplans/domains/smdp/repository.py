"""SQL of the SM-DP+ (``smdp_*`` tables). The only module of the domain that queries.

**The request paths** (ES2+ and the device download interface) read and write column
values, never ORM objects: Core statements built once (module constants, one
compare-and-set per set of changed columns), compiled once per dialect and run on the
driver in the edge's transaction (``driver.rows`` / ``driver.change``; a :data:`Tx` is
the driver kind of transaction or a session, D295), with SQLAlchemy's own bind and
result processors. Rows come back as plain
dataclasses (:class:`ProfileRow`, :class:`SessionRow`, :class:`CallerRow`); nothing is
tracked, flushed or refreshed. A read that the request needs together is one statement:
a profile with its requester's callback URL, a download session with its profile, a
requester with the stored answer of this ``functionCallIdentifier`` (decision D180).

**Inventory and reports** (CLI, ``mobileplans up``) keep the ORM (``SmdpRequester`` and
friends): they run rarely and in bulk.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    Update,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db import driver
from mobileplans.db.driver_tx import Tx
from mobileplans.db.models import (
    SmdpCallbackOutbox,
    SmdpDownloadSession,
    SmdpFunctionCall,
    SmdpProfile,
    SmdpProfileEvent,
    SmdpRequester,
)

Row = SmdpProfile | SmdpProfileEvent | SmdpRequester | SmdpFunctionCall | SmdpDownloadSession

_PROFILES = cast(Table, SmdpProfile.__table__)
_REQUESTERS = cast(Table, SmdpRequester.__table__)
_CALLS = cast(Table, SmdpFunctionCall.__table__)
_SESSIONS = cast(Table, SmdpDownloadSession.__table__)
_EVENTS = cast(Table, SmdpProfileEvent.__table__)


# Rows of the request paths


@dataclass(slots=True)
class ProfileRow:
    """A profile's columns, plus the callback URL of the requester that ordered it (read
    with it: ``None`` without a requester or without a URL). Changed in place by
    ``lifecycle`` after each successful compare-and-set."""

    iccid: str
    operator_id: str
    profile_type: str
    state: str
    eid: str | None
    matching_id: str | None
    confirmation_code_hash: str | None
    cc_attempts: int
    download_attempts: int
    spn: str
    profile_name: str
    requester_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    callback_url: str | None = None


@dataclass(slots=True)
class SessionRow:
    transaction_id: str
    iccid: str
    eid: str
    state: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CallerRow:
    """An ES2+ requester, with the stored call of this ``functionCallIdentifier`` if any."""

    requester_id: str
    operator_id: str
    callback_url: str | None
    stored_hash: str | None = None
    stored_response: dict[str, Any] | None = field(default=None)


_PROFILE_COLUMNS: Final = (*_PROFILES.c, _REQUESTERS.c.callback_url)
_PROFILE_FROM: Final = _PROFILES.outerjoin(
    _REQUESTERS, _REQUESTERS.c.requester_id == _PROFILES.c.requester_id
)


def _profile(row: Any, offset: int = 0) -> ProfileRow:
    return ProfileRow(*row[offset : offset + len(_PROFILE_COLUMNS)])


# Requesters and ES2+ calls


_CALLER: Final = (
    select(
        _REQUESTERS.c.requester_id,
        _REQUESTERS.c.operator_id,
        _REQUESTERS.c.callback_url,
        _CALLS.c.body_hash,
        _CALLS.c.response,
    )
    .select_from(
        _REQUESTERS.outerjoin(
            _CALLS,
            and_(
                _CALLS.c.requester_id == _REQUESTERS.c.requester_id,
                _CALLS.c.function_call_id == bindparam("call_id"),
            ),
        )
    )
    .where(_REQUESTERS.c.requester_id == bindparam("requester_id"))
)
_STORE_CALL: Final = insert(_CALLS).values(
    {name: bindparam(name, type_=_CALLS.c[name].type) for name in _CALLS.c.keys()}
)


async def caller(tx: Tx, requester_id: str, call_id: str) -> CallerRow | None:
    """The requester and, if this call was made before, its stored hash and answer."""
    rows = await driver.rows(tx, _CALLER, requester_id=requester_id, call_id=call_id)
    return CallerRow(*rows[0]) if rows else None


async def store_call(
    tx: Tx,
    *,
    requester_id: str,
    call_id: str,
    function: str,
    body_hash: str,
    response: dict[str, Any],
    at: datetime,
) -> None:
    """Insert the call; a concurrent duplicate raises ``IntegrityError`` (primary key)."""
    await driver.change(
        tx, _STORE_CALL, requester_id=requester_id, function_call_id=call_id,
        function=function, body_hash=body_hash, response=response, at=at,
    )  # fmt: skip


async def requester(session: AsyncSession, requester_id: str) -> SmdpRequester | None:
    """The requester as an ORM row (inventory: create or update)."""
    query = select(SmdpRequester).where(SmdpRequester.requester_id == requester_id)
    return (await session.scalars(query)).one_or_none()


async def requesters(session: AsyncSession, operator_id: str | None = None) -> list[SmdpRequester]:
    query = select(SmdpRequester).order_by(SmdpRequester.requester_id)
    if operator_id is not None:
        query = query.where(SmdpRequester.operator_id == operator_id)
    return list((await session.scalars(query)).all())


def add(session: AsyncSession, row: Row) -> None:
    session.add(row)


def add_all(session: AsyncSession, rows: Sequence[Row]) -> None:
    session.add_all(rows)


# Profiles


_PROFILE: Final = (
    select(*_PROFILE_COLUMNS)
    .select_from(_PROFILE_FROM)
    .where(_PROFILES.c.iccid == bindparam("iccid"))
)
_PROFILE_BY_MATCHING_ID: Final = (
    select(*_PROFILE_COLUMNS)
    .select_from(_PROFILE_FROM)
    .where(_PROFILES.c.matching_id == bindparam("matching_id"))
)
_MATCHING_ID_COUNT: Final = select(func.count()).where(
    _PROFILES.c.matching_id == bindparam("matching_id")
)
_CANDIDATES: Final = (
    select(*_PROFILE_COLUMNS)
    .select_from(_PROFILE_FROM)
    .where(
        _PROFILES.c.operator_id == bindparam("operator_id"),
        _PROFILES.c.profile_type == bindparam("profile_type"),
        _PROFILES.c.state == bindparam("state"),
    )
    .order_by(_PROFILES.c.iccid)
    .limit(bindparam("limit", type_=SmdpProfile.version.type))
)
_TYPE_COUNT: Final = select(func.count()).where(
    _PROFILES.c.operator_id == bindparam("operator_id"),
    _PROFILES.c.profile_type == bindparam("profile_type"),
)
_ADD_EVENT: Final = insert(_EVENTS).values(
    {
        name: bindparam(name, type_=_EVENTS.c[name].type)
        for name in ("iccid", "at", "from_state", "to_state", "function", "detail")
    }
)


async def profile(tx: Tx, iccid: str) -> ProfileRow | None:
    """The profile as it is in the database now, with its requester's callback URL."""
    rows = await driver.rows(tx, _PROFILE, iccid=iccid)
    return _profile(rows[0]) if rows else None


async def profile_by_matching_id(tx: Tx, matching_id: str) -> ProfileRow | None:
    rows = await driver.rows(tx, _PROFILE_BY_MATCHING_ID, matching_id=matching_id)
    return _profile(rows[0]) if rows else None


async def matching_id_in_use(tx: Tx, matching_id: str) -> bool:
    return bool((await driver.rows(tx, _MATCHING_ID_COUNT, matching_id=matching_id))[0][0])


async def profile_type_known(tx: Tx, operator_id: str, profile_type: str) -> bool:
    rows = await driver.rows(tx, _TYPE_COUNT, operator_id=operator_id, profile_type=profile_type)
    return bool(rows[0][0])


async def available_candidates(
    tx: Tx, operator_id: str, profile_type: str, state: str, limit: int
) -> list[ProfileRow]:
    """Up to ``limit`` profiles of this type in ``state``, lowest ICCID first."""
    rows = await driver.rows(
        tx, _CANDIDATES, operator_id=operator_id, profile_type=profile_type, state=state,
        limit=limit,
    )  # fmt: skip
    return [_profile(r) for r in rows]


async def compare_and_set(
    tx: Tx, iccid: str, *, state: str, version: int, changes: dict[str, Any]
) -> bool:
    """``UPDATE … WHERE iccid AND state AND version`` bumping the version; True if one row
    changed. A concurrent writer that got there first leaves zero rows changed."""
    values = {f"new_{name}": value for name, value in changes.items()}
    values |= {"the_iccid": iccid, "seen_state": state, "seen_version": version}
    values["new_version"] = version + 1
    return await driver.change(tx, _cas(tuple(sorted(changes))), **values) == 1


@functools.cache
def _cas(names: tuple[str, ...]) -> Update:
    """The compare-and-set statement for one set of changed columns (built once)."""
    columns = _PROFILES.c
    changes = {name: bindparam(f"new_{name}", type_=columns[name].type) for name in names}
    changes["version"] = bindparam("new_version", type_=columns["version"].type)
    return (
        update(_PROFILES)
        .where(
            columns.iccid == bindparam("the_iccid"),
            columns.state == bindparam("seen_state"),
            columns.version == bindparam("seen_version"),
        )
        .values(changes)
    )


async def add_event(
    tx: Tx,
    *,
    iccid: str,
    at: datetime,
    from_state: str | None,
    to_state: str,
    function: str,
    detail: dict[str, Any],
) -> None:
    await driver.change(
        tx, _ADD_EVENT, iccid=iccid, at=at, from_state=from_state, to_state=to_state,
        function=function, detail=detail,
    )  # fmt: skip


async def count_in_state(
    session: AsyncSession, operator_id: str, profile_type: str, state: str
) -> int:
    query = select(func.count()).where(
        SmdpProfile.operator_id == operator_id,
        SmdpProfile.profile_type == profile_type,
        SmdpProfile.state == state,
    )
    return int(await session.scalar(query) or 0)


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


_SESSION_COLUMNS: Final = tuple(_SESSIONS.c)
_SESSION_WITH_PROFILE: Final = (
    select(*_SESSION_COLUMNS, *(c.label(f"profile_{c.key}") for c in _PROFILE_COLUMNS))
    .select_from(
        _SESSIONS.outerjoin(_PROFILES, _PROFILES.c.iccid == _SESSIONS.c.iccid).outerjoin(
            _REQUESTERS, _REQUESTERS.c.requester_id == _PROFILES.c.requester_id
        )
    )
    .where(_SESSIONS.c.transaction_id == bindparam("transaction_id"))
)
_ADD_SESSION: Final = insert(_SESSIONS).values(
    {name: bindparam(name, type_=_SESSIONS.c[name].type) for name in _SESSIONS.c.keys()}
)
_END_OPEN_SESSIONS: Final = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.iccid == bindparam("the_iccid"),
        or_(_SESSIONS.c.state == bindparam("open_a"), _SESSIONS.c.state == bindparam("open_b")),
    )
    .values(state=bindparam("to_state"))
)
_SESSION_CAS: Final = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.transaction_id == bindparam("the_transaction_id"),
        _SESSIONS.c.state == bindparam("seen"),
    )
    .values(state=bindparam("to_state"))
)


async def download_session(
    tx: Tx, transaction_id: str
) -> tuple[SessionRow, ProfileRow | None] | None:
    """The download session and its profile (with the requester's callback URL), one read."""
    rows = await driver.rows(tx, _SESSION_WITH_PROFILE, transaction_id=transaction_id)
    if not rows:
        return None
    row = rows[0]
    width = len(_SESSION_COLUMNS)
    found = SessionRow(*row[:width])
    return found, (_profile(row, width) if row[width] is not None else None)


async def add_session(
    tx: Tx,
    *,
    transaction_id: str,
    iccid: str,
    eid: str,
    state: str,
    created_at: datetime,
    expires_at: datetime,
) -> SessionRow:
    values = SessionRow(transaction_id, iccid, eid, state, created_at, expires_at)
    await driver.change(
        tx, _ADD_SESSION, transaction_id=transaction_id, iccid=iccid, eid=eid, state=state,
        created_at=created_at, expires_at=expires_at,
    )  # fmt: skip
    return values


async def end_open_sessions(
    tx: Tx, iccid: str, *, open_states: tuple[str, str], to_state: str
) -> int:
    """Move the profile's sessions still in ``open_states`` to ``to_state``; how many moved."""
    first, second = open_states
    return await driver.change(
        tx, _END_OPEN_SESSIONS, the_iccid=iccid, open_a=first, open_b=second,
        to_state=to_state,
    )  # fmt: skip


async def set_session_state(tx: Tx, transaction_id: str, *, seen: str, to_state: str) -> bool:
    """Compare-and-set a session's state; False if another request moved it first."""
    changed = await driver.change(
        tx, _SESSION_CAS, the_transaction_id=transaction_id, seen=seen, to_state=to_state
    )
    return changed == 1


async def sessions_of(session: AsyncSession, iccid: str) -> list[SmdpDownloadSession]:
    query = (
        select(SmdpDownloadSession)
        .where(SmdpDownloadSession.iccid == iccid)
        .order_by(SmdpDownloadSession.created_at)
    )
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())


# The callback outbox (issue #11): written on the request path (driver), read by the sender

_OUTBOX = cast(Table, SmdpCallbackOutbox.__table__)
_O = _OUTBOX.c
OUTBOX_PENDING: Final = "pending"
_ADD_CALLBACK: Final = insert(_OUTBOX).values(
    {
        name: bindparam(name, type_=_O[name].type)
        for name in ("iccid", "requester_id", "url", "call_id", "body", "status", "created_at",
                     "attempts", "next_attempt_at")
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    iccid: str
    url: str
    call_id: str
    body: dict[str, Any]
    created_at: datetime
    attempts: int


async def add_callback(
    tx: Tx, *, iccid: str, requester_id: str, url: str, call_id: str,
    body: dict[str, Any], now: datetime,
) -> None:  # fmt: skip
    """One pending callback, in the caller's transaction (the profile change's)."""
    await driver.change(
        tx, _ADD_CALLBACK, iccid=iccid, requester_id=requester_id, url=url,
        call_id=call_id, body=body, status=OUTBOX_PENDING, created_at=now, attempts=0,
        next_attempt_at=now,
    )  # fmt: skip


_AT: Final = _O.next_attempt_at.type
_NOW: Final = bindparam("now", type_=_AT)
_CLAIMABLE: Final = and_(
    _O.status == OUTBOX_PENDING,
    _O.next_attempt_at <= _NOW,
    or_(_O.lease_expires_at.is_(None), _O.lease_expires_at < _NOW),
)


def _first_of_iccid() -> ColumnElement[bool]:
    """No earlier pending callback of the same ICCID (due, backing off or leased)."""
    earlier = _OUTBOX.alias("earlier")
    return ~(
        select(earlier.c.id)
        .where(earlier.c.iccid == _O.iccid, earlier.c.id < _O.id,
               earlier.c.status == OUTBOX_PENDING)
        .exists()
    )  # fmt: skip


_FIRST_OF_ICCID: Final = _first_of_iccid()
_CLAIM_CANDIDATES: Final = (
    select(_O.id)
    .where(_CLAIMABLE, _FIRST_OF_ICCID)
    .order_by(_O.id)
    .limit(bindparam("limit", type_=_O.attempts.type))
    .with_for_update(skip_locked=True)
)
_LEASE_DUE: Final = case(
    (and_(_O.lease_expires_at.is_not(None), _O.lease_expires_at > _O.next_attempt_at),
     _O.lease_expires_at),
    else_=_O.next_attempt_at,
)  # fmt: skip
_NEXT_DUE: Final = select(func.min(_LEASE_DUE)).where(_O.status == OUTBOX_PENDING, _FIRST_OF_ICCID)


@functools.cache
def _lease(count: int) -> Update:
    """The compare-and-set that leases ``count`` candidates (``id0`` … ``id{count-1}``)."""
    ids = [bindparam(f"id{n}", type_=_O.id.type) for n in range(count)]
    return (
        update(_OUTBOX)
        .where(_O.id.in_(ids), _CLAIMABLE)
        .values(lease_owner=bindparam("owner", type_=_O.lease_owner.type),
                lease_expires_at=bindparam("lease_until", type_=_AT))
        .returning(_O.id, _O.iccid, _O.url, _O.call_id, _O.body, _O.created_at, _O.attempts)
    )  # fmt: skip


async def claim_callbacks(
    tx: Tx, *, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[OutboxRow]:
    """Lease to ``owner`` the due callbacks that are first of their ICCID: a row whose ICCID
    has an earlier pending row is never claimed, so callbacks of one ICCID go out in ``id``
    order. Two statements in the caller's transaction: the candidates ``FOR UPDATE SKIP
    LOCKED`` (PostgreSQL; SQLite has one writer at a time), then the compare-and-set on
    them. (One ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` let
    PostgreSQL evaluate the subquery more than once and lease more than ``n`` rows.)
    Prebuilt Core statements on the driver connection, like the request paths (D256)."""
    found = await driver.rows(tx, _CLAIM_CANDIDATES, now=now, limit=limit)
    if not found:
        return []
    ids = {f"id{n}": row[0] for n, row in enumerate(found)}
    leased = await driver.rows(
        tx, _lease(len(ids)), now=now, owner=owner, lease_until=lease_until, **ids
    )
    return sorted((OutboxRow(*r) for r in leased), key=lambda r: r.id)


@functools.cache
def _finish(names: tuple[str, ...]) -> Update:
    """Record an attempt setting the columns ``names`` (built once per set)."""
    values: dict[str, Any] = {n: bindparam(f"new_{n}", type_=_O[n].type) for n in names}
    return (
        update(_OUTBOX)
        .where(_O.id == bindparam("the_id", type_=_O.id.type),
               _O.lease_owner == bindparam("owner", type_=_O.lease_owner.type),
               _O.status == OUTBOX_PENDING)
        .values(attempts=_O.attempts + 1, lease_owner=None, lease_expires_at=None, **values)
    )  # fmt: skip


async def finish_callback(tx: Tx, callback_id: int, *, owner: str, values: dict[str, Any]) -> bool:
    """Record an attempt of a leased callback (``values``: status, next_attempt_at, …);
    ``False`` if ``owner`` no longer holds it (its lease ran out and was taken over)."""
    params = {f"new_{name}": value for name, value in values.items()}
    statement = _finish(tuple(sorted(values)))
    return await driver.change(tx, statement, the_id=callback_id, owner=owner, **params) == 1


async def next_callback_due(tx: Tx) -> datetime | None:
    """When a callback can next be claimed: the earliest of the first pending callback of
    each ICCID, at its ``next_attempt_at`` or when its lease runs out (``None``: nothing
    pending)."""
    found: datetime | None = (await driver.rows(tx, _NEXT_DUE))[0][0]
    return found


async def callbacks_in(
    session: AsyncSession, statuses: Sequence[str], limit: int = 1000
) -> list[SmdpCallbackOutbox]:
    """Outbox rows in ``statuses``, oldest first (the CLI listing and tests)."""
    query = (
        select(SmdpCallbackOutbox)
        .where(SmdpCallbackOutbox.status.in_(list(statuses)))
        .order_by(SmdpCallbackOutbox.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
