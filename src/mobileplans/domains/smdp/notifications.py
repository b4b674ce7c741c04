"""Device interface, after the download: ``handleNotification`` and ``cancelSession``
(docs/activation.md "Device download interface"; esim-rsp 1.5 and 1.7).

- install success: ``Downloaded → Installed``, notification point 4 Executed-Success;
  install failure: ``Downloaded → Error`` (the activation code may be reused to retry,
  spec 2.2.5), point 4 Failed. A repeated notification with the same result is a no-op.
- enable / disable: recorded as ``Installed → Installed`` events; delete success:
  ``Installed → Unavailable`` (a deleted profile is never handed out again).
- cancelSession: the session ends; a profile already downloaded in it goes to ``Error``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from mobileplans.db.driver_tx import Tx
from mobileplans.domains.smdp import callbacks, lifecycle, repository
from mobileplans.domains.smdp.codes import (
    EID_MISMATCH,
    ICCID_NOT_IN_SESSION,
    INSTALL_FAILED,
    INVALID_TRANSITION,
    MALFORMED,
    PROFILE_NOT_AVAILABLE,
    TRANSACTION_UNKNOWN,
    RspError,
)
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.domains.smdp.download import failed, identifier, move_session, parse
from mobileplans.domains.smdp.repository import ProfileRow, SessionRow
from mobileplans.domains.smdp.schemas import (
    CancelSessionIn,
    CancelSessionOut,
    HandleNotificationIn,
    NotificationPoint,
    Outcome,
    ProfileState,
    SessionState,
)
from mobileplans.kit.identifiers import parse_eid, parse_iccid

P = ProfileState
MAX_REASON: Final = 256


async def handle_notification(tx: Tx, raw: bytes, *, config: SmdpConfig, now: datetime) -> Outcome:
    """``POST handleNotification`` {transactionId, eid, iccid, event, success, reason?} → 204."""
    try:
        request = parse(HandleNotificationIn, raw)
        eid = identifier(parse_eid, request.eid, "eid")
        iccid = identifier(parse_iccid, request.iccid, "iccid")
        if request.reason is not None and len(request.reason) > MAX_REASON:
            raise RspError(MALFORMED, f"reason: at most {MAX_REASON} characters")
        row, profile = await _session_profile(tx, request.transaction_id, eid, iccid)
        if request.event == "install":
            return await _installed(tx, row, profile, request, now)
        await _profile_event(tx, row, profile, request, now)
    except RspError as exc:
        return failed(exc)
    return Outcome(None)


async def _session_profile(
    tx: Tx, transaction_id: str, eid: str, iccid: str
) -> tuple[SessionRow, ProfileRow]:
    found = await repository.download_session(tx, transaction_id)
    if found is None:
        raise RspError(TRANSACTION_UNKNOWN, f"no download session {transaction_id!r}")
    row, profile = found
    if row.eid != eid:
        raise RspError(EID_MISMATCH, "the EID is not the one of this session")
    if row.iccid != iccid:
        raise RspError(ICCID_NOT_IN_SESSION, f"ICCID {iccid} was not downloaded in this session")
    if profile is None:
        raise RspError(PROFILE_NOT_AVAILABLE, f"profile {iccid} is gone")
    return row, profile


async def _installed(
    tx: Tx,
    row: SessionRow,
    profile: ProfileRow,
    request: HandleNotificationIn,
    now: datetime,
) -> Outcome:
    """The Profile Installation Result (esim-rsp 1.5: Downloaded → Installed | Error)."""
    done = SessionState.COMPLETED if request.success else SessionState.FAILED
    if row.state == done:  # the LPA sent the same result again
        return Outcome(None)
    if row.state != SessionState.DOWNLOADED or profile.state != P.DOWNLOADED:
        message = f"no profile package waits for installation in session {row.transaction_id}"
        raise RspError(TRANSACTION_UNKNOWN, message)
    await move_session(tx, row, done)
    detail = {"eid": row.eid, "transactionId": row.transaction_id, "reason": request.reason}
    await lifecycle.change(
        tx,
        profile,
        P.INSTALLED if request.success else P.ERROR,
        function="handleNotification",
        now=now,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    notes = callbacks.progress(
        profile, NotificationPoint.BPP_INSTALLATION, now, eid=row.eid,
        failure=None if request.success else INSTALL_FAILED, message=request.reason,
    )  # fmt: skip
    return Outcome(None, notes)


async def _profile_event(
    tx: Tx,
    row: SessionRow,
    profile: ProfileRow,
    request: HandleNotificationIn,
    now: datetime,
) -> None:
    """enable / disable / delete of an installed profile (PMO notifications, esim-rsp 1.7)."""
    if profile.state != P.INSTALLED:
        message = f"{request.event} needs an Installed profile; {profile.iccid} is {profile.state}"
        raise RspError(INVALID_TRANSITION, message)
    target = P.UNAVAILABLE if request.event == "delete" and request.success else P.INSTALLED
    detail = {
        "event": request.event,
        "success": request.success,
        "eid": row.eid,
        "transactionId": row.transaction_id,
        "reason": request.reason,
    }
    await lifecycle.change(
        tx,
        profile,
        target,
        function="handleNotification",
        now=now,
        detail={k: v for k, v in detail.items() if v is not None},
    )


async def cancel_session(tx: Tx, raw: bytes, *, config: SmdpConfig, now: datetime) -> Outcome:
    """``POST cancelSession`` {transactionId, reason} → {transactionId}."""
    try:
        request = parse(CancelSessionIn, raw)
        if not 0 < len(request.reason) <= MAX_REASON:
            raise RspError(MALFORMED, f"reason: 1 to {MAX_REASON} characters")
        await _cancel(tx, request, now)
    except RspError as exc:
        return failed(exc)
    return Outcome(CancelSessionOut(transaction_id=request.transaction_id).wire())


async def _cancel(tx: Tx, request: CancelSessionIn, now: datetime) -> None:
    found = await repository.download_session(tx, request.transaction_id)
    if found is not None and found[0].state == SessionState.CANCELLED:
        return  # cancelling twice answers the same
    open_states = {SessionState.INITIATED, SessionState.DOWNLOADED}
    if found is None or SessionState(found[0].state) not in open_states:
        raise RspError(TRANSACTION_UNKNOWN, f"no open download session {request.transaction_id!r}")
    row, profile = found
    was = SessionState(row.state)
    await move_session(tx, row, SessionState.CANCELLED)
    if was == SessionState.DOWNLOADED and profile is not None:
        if profile.state == P.DOWNLOADED:
            detail = {"eid": row.eid, "transactionId": row.transaction_id, "reason": request.reason}
            await lifecycle.change(
                tx, profile, P.ERROR, function="cancelSession", now=now, detail=detail
            )
