"""The bug workflow between the platform and an operator (spec 5.6).

1. **Report** (either side): title, description, operator, optional environment.
2. **Triage** (platform): the business justification and the impact, both required.
3. **Approve** or **reject** (platform; a rejection gives its reason).
4. **Schedule** (platform): a tentative deployment date, not in the past in the operator's
   time zone; it can be re-scheduled.
5. **Deploy** (platform): the operator gets an email that the fix is deployed.

Every step appends a :class:`~mobileplans.db.models.BugEvent` and enqueues a notification
to the other side in the same transaction: the operator's contacts when the platform acts,
the platform contacts when the operator reports. A step from the wrong status is a 409
naming the current status; an operator's credentials may report and read the bugs of their
own operator only (others answer 404) and get 403 on the platform's steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import PlatformContact
from mobileplans.db.models import Bug, BugEvent
from mobileplans.domains.access.service import Party
from mobileplans.domains.bug import repository
from mobileplans.domains.bug.schemas import (
    BugEventRead,
    BugRead,
    BugReportIn,
    BugStatus,
    DecisionIn,
    DeployIn,
    ScheduleIn,
    TriageIn,
)
from mobileplans.domains.notification import service as notification_service
from mobileplans.domains.notification.schemas import Message, Recipient
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.errors import BadRequest, Conflict, Forbidden, NotFound

S = BugStatus
ALLOWED_FROM: dict[BugStatus, frozenset[BugStatus]] = {
    S.TRIAGED: frozenset({S.REPORTED}),
    S.APPROVED: frozenset({S.TRIAGED}),
    S.REJECTED: frozenset({S.TRIAGED}),
    S.SCHEDULED: frozenset({S.APPROVED, S.SCHEDULED}),
    S.DEPLOYED: frozenset({S.SCHEDULED}),
}
"""Spec 5.6: which statuses each platform step may start from."""
VERBS = {
    S.TRIAGED: "triage",
    S.APPROVED: "approve",
    S.REJECTED: "reject",
    S.SCHEDULED: "schedule",
    S.DEPLOYED: "deploy",
}
HEADLINES = {
    S.REPORTED: "reported",
    S.TRIAGED: "triaged",
    S.APPROVED: "fix approved",
    S.REJECTED: "rejected",
    S.SCHEDULED: "fix scheduled",
    S.DEPLOYED: "fix deployed",
}


def _required(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise BadRequest(f"{field} is required (spec 5.6)", field=field)
    return text


def _scope(party: Party, operator_id: str | None) -> str | None:
    """The operator a listing is limited to: the platform may name any or none."""
    return operator_id if party.is_platform else party.acting_for(operator_id)


def to_read(bug: Bug, events: Sequence[BugEvent] | None = None) -> BugRead:
    return BugRead(
        id=bug.id,
        operator_id=bug.operator_id,
        environment=bug.environment,
        reported_by=bug.reported_by,
        title=bug.title,
        description=bug.description,
        status=BugStatus(bug.status),
        business_justification=bug.business_justification,
        impact=bug.impact,
        decision_reason=bug.decision_reason,
        tentative_deploy_date=bug.tentative_deploy_date,
        deployed_at=bug.deployed_at,
        created_at=bug.created_at,
        updated_at=bug.updated_at,
        events=None
        if events is None
        else [
            BugEventRead(at=e.at, kind=e.kind, side=e.side, actor=e.actor, message=e.message)
            for e in events
        ],
    )


# --- reading --------------------------------------------------------------------------


async def _load(session: AsyncSession, party: Party, bug_id: int, *, lock: bool) -> Bug:
    bug = await repository.get(session, bug_id, lock=lock)
    if bug is None:
        raise NotFound(f"bug {bug_id} does not exist")
    party.check_visible(bug.operator_id, f"bug {bug_id}")
    return bug


async def get_bug(session: AsyncSession, party: Party, bug_id: int) -> BugRead:
    """One bug with its timeline (404 for another operator's bug)."""
    bug = await _load(session, party, bug_id, lock=False)
    return to_read(bug, await repository.events(session, bug.id))


async def list_bugs(
    session: AsyncSession,
    party: Party,
    *,
    operator_id: str | None = None,
    status: BugStatus | None = None,
) -> list[BugRead]:
    """Newest first; an operator party sees only its own operator's bugs."""
    rows = await repository.list_bugs(
        session, operator_id=_scope(party, operator_id), status=status.value if status else None
    )
    return [to_read(row) for row in rows]


# --- steps ----------------------------------------------------------------------------


async def report(
    session: AsyncSession,
    party: Party,
    spec: BugReportIn,
    *,
    contacts: Sequence[PlatformContact],
    now: datetime,
) -> BugRead:
    """Step 1 (spec 5.6): either side logs a bug; the other side is told."""
    operator_id = party.acting_for(spec.operator_id)
    title = _required(spec.title, "title")
    description = _required(spec.description, "description")
    await registry_service.get_operator(session, operator_id)
    bug = Bug(
        operator_id=operator_id,
        environment=spec.environment.value if spec.environment else None,
        reported_by=party.side,
        title=title,
        description=description,
        status=S.REPORTED.value,
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, bug)
    await _record(session, bug, S.REPORTED, party, description, contacts=contacts, now=now)
    return to_read(bug)


async def triage(
    session: AsyncSession, party: Party, bug_id: int, spec: TriageIn, *, now: datetime
) -> BugRead:
    """Step 2 (spec 5.6): the platform gives the business justification and the impact."""
    bug = await _begin(session, party, bug_id, S.TRIAGED)
    bug.business_justification = _required(spec.business_justification, "businessJustification")
    bug.impact = _required(spec.impact, "impact")
    detail = f"Business justification: {bug.business_justification}\nImpact: {bug.impact}"
    return await _finish(session, bug, S.TRIAGED, party, detail, now=now)


async def approve(
    session: AsyncSession, party: Party, bug_id: int, spec: DecisionIn, *, now: datetime
) -> BugRead:
    """Spec 5.6: the platform approves the fix of a triaged bug."""
    bug = await _begin(session, party, bug_id, S.APPROVED)
    bug.decision_reason = (spec.reason or "").strip() or None
    return await _finish(session, bug, S.APPROVED, party, bug.decision_reason or "", now=now)


async def reject(
    session: AsyncSession, party: Party, bug_id: int, spec: DecisionIn, *, now: datetime
) -> BugRead:
    """Spec 5.6: the platform rejects a triaged bug, giving the reason."""
    bug = await _begin(session, party, bug_id, S.REJECTED)
    bug.decision_reason = _required(spec.reason, "reason")
    return await _finish(session, bug, S.REJECTED, party, f"Reason: {bug.decision_reason}", now=now)


async def schedule(
    session: AsyncSession, party: Party, bug_id: int, spec: ScheduleIn, *, now: datetime
) -> BugRead:
    """Step 3 (spec 5.6): share a tentative deployment date (again to re-schedule)."""
    bug = await _begin(session, party, bug_id, S.SCHEDULED)
    if spec.tentative_deploy_date is None:
        raise BadRequest("tentativeDeployDate is required", field="tentativeDeployDate")
    await _check_not_past(session, bug.operator_id, spec.tentative_deploy_date, now)
    previous = bug.tentative_deploy_date
    bug.tentative_deploy_date = spec.tentative_deploy_date
    detail = f"Tentative deployment date: {spec.tentative_deploy_date.isoformat()}"
    if previous is not None:
        detail += f" (was {previous.isoformat()})"
    if spec.note and spec.note.strip():
        detail += f"\n{spec.note.strip()}"
    return await _finish(session, bug, S.SCHEDULED, party, detail, now=now)


async def deploy(
    session: AsyncSession, party: Party, bug_id: int, spec: DeployIn, *, now: datetime
) -> BugRead:
    """Step 3 (spec 5.6): the fix is deployed; the operator gets an email."""
    bug = await _begin(session, party, bug_id, S.DEPLOYED)
    bug.deployed_at = now
    detail = f"Deployed at {now.isoformat()}"
    if spec.note and spec.note.strip():
        detail += f"\n{spec.note.strip()}"
    return await _finish(session, bug, S.DEPLOYED, party, detail, now=now)


async def _check_not_past(
    session: AsyncSession, operator_id: str, day: date, now: datetime
) -> None:
    zone = (await registry_service.get_operator(session, operator_id)).timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    if day < today:
        raise BadRequest(
            f"tentativeDeployDate {day.isoformat()} is in the past "
            f"(today is {today.isoformat()} in {zone})",
            field="tentativeDeployDate",
        )


async def _begin(session: AsyncSession, party: Party, bug_id: int, target: BugStatus) -> Bug:
    """403 for an operator party, 404 for an unknown bug, 409 from the wrong status."""
    verb = VERBS[target]
    if not party.is_platform:
        raise Forbidden(f"only the platform can {verb} a bug (spec 5.6)")
    bug = await _load(session, party, bug_id, lock=True)
    if BugStatus(bug.status) not in ALLOWED_FROM[target]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED_FROM[target]))
        raise Conflict(
            f"bug {bug.id} is {bug.status}: cannot {verb} it (only from {allowed})",
            status=bug.status,
        )
    return bug


