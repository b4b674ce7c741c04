"""The Local Profile Assistant: download, install and enable a profile from an activation code.

Against the SM-DP+ device interface of docs/activation.md (an ES9+-shaped sequence):
``initiateDownload(eid, matchingId)`` → ``getBoundProfilePackage(transactionId[, hashCc])``
→ install on the eUICC → ``handleNotification(install)`` → enable →
``handleNotification(enable)``. Every failure ends as an ``ESimOperationStatus`` (spec 2.1.3)
that the app reports to the portal (``activationArgs``, spec 2.2.4) and, on re-entry, in
the ``X-MP-LPAError-*`` headers (spec 2.1.3, 1.9): :class:`LpaErrorLog`.

Built-in retries (spec 1.9 step 1): ``initiateDownload`` is retried while the SM-DP+ is
unreachable or failing; each failed attempt is logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from mobileplans.kit.clock import Clock
from mobileplans.kit.esim import (
    ActivationCode,
    ESimOperationStatus,
    confirmation_code_digest,
    hash_cc,
)
from mobileplans.simulator.clients import DownloadSession, SmdpDeviceClient, SmdpError
from mobileplans.simulator.euicc import Euicc, EuiccError, EuiccProfile
from mobileplans.simulator.runlog import Halt, ScenarioRun, StepResult

RETRIABLE = frozenset({ESimOperationStatus.ServerNotReachable, ESimOperationStatus.ServerFailure})
RELEASE_TRIES = 10
ERROR_HEADERS = ("X-MP-LPAError-Codes", "X-MP-LPAError-TimeStamps", "X-MP-LPAError-ICCIDs")


@dataclass(frozen=True)
class LpaFailure:
    status: ESimOperationStatus
    at: datetime
    iccid: str | None


class LpaErrorLog:
    """Failed LPA operations since the last success: the re-entry headers (spec 2.1.3).

    Timestamps are ISO 8601 with the device's UTC offset (our choice, spec 7.1 #19);
    ``X-MP-LPAError-ICCIDs`` carries one ICCID, the profile the app tried to install.
    """

    def __init__(self, timezone: tzinfo) -> None:
        self.timezone = timezone
        self.failures: list[LpaFailure] = []

    def record(self, status: ESimOperationStatus, at: datetime, iccid: str | None) -> None:
        self.failures.append(LpaFailure(status, at, iccid))

    def clear(self) -> None:
        self.failures.clear()

    def headers(self) -> dict[str, str]:
        if not self.failures:
            return {}
        stamps = [
            f.at.astimezone(self.timezone).isoformat(timespec="seconds") for f in self.failures
        ]
        headers = {
            "X-MP-LPAError-Codes": ",".join(f.status.name for f in self.failures),
            "X-MP-LPAError-TimeStamps": ",".join(stamps),
        }
        iccid = next((f.iccid for f in reversed(self.failures) if f.iccid), None)
        if iccid:
            headers["X-MP-LPAError-ICCIDs"] = iccid
        return headers


@dataclass
class LpaResult:
    status: ESimOperationStatus
    iccid: str | None = None
    operator_id: str | None = None
    failures: list[ESimOperationStatus] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status is ESimOperationStatus.Success


class _Stop(Halt):
    def __init__(self, status: ESimOperationStatus) -> None:
        self.status = status


SmdpFactory = Callable[[str], SmdpDeviceClient]


class Lpa:
    def __init__(
        self,
        euicc: Euicc,
        *,
        imei: str | None,
        smdp_for: SmdpFactory,
        clock: Clock,
        errors: LpaErrorLog,
        attempts: int = 3,
        retry_seconds: float = 0.3,
    ) -> None:
        self.euicc = euicc
        self.imei = imei
        self.smdp_for = smdp_for
        self.clock = clock
        self.errors = errors
        self.attempts = max(1, attempts)
        self.retry_seconds = retry_seconds

    async def download(
        self,
        code: ActivationCode,
        run: ScenarioRun,
        *,
        confirmation_code: str | None = None,
        expected: ESimOperationStatus = ESimOperationStatus.Success,
        release_wait_seconds: float | None = None,
    ) -> LpaResult:
        """Download, install and enable; record one step per operation in ``run``.

        A failure equal to ``expected`` is recorded as a passing step (an injected fault).
        ``release_wait_seconds``: a delayed profile may not be released yet when the user
        accepts the toast; ``ProfileNotReleasedByOperator`` is then retried that often.
        """
        result = LpaResult(ESimOperationStatus.Success)
        smdp = self.smdp_for(code.smdp_address)
        try:
            session = await self._initiate(smdp, code, run, result, expected, release_wait_seconds)
            package = await self._fetch(smdp, session, confirmation_code, run, result, expected)
            await self._install(smdp, session, package, run, result, expected)
            await self._enable(smdp, session, run, result, expected)
        except _Stop as stop:
            result.status = stop.status
            return result
        self.errors.clear()
        return result

    def _failed(
        self,
        step: StepResult,
        status: ESimOperationStatus,
        detail: str,
        result: LpaResult,
        expected: ESimOperationStatus,
    ) -> _Stop:
        self.errors.record(status, self.clock.now(), result.iccid)
        result.failures.append(status)
        if status is expected:
            step.note(f"failed as expected: {status.name} ({detail})")
        else:
            step.fail(f"{status.name}: {detail}")
        return _Stop(status)

    async def _initiate(
        self,
        smdp: SmdpDeviceClient,
        code: ActivationCode,
        run: ScenarioRun,
        result: LpaResult,
        expected: ESimOperationStatus,
        release_wait: float | None,
    ) -> DownloadSession:
        attempts = self.attempts if release_wait is None else max(self.attempts, RELEASE_TRIES)
        for attempt in range(1, attempts + 1):
            async with run.step("lpa: initiateDownload") as step:
                try:
                    session = await smdp.initiate_download(
                        self.euicc.eid, code.matching_id, self.imei
                    )
                except SmdpError as exc:
                    waiting = exc.status is ESimOperationStatus.ProfileNotReleasedByOperator
                    if waiting and release_wait is not None and attempt < attempts:
                        step.skip(f"attempt {attempt}: not released yet; waiting {release_wait:g}s")
                        await asyncio.sleep(release_wait)
                        continue
                    if exc.status not in RETRIABLE or attempt >= attempts:
                        raise self._failed(step, exc.status, exc.detail, result, expected) from exc
                    self.errors.record(exc.status, self.clock.now(), result.iccid)
                    result.failures.append(exc.status)
                    step.skip(f"attempt {attempt}: {exc.status.name}; retrying")
                    await asyncio.sleep(self.retry_seconds * attempt)
                    continue
                result.iccid, result.operator_id = session.iccid, session.operator_id
                step.note(
                    f"transactionId {session.transaction_id}, ICCID {session.iccid}, "
                    f"{session.service_provider_name} / {session.profile_name}"
                )
                return session
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _fetch(
        self,
        smdp: SmdpDeviceClient,
        session: DownloadSession,
        confirmation_code: str | None,
        run: ScenarioRun,
        result: LpaResult,
        expected: ESimOperationStatus,
    ) -> dict[str, Any]:
        async with run.step("lpa: getBoundProfilePackage") as step:
            digest = None
            if session.cc_required:
                if confirmation_code is None:
                    await _quietly(smdp.cancel_session(session.transaction_id, "ccMissing"))
                    status = ESimOperationStatus.ConfirmationCodeMissing
                    raise self._failed(step, status, "SM-DP+ asks for one", result, expected)
                digest = hash_cc(
                    confirmation_code_digest(confirmation_code), session.transaction_id
                )
            try:
                package = await smdp.get_bound_profile_package(session.transaction_id, digest)
            except SmdpError as exc:
                raise self._failed(step, exc.status, exc.detail, result, expected) from exc
            bound_iccid, bound_eid = package.get("iccid"), package.get("eid")
            if bound_iccid is not None and str(bound_iccid) != session.iccid:
                status = ESimOperationStatus.Other
                detail = f"package ICCID {bound_iccid} is not the announced {session.iccid}"
                raise self._failed(step, status, detail, result, expected)
            if bound_eid is not None and str(bound_eid) != self.euicc.eid:
                status = ESimOperationStatus.EidMismatch
                detail = f"package bound to EID {bound_eid}"
                raise self._failed(step, status, detail, result, expected)
            step.note(f"{len(package)} profile fields")
            return package

    async def _install(
        self,
        smdp: SmdpDeviceClient,
        session: DownloadSession,
        package: dict[str, Any],
        run: ScenarioRun,
        result: LpaResult,
        expected: ESimOperationStatus,
    ) -> None:
        profile = EuiccProfile(
            iccid=session.iccid,
            operator_id=session.operator_id or _text(package.get("operatorId")),
            service_provider_name=session.service_provider_name,
            profile_name=session.profile_name,
            profile_class=session.profile_class,
        )
        async with run.step("lpa: install") as step:
            try:
                self.euicc.install(profile)
            except EuiccError as exc:
                await self._notify(smdp, session, "install", run, success=False, reason=exc.status)
                raise self._failed(step, exc.status, exc.detail, result, expected) from exc
            step.note(f"{self.euicc.free_slots} slot(s) left on {self.euicc.eid}")
        await self._notify(smdp, session, "install", run, success=True)

    async def _enable(
        self,
        smdp: SmdpDeviceClient,
        session: DownloadSession,
        run: ScenarioRun,
        result: LpaResult,
        expected: ESimOperationStatus,
    ) -> None:
        async with run.step("lpa: enable") as step:
            try:
                previous = self.euicc.enable(session.iccid)
            except EuiccError as exc:
                await self._notify(smdp, session, "enable", run, success=False, reason=exc.status)
                raise self._failed(step, exc.status, exc.detail, result, expected) from exc
            step.note(f"{session.iccid} enabled" + (f", {previous} disabled" if previous else ""))
        await self._notify(smdp, session, "enable", run, success=True)

    async def _notify(
        self,
        smdp: SmdpDeviceClient,
        session: DownloadSession,
        event: str,
        run: ScenarioRun,
        *,
        success: bool,
        reason: ESimOperationStatus | None = None,
    ) -> None:
        """handleNotification: a lost notification is noted, it does not undo the card."""
        async with run.step(f"lpa: handleNotification({event})") as step:
            try:
                await smdp.handle_notification(
                    session.transaction_id,
                    self.euicc.eid,
                    session.iccid,
                    event,
                    success=success,
                    reason=reason.name if reason else None,
                )
            except SmdpError as exc:
                step.fail(f"{exc.status.name}: {exc.detail}")
                return
            step.note(f"success={str(success).lower()}" + (f", {reason.name}" if reason else ""))


async def _quietly(call: Any) -> None:
    try:
        await call
    except SmdpError:
        return


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
