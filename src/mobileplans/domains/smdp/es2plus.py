"""ES2+ functions served by the SM-DP+ (SGP.22 v2.5 5.3.1-5.3.4; esim-rsp 1.2-1.6).

:func:`handle` is the single entry point: binding checks, requester, replay of a
``functionCallIdentifier``, then the function. Every answer is a response body for
HTTP 200 (``Executed-Success`` or ``Failed``); nothing here raises to the caller except
:class:`ConcurrentUpdate`, which asks the edge to roll back and run the call again.

Replay: the first call of a (requester, functionCallIdentifier) inserts its
``smdp_function_calls`` row before doing anything, so a concurrent duplicate blocks on
the primary key and then finds the stored answer; the same body gets that answer again,
a different body gets ``1.6/3.3``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError

from mobileplans.db.driver_tx import Tx
from mobileplans.domains.smdp import envelope, lifecycle, repository
from mobileplans.domains.smdp.codes import (
    EID_ASSOCIATION,
    EXECUTION_ERROR,
    FIELD_CODES,
    FUNCTION_REPLAYED,
    ICCID_OR_PROFILE_TYPE_MISSING,
    ICCID_UNKNOWN,
    INVALID_TRANSITION,
    MATCHING_ID_ASSOCIATION,
    MATCHING_ID_CONFLICT,
    MATCHING_ID_INVALID,
    PROFILE_NOT_AVAILABLE,
    PROFILE_TYPE_EXHAUSTED,
    PROFILE_TYPE_UNKNOWN,
    REQUESTER_UNKNOWN,
    ConcurrentUpdate,
    RspError,
    StatusCode,
    es2_failed,
    es2_success,
)
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.domains.smdp.envelope import Es2Request
from mobileplans.domains.smdp.matching import activation_code, new_matching_id
from mobileplans.domains.smdp.repository import CallerRow, ProfileRow
from mobileplans.domains.smdp.schemas import Outcome, ProfileState, SessionState
from mobileplans.kit.esim import ActivationCodeError, confirmation_code_digest

log = logging.getLogger(__name__)
P = ProfileState
ALLOCATION_ROUNDS: Final = 4
CANDIDATES_PER_ROUND: Final = 8
OPEN_SESSIONS: Final = (SessionState.INITIATED.value, SessionState.DOWNLOADED.value)


@dataclass(frozen=True, slots=True)
class Call:
    """One ES2+ call being executed."""

    function: str
    requester: CallerRow
    call_id: str
    body: dict[str, Any]
    config: SmdpConfig
    now: datetime

    def detail(self, **extra: Any) -> dict[str, Any]:
        base = {"requesterId": self.requester.requester_id, "functionCallIdentifier": self.call_id}
        return base | {k: v for k, v in extra.items() if v is not None}


async def handle(tx: Tx, request: Es2Request, *, config: SmdpConfig, now: datetime) -> Outcome:
    """Answer one ES2+ request (esim-rsp 1.2 binding, 1.3 functions, 1.4 codes)."""
    try:
        env = envelope.open_envelope(request)
    except RspError as exc:
        return Outcome(es2_failed(exc.code, exc.message))
    requester = await repository.caller(tx, env.requester_id, env.call_id)
    if requester is None:
        message = f"function requester {env.requester_id!r} is unknown"
        return Outcome(es2_failed(REQUESTER_UNKNOWN, message))
    if requester.stored_hash is not None:
        if requester.stored_hash == env.digest:
            return Outcome(requester.stored_response)
        message = f"functionCallIdentifier {env.call_id!r} replayed with a different body"
        return Outcome(es2_failed(FUNCTION_REPLAYED, message))
    call = Call(request.function, requester, env.call_id, env.body, config, now)
    try:
        response = await FUNCTIONS[request.function](tx, call)
    except RspError as exc:
        response = es2_failed(exc.code, exc.message)
    await _store(tx, request.function, env, response, now)
    return Outcome(response)


def busy() -> Outcome:
    """The answer when the call lost every retry against concurrent writers."""
    return Outcome(es2_failed(EXECUTION_ERROR))


async def _store(
    tx: Tx,
    function: str,
    env: envelope.Envelope,
    response: dict[str, Any],
    now: datetime,
) -> None:
    """Keep the call with its response (one INSERT, in the call's transaction). The same
    call executed concurrently hits the primary key here: its whole transaction, with
    whatever it changed, is rolled back and run again, and then finds this one stored."""
    try:
        await repository.store_call(
            tx, requester_id=env.requester_id, call_id=env.call_id, function=function,
            body_hash=env.digest, response=response, at=now,
        )  # fmt: skip
    except IntegrityError as exc:  # the same call is being (or was just) executed
        raise ConcurrentUpdate(env.call_id) from exc


async def _profile_of(tx: Tx, call: Call, iccid: str) -> ProfileRow:
    """The requester's operator's profile with this ICCID (others' are unknown: 8.2.1/3.9)."""
    profile = await repository.profile(tx, iccid)
    if profile is None or profile.operator_id != call.requester.operator_id:
        raise RspError(ICCID_UNKNOWN, f"ICCID {iccid} is unknown")
    return profile


def _require_state(profile: ProfileRow, function: str, states: set[ProfileState]) -> None:
    if ProfileState(profile.state) not in states:
        wanted = " or ".join(sorted(s.value for s in states))
        message = f"{function} needs the profile {wanted}; {profile.iccid} is {profile.state}"
        raise RspError(INVALID_TRANSITION, message)


async def download_order(tx: Tx, call: Call) -> dict[str, Any]:
    """DownloadOrder (SGP.22 5.3.1): reserve a profile by ICCID or pick one by profileType;
    with an EID it becomes ``Linked``, without ``Allocated``."""
    iccid = envelope.iccid(call.body, required=False)
    eid = envelope.eid(call.body)
    profile_type = envelope.text(call.body, "profileType")
    envelope.no_smds(call.body)
    target = P.LINKED if eid else P.ALLOCATED
    if iccid is not None:  # the ICCID wins; a profileType given with it is ignored
        profile = await _profile_of(tx, call, iccid)
        if profile.state != P.AVAILABLE:
            message = f"profile {iccid} is {profile.state}, not Available"
            raise RspError(PROFILE_NOT_AVAILABLE, message)
        await _allocate(tx, call, profile, target, eid)
    elif profile_type is not None:
        profile = await _allocate_by_type(tx, call, profile_type, target, eid)
    else:
        raise RspError(ICCID_OR_PROFILE_TYPE_MISSING)
    return es2_success(iccid=profile.iccid)


async def _allocate(
    tx: Tx, call: Call, profile: ProfileRow, target: ProfileState, eid: str | None
) -> None:
    await lifecycle.change(
        tx,
        profile,
        target,
        function=call.function,
        now=call.now,
        detail=call.detail(eid=eid),
        eid=eid,
        requester_id=call.requester.requester_id,
    )


async def _allocate_by_type(
    tx: Tx, call: Call, profile_type: str, target: ProfileState, eid: str | None
) -> ProfileRow:
    """Compare-and-set the first Available profile of the type; on a lost race try the next
    candidate. Bounded: ``ALLOCATION_ROUNDS`` reads of ``CANDIDATES_PER_ROUND``."""
    operator_id = call.requester.operator_id
    for _round in range(ALLOCATION_ROUNDS):
        candidates = await repository.available_candidates(
            tx, operator_id, profile_type, P.AVAILABLE.value, CANDIDATES_PER_ROUND
        )
        if not candidates:
            break
        for candidate in candidates:
            try:
                await _allocate(tx, call, candidate, target, eid)
            except ConcurrentUpdate:  # another order took it first: try the next one
                log.debug("profile %s went to a concurrent order", candidate.iccid)
                continue
            return candidate
    else:  # every candidate of every round went to someone else: run the call again
        raise ConcurrentUpdate(profile_type)
    if not await repository.profile_type_known(tx, operator_id, profile_type):
        raise RspError(PROFILE_TYPE_UNKNOWN, f"profile type {profile_type!r} is unknown")
    raise RspError(PROFILE_TYPE_EXHAUSTED, f"no more profile available of type {profile_type!r}")


async def confirm_order(tx: Tx, call: Call) -> dict[str, Any]:
    """ConfirmOrder (SGP.22 5.3.2): matchingId (given or generated), optional confirmation
    code (stored as SHA-256 only), then ``Released`` or, with releaseFlag false, ``Confirmed``."""
    iccid = envelope.iccid(call.body, required=True)
    release = envelope.flag(call.body, "releaseFlag")
    eid = envelope.eid(call.body)
    wanted_id = envelope.text(call.body, "matchingId")
    code = envelope.text(call.body, "confirmationCode")
    envelope.no_smds(call.body)
    assert iccid is not None
    profile = await _profile_of(tx, call, iccid)
    _require_state(profile, call.function, {P.ALLOCATED, P.LINKED})
    if eid is not None and profile.eid is not None and eid != profile.eid:
        raise RspError(EID_ASSOCIATION, f"profile {iccid} is linked to another EID")
    matching_id = await _matching_id(tx, wanted_id)
    try:
        code_text = str(activation_code(call.config.address, matching_id, code is not None))
    except ActivationCodeError as exc:
        raise RspError(MATCHING_ID_INVALID, str(exc)) from exc
    bound_eid = eid or profile.eid
    await lifecycle.change(
        tx,
        profile,
        P.RELEASED if release else P.CONFIRMED,
        function=call.function,
        now=call.now,
        detail=call.detail(eid=bound_eid, matchingId=matching_id, activationCode=code_text),
        eid=bound_eid,
        matching_id=matching_id,
        confirmation_code_hash=confirmation_code_digest(code).hex() if code else None,
        cc_attempts=0,
    )
    return es2_success(eid=bound_eid, matchingId=matching_id, smdpAddress=call.config.address)


async def _matching_id(tx: Tx, wanted: str | None) -> str:
    """The operator's matchingId if free (8.2.6/3.3 if not), else a generated one (80
    random bits): not looked up first; the unique index catches the improbable clash,
    and the call runs again with a new one (D181)."""
    if wanted is None:
        return new_matching_id()
    if await repository.matching_id_in_use(tx, wanted):
        raise RspError(MATCHING_ID_CONFLICT, f"matchingId {wanted!r} is already in use")
    return wanted


async def cancel_order(tx: Tx, call: Call) -> dict[str, Any]:
    """CancelOrder (SGP.22 5.3.3): back to ``Available`` (EID, matchingId and confirmation
    code cleared) or retired ``Unavailable``, per finalProfileStatusIndicator."""
    iccid = envelope.iccid(call.body, required=True)
    final = envelope.text(call.body, "finalProfileStatusIndicator", required=True)
    eid = envelope.eid(call.body)
    matching_id = envelope.text(call.body, "matchingId")
    assert iccid is not None
    if final not in (P.AVAILABLE.value, P.UNAVAILABLE.value):
        raise RspError(_invalid("finalProfileStatusIndicator"), "must be Available or Unavailable")
    profile = await _profile_of(tx, call, iccid)
    cancellable = {P.ALLOCATED, P.LINKED, P.CONFIRMED, P.RELEASED, P.ERROR}
    _require_state(profile, call.function, cancellable)
    if eid is not None and eid != profile.eid:
        raise RspError(EID_ASSOCIATION, f"profile {iccid} is not ordered for this EID")
    if matching_id is not None and matching_id != profile.matching_id:
        raise RspError(MATCHING_ID_ASSOCIATION, f"matchingId is not the one of {iccid}")
    await repository.end_open_sessions(
        tx, iccid, open_states=OPEN_SESSIONS, to_state=SessionState.CANCELLED.value
    )
    await lifecycle.change(
        tx,
        profile,
        ProfileState(final),
        function=call.function,
        now=call.now,
        detail=call.detail(eid=profile.eid, matchingId=profile.matching_id),
        **lifecycle.CLEARED_ORDER,
    )
    return es2_success()


def _invalid(field: str) -> StatusCode:
    return FIELD_CODES[field][1]


async def release_profile(tx: Tx, call: Call) -> dict[str, Any]:
    """ReleaseProfile (SGP.22 5.3.4): ``Confirmed`` → ``Released``."""
    iccid = envelope.iccid(call.body, required=True)
    assert iccid is not None
    profile = await _profile_of(tx, call, iccid)
    _require_state(profile, call.function, {P.CONFIRMED})
    await lifecycle.change(
        tx, profile, P.RELEASED, function=call.function, now=call.now, detail=call.detail()
    )
    return es2_success()


Function = Callable[[Tx, Call], Awaitable[dict[str, Any]]]
FUNCTIONS: Final[dict[str, Function]] = {
    "downloadOrder": download_order,
    "confirmOrder": confirm_order,
    "cancelOrder": cancel_order,
    "releaseProfile": release_profile,
}