async def _finish(
    session: AsyncSession, bug: Bug, target: BugStatus, party: Party, detail: str, *, now: datetime
) -> BugRead:
    bug.status = target.value
    bug.updated_at = now
    await session.flush()
    await _record(session, bug, target, party, detail, contacts=(), now=now)
    return to_read(bug)


async def _record(
    session: AsyncSession,
    bug: Bug,
    kind: BugStatus,
    party: Party,
    detail: str,
    *,
    contacts: Sequence[PlatformContact],
    now: datetime,
) -> None:
    """Append the event and tell the other side (same transaction)."""
    dedupe = f"bug:{bug.id}:{kind.value}"
    if kind is S.SCHEDULED:  # may repeat: one notice per (re)schedule
        dedupe += f":{await repository.count_events(session, bug.id, kind.value) + 1}"
    event = BugEvent(
        bug_id=bug.id, at=now, kind=kind.value, side=party.side, actor=party.actor, message=detail
    )
    await repository.add_event(session, event)
    recipients = await _other_side(session, bug, party, contacts)
    message = _message(bug, kind, party, detail)
    await notification_service.enqueue(session, message, recipients, dedupe=dedupe, now=now)


async def _other_side(
    session: AsyncSession, bug: Bug, party: Party, contacts: Sequence[PlatformContact]
) -> list[Recipient]:
    if party.is_platform:
        return await notification_service.operator_recipients(
            session, bug.operator_id, environment=bug.environment, severity=None
        )
    return notification_service.platform_recipients(
        contacts, environment=bug.environment, severity=None
    )


