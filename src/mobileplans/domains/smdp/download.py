"""The device download interface (docs/activation.md "Device download interface").

An SGP.22-shaped stand-in for ES9+ (esim-rsp 1.7) without PKI and ASN.1:
``initiateDownload`` (matchingId + EID: eligibility, notification point 1) →
``getBoundProfilePackage`` (confirmation code check, profile ``Downloaded``, point 3) →
``handleNotification`` (install result, point 4; enable/disable/delete recorded), and
``cancelSession``. Errors are HTTP 200 bodies with ``functionExecutionStatus`` Failed and
the ``ESimOperationStatus`` name (spec 2.1.3) the LPA reports.

Failures that change data (attempt counters, a profile moved to ``Error``) are answers,
not exceptions, so the edge commits them together with the failure response.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import orjson
from pydantic import ValidationError

from mobileplans.db.driver_tx import Tx
from mobileplans.domains.smdp import callbacks, lifecycle, repository
from mobileplans.domains.smdp.codes import (
    CC_MISSING,
    CC_REFUSED,
    CC_RETRIES_EXCEEDED,
    DOWNLOAD_RETRIES_EXCEEDED,
    EID_MISMATCH,
    EXECUTION_ERROR,
    MALFORMED,
    MATCHING_ID_REFUSED,
    NOT_RELEASED,
    PROFILE_NOT_AVAILABLE,
    TRANSACTION_UNKNOWN,
    ConcurrentUpdate,
    RspError,
    device_failed,
)
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.domains.smdp.envelope import MAX_BODY_BYTES
from mobileplans.domains.smdp.repository import ProfileRow, SessionRow
from mobileplans.domains.smdp.schemas import (
    BoundProfilePackageOut,
    DeviceRequest,
    GetBoundProfilePackageIn,
    InitiateDownloadIn,
    InitiateDownloadOut,
    NotificationPoint,
    Outcome,
    PendingCallback,
    ProfileMetadata,
    ProfileState,
    SessionState,
)
from mobileplans.kit.esim import hash_cc
from mobileplans.kit.identifiers import IdentifierError, parse_eid, parse_imei

P = ProfileState
M = TypeVar("M", bound=DeviceRequest)
RETRYABLE: Final = frozenset({P.RELEASED, P.DOWNLOADED, P.ERROR})  # spec 2.2.5: reuse to retry
NOT_RELEASED_STATES: Final = frozenset({P.ALLOCATED, P.LINKED, P.CONFIRMED})
OPEN_SESSIONS: Final = (SessionState.INITIATED.value, SessionState.DOWNLOADED.value)


class DeviceFailure(Exception):
    """A device-interface failure; ``callbacks`` still go out (the failure is committed)."""

    def __init__(self, error: RspError, callbacks: tuple[PendingCallback, ...] = ()) -> None:
        super().__init__(error.message)
        self.error = error
        self.callbacks = callbacks


def parse(model: type[M], raw: bytes) -> M:
    """Validate a device request body; any problem is ``1.3.1/2.1`` naming the member."""
    if len(raw) > MAX_BODY_BYTES:
        raise RspError(MALFORMED, f"request body larger than {MAX_BODY_BYTES} bytes")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise RspError(MALFORMED, f"{where}: {first.get('msg', 'invalid')}") from exc


def failed(exc: RspError | DeviceFailure) -> Outcome:
    if isinstance(exc, DeviceFailure):
        return Outcome(device_failed(exc.error.code, exc.error.message), exc.callbacks)
    return Outcome(device_failed(exc.code, exc.message))


def busy() -> Outcome:
    return Outcome(device_failed(EXECUTION_ERROR))


async def initiate_download(tx: Tx, raw: bytes, *, config: SmdpConfig, now: datetime) -> Outcome:
    """``POST initiateDownload`` {eid, matchingId, imei?}: eligibility (notification point 1)."""
    try:
        request = parse(InitiateDownloadIn, raw)
        eid = identifier(parse_eid, request.eid, "eid")
        imei = identifier(parse_imei, request.imei, "imei") if request.imei else None
        profile = await _eligible(tx, request.matching_id, eid, config, now)
    except (RspError, DeviceFailure) as exc:
        return failed(exc)
    transaction_id = secrets.token_hex(16).upper()
    await repository.end_open_sessions(
        tx,
        profile.iccid,
        open_states=OPEN_SESSIONS,
        to_state=SessionState.SUPERSEDED.value,
    )
    await _bind(tx, profile, eid, transaction_id, imei, now)
    await repository.add_session(
        tx,
        transaction_id=transaction_id,
        iccid=profile.iccid,
        eid=eid,
        state=SessionState.INITIATED.value,
        created_at=now,
        expires_at=now + timedelta(seconds=config.session_ttl_seconds),
    )
    response = InitiateDownloadOut(
        transaction_id=transaction_id,
        cc_required=profile.confirmation_code_hash is not None,
        profile_metadata=_metadata(profile),
    )
    point = callbacks.progress(profile, NotificationPoint.ELIGIBILITY, now, eid=eid)
    return Outcome(response.wire(), point)


def identifier(parser: Any, value: str, field: str) -> str:
    try:
        result: str = parser(value, field=field)
    except IdentifierError as exc:
        raise RspError(MALFORMED, str(exc)) from exc
    return result


def _metadata(profile: ProfileRow) -> ProfileMetadata:
    return ProfileMetadata(
        iccid=profile.iccid,
        service_provider_name=profile.spn,
        profile_name=profile.profile_name,
        operator_id=profile.operator_id,
    )


async def _eligible(
    tx: Tx, matching_id: str, eid: str, config: SmdpConfig, now: datetime
) -> ProfileRow:
    """The profile this matchingId names, if this EID may download it now."""
    profile = await repository.profile_by_matching_id(tx, matching_id) if matching_id else None
    if profile is None:
        raise RspError(MATCHING_ID_REFUSED, "unknown matchingId")
    state = ProfileState(profile.state)
    error: RspError | None = None
    if profile.eid is not None and profile.eid != eid:
        error = RspError(EID_MISMATCH, "the profile is bound to another EID")
    elif state in NOT_RELEASED_STATES:
        error = RspError(NOT_RELEASED, f"profile is {state}, not yet released by the operator")
    elif state not in RETRYABLE:
        error = RspError(PROFILE_NOT_AVAILABLE, f"profile is {state}: not available for download")
    elif profile.download_attempts >= config.max_download_attempts:
        error = RspError(DOWNLOAD_RETRIES_EXCEEDED)
        if state != P.ERROR:
            detail = {"eid": eid, "reason": "download attempts exceeded"}
            await lifecycle.change(
                tx, profile, P.ERROR, function="initiateDownload", now=now, detail=detail
            )
    if error is not None:
        notes = callbacks.progress(
            profile, NotificationPoint.ELIGIBILITY, now,
            eid=eid, failure=error.code, message=error.message,
        )  # fmt: skip
        raise DeviceFailure(error, notes)
    return profile


async def _bind(
    tx: Tx,
    profile: ProfileRow,
    eid: str,
    transaction_id: str,
    imei: str | None,
    now: datetime,
) -> None:
    """Count the attempt; bind the EID of the first device when the order named none."""
    attempts = profile.download_attempts + 1
    if profile.eid is None:
        detail = {"eid": eid, "transactionId": transaction_id, "imei": imei, "bound": True}
        await lifecycle.change(
            tx,
            profile,
            ProfileState(profile.state),
            function="initiateDownload",
            now=now,
            detail={k: v for k, v in detail.items() if v is not None},
            eid=eid,
            download_attempts=attempts,
        )
    else:
        await lifecycle.update_counters(tx, profile, download_attempts=attempts)


async def move_session(tx: Tx, row: SessionRow, to: SessionState) -> None:
    """Compare-and-set the session's state; a concurrent request that moved it first makes
    this transaction run again (:class:`ConcurrentUpdate`)."""
    if not await repository.set_session_state(
        tx, row.transaction_id, seen=row.state, to_state=to.value
    ):
        raise ConcurrentUpdate(row.transaction_id)
    row.state = to.value


async def open_session(
    tx: Tx, transaction_id: str, now: datetime, *, states: set[SessionState]
) -> tuple[SessionRow, ProfileRow | None]:
    """The download session ``transaction_id`` in one of ``states`` (else 8.10.1/3.9), with
    its profile."""
    found = await repository.download_session(tx, transaction_id)
    if found is None or SessionState(found[0].state) not in states:
        raise RspError(TRANSACTION_UNKNOWN, f"no open download session {transaction_id!r}")
    row = found[0]
    if row.state == SessionState.INITIATED and row.expires_at <= now:
        await repository.set_session_state(
            tx, transaction_id, seen=row.state, to_state=SessionState.EXPIRED.value
        )
        raise RspError(TRANSACTION_UNKNOWN, f"download session {transaction_id!r} expired")
    return found


async def get_bound_profile_package(
    tx: Tx, raw: bytes, *, config: SmdpConfig, now: datetime
) -> Outcome:
    """``POST getBoundProfilePackage`` {transactionId, hashCc?}: confirmation code check,
    then the BPP (base64 JSON of the profile); the profile becomes ``Downloaded`` (point 3)."""
    try:
        request = parse(GetBoundProfilePackageIn, raw)
        row, found = await open_session(
            tx, request.transaction_id, now, states={SessionState.INITIATED}
        )
        profile = _downloadable(row, found)
        await _check_cc(tx, profile, row, request.hash_cc, config, now)
    except (RspError, DeviceFailure) as exc:
        return failed(exc)
    await move_session(tx, row, SessionState.DOWNLOADED)
    detail = {"eid": row.eid, "transactionId": row.transaction_id}
    await lifecycle.change(
        tx, profile, P.DOWNLOADED, function="getBoundProfilePackage", now=now, detail=detail
    )
    package = BoundProfilePackageOut(
        transaction_id=row.transaction_id,
        bound_profile_package=bound_profile_package(profile, row, config, now),
    )
    point = callbacks.progress(profile, NotificationPoint.BPP_DOWNLOAD, now, eid=row.eid)
    return Outcome(package.wire(), point)


def _downloadable(row: SessionRow, profile: ProfileRow | None) -> ProfileRow:
    if profile is None or ProfileState(profile.state) not in RETRYABLE or profile.eid != row.eid:
        raise RspError(PROFILE_NOT_AVAILABLE, "the profile is no longer available for download")
    return profile


async def _check_cc(
    tx: Tx,
    profile: ProfileRow,
    row: SessionRow,
    given: str | None,
    config: SmdpConfig,
    now: datetime,
) -> None:
    """``hashCc`` = SHA-256(SHA-256(CC) ‖ transactionId) (esim-rsp 1.6) when a CC was set.

    Wrong answers are counted; the ``max_cc_attempts``-th wrong one answers 8.2.7/6.4 and
    moves the profile to ``Error``. A missing hashCc is not counted.
    """
    if profile.confirmation_code_hash is None:
        return
    if profile.cc_attempts >= config.max_cc_attempts:
        raise _cc_failure(profile, row, RspError(CC_RETRIES_EXCEEDED), now)
    if not given:
        raise _cc_failure(profile, row, RspError(CC_MISSING), now)
    expected = hash_cc(bytes.fromhex(profile.confirmation_code_hash), row.transaction_id)
    if hmac.compare_digest(expected, given.strip().lower()):
        return
    attempts = profile.cc_attempts + 1
    if attempts < config.max_cc_attempts:
        await lifecycle.update_counters(tx, profile, cc_attempts=attempts)
        left = config.max_cc_attempts - attempts
        error = RspError(CC_REFUSED, f"confirmation code refused; {left} attempt(s) left")
        raise _cc_failure(profile, row, error, now)
    if profile.state == P.ERROR:  # a retry after a failed install: already Error
        await lifecycle.update_counters(tx, profile, cc_attempts=attempts)
    else:
        detail = {"eid": row.eid, "reason": "confirmation code attempts exceeded"}
        await lifecycle.change(
            tx, profile, P.ERROR, function="getBoundProfilePackage", now=now,
            detail=detail, cc_attempts=attempts,
        )  # fmt: skip
    await move_session(tx, row, SessionState.FAILED)
    raise _cc_failure(profile, row, RspError(CC_RETRIES_EXCEEDED), now)


def _cc_failure(
    profile: ProfileRow,
    row: SessionRow,
    error: RspError,
    now: datetime,
) -> DeviceFailure:
    notes = callbacks.progress(
        profile, NotificationPoint.BPP_DOWNLOAD, now,
        eid=row.eid, failure=error.code, message=error.message,
    )  # fmt: skip
    return DeviceFailure(error, notes)


def bound_profile_package(
    profile: ProfileRow, row: SessionRow, config: SmdpConfig, now: datetime
) -> str:
    """The simulated Bound Profile Package: base64 of the profile as JSON (docs/smdp.md)."""
    document = {
        "iccid": profile.iccid,
        "eid": row.eid,
        "operatorId": profile.operator_id,
        "profileType": profile.profile_type,
        "serviceProviderName": profile.spn,
        "profileName": profile.profile_name,
        "profileClass": "operational",
        "matchingId": profile.matching_id,
        "transactionId": row.transaction_id,
        "smdpAddress": config.address,
        "issuedAt": callbacks.w3c_timestamp(now),
    }
    return base64.b64encode(orjson.dumps(document)).decode()