def _message(bug: Bug, kind: BugStatus, party: Party, detail: str) -> Message:
    headline = HEADLINES[kind]
    if kind is S.SCHEDULED and bug.tentative_deploy_date is not None:
        headline += f" for {bug.tentative_deploy_date.isoformat()}"
    where = bug.environment or "all environments"
    body = "\n".join(
        [
            f"Bug #{bug.id} of {bug.operator_id} ({where}): {bug.title}",
            f"Status: {bug.status} ({headline}, by {party.actor}, {party.side} side)",
            "",
            detail,
            "",
            "Workflow (spec 5.6): report -> triage -> approve | reject -> schedule -> deploy.",
        ]
    )
    payload = {
        "bugId": bug.id,
        "operatorId": bug.operator_id,
        "environment": bug.environment,
        "status": bug.status,
        "step": kind.value,
        "title": bug.title,
        "actor": party.actor,
        "side": party.side,
        "tentativeDeployDate": (
            bug.tentative_deploy_date.isoformat() if bug.tentative_deploy_date else None
        ),
    }
    return Message(
        event=f"bug.{kind.value}",
        subject=f"[Mobile Plans] Bug #{bug.id} {headline}: {bug.title}",
        body=body,
        payload=payload,
        operator_id=bug.operator_id,
        bug_id=bug.id,
    )
