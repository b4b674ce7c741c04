"""Phone escalation (issue #10): the call tasks one side owes the other (decision D195).

Which paths go by telephone (spec 5.3-5.4, from the seeds):

- **escalation**: an incident whose severity is the most severe of its policy. When the
  responding side is contacted, the side that opened the incident must phone it:
  - the platform phones the operator's NOC for a detected or platform-declared High
    (two-level policies: "Escalation via phone by the OSOC") or Sev 1 (Mobile Plans:
    "once partner contact is made" — the contact is the call);
  - the operator phones the platform's operations centre for a High it declared
    (two-level policies: "by phone to the Operations center and an email"); a Mobile
    Plans Sev 1 declared by an operator goes by email only (seed 000), so no task.
- **outage**: an outage declared under a two-level policy (DYNAMO, Data Marketplace:
  "via telephone and email no more than 30 minutes after"): the declaring side must phone
  the other side. Mobile Plans 2019 outages go by email only, so they get no task.

The numbers: the operator side's registry contacts with a phone, the platform side's
``Settings.platform_contacts`` with a phone, each matched on the incident's severity and
environment as mail recipients are; severity-specific contacts before ``any`` ones.

A task is open until a recorded call reaches someone (:mod:`call_records`); an
acknowledgement by the responding side through the API supersedes an open escalation
task, a severity lowered below the top cancels it, and resolution cancels every open task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import Incident, IncidentCallTask, IncidentEvent
from mobileplans.domains.incident import notify, repository
from mobileplans.domains.incident.policies import policy_named
from mobileplans.domains.incident.schemas import (
    CallAttemptRead,
    CallNumber,
    CallTaskRead,
)
from mobileplans.domains.notification import service as notifications
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.errors import NotFound

PHONE_POLICIES = frozenset({"dynamo", "data_marketplace"})
"""The two-level policies: High escalations both ways and outage communications go "via
telephone and email" (seeds 001, 002)."""


def escalates_by_phone(policy: str, severity: str, caller: str) -> bool:
    """Whether ``caller`` escalates ``severity`` (its policy's most severe) by phone."""
    try:
        top = policy_named(policy).severity(severity).rank == 1
    except KeyError:
        return False
    return top and (caller == "platform" or policy in PHONE_POLICIES)


def other_side(side: str) -> str:
    return "operator" if side == "platform" else "platform"


async def _contacts(
    session: AsyncSession, ctx: notify.NotifyContext, incident: Incident, callee: str
) -> list[tuple[str, str | None, str, str]]:
    """``(severity, environment, name, phone)`` of the callee side's contacts with a phone."""
    if callee == "platform":
        return [
            (c.severity, c.environment.value if c.environment else None, c.name, c.phone)
            for c in ctx.platform_contacts
            if c.phone
        ]
    assert incident.operator_id is not None
    try:
        operator = await registry_service.get_operator(session, incident.operator_id)
    except NotFound:
        return []
    return [
        (c.severity.value, c.environment.value if c.environment else None, c.name, c.phone)
        for c in operator.contacts
        if c.phone
    ]


async def numbers_for(
    session: AsyncSession, ctx: notify.NotifyContext, incident: Incident, callee: str
) -> list[dict[str, str]]:
    """The numbers to try, in order: severity-specific contacts, then ``any`` ones."""
    found = [
        c
        for c in await _contacts(session, ctx, incident, callee)
        if notifications.contact_matches(c[0], c[1], incident.severity, incident.environment)
    ]
    found.sort(key=lambda c: c[0] == "any")
    return [{"name": name, "phone": phone} for _, _, name, phone in found]


def event(
    incident_id: int,
    kind: str,
    at: datetime,
    *,
    side: str,
    actor: str,
    message: str,
    data: dict[str, Any],
) -> IncidentEvent:
    return IncidentEvent(
        incident_id=incident_id, at=at, kind=kind, side=side, actor=actor, message=message,
        data=data,
    )  # fmt: skip


async def open_task(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    purpose: str,
    caller: str,
    now: datetime,
) -> IncidentCallTask | None:
    """A new open task (None if one of that purpose is already open), on the timeline."""
    callee = other_side(caller)
    numbers = await numbers_for(session, ctx, incident, callee)
    task = IncidentCallTask(
        incident_id=incident.id, open_key=f"{incident.id}|{purpose}", purpose=purpose,
        caller=caller, callee=callee, severity=incident.severity, numbers=numbers,
        next_index=0, attempts=0, status="open", outcome=None, reached=None, opened_at=now,
        closed_at=None, updated_at=now,
    )  # fmt: skip
    if not await repository.insert_call_task(session, task):
        return None
    first = f"{numbers[0]['name']}, {numbers[0]['phone']}" if numbers else "no number on file"
    what = "escalate by phone" if purpose == "escalation" else "phone the outage"
    message = f"the {caller} side must {what} to the {callee} side (call {first})"
    data = {"task": task.id, "purpose": purpose}
    repository.add_event(
        session,
        event(incident.id, "call_task", now, side="system", actor="engine", message=message,
              data=data),
    )  # fmt: skip
    return task


async def on_contacted(
    session: AsyncSession, ctx: notify.NotifyContext, incident: Incident, now: datetime
) -> None:
    """The responding side was contacted: a top-severity partner incident gets its task."""
    if incident.operator_id is None or incident.acknowledged_at is not None:
        return
    pending = await repository.call_tasks(session, incident.id, open_only=True)
    if any(t.caller == incident.opened_by for t in pending):
        return  # the outage call to the same side carries the escalation too
    if escalates_by_phone(incident.policy, incident.severity, incident.opened_by):
        await open_task(session, ctx, incident, "escalation", incident.opened_by, now)


async def on_outage_declared(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    side: str,
    now: datetime,
) -> None:
    if incident.operator_id is not None and incident.policy in PHONE_POLICIES:
        await open_task(session, ctx, incident, "outage", side, now)


async def on_severity_changed(
    session: AsyncSession, ctx: notify.NotifyContext, incident: Incident, now: datetime
) -> None:
    """Raised to the top: the escalation task (if contacted, not yet acknowledged);
    lowered from it: the open escalation task is cancelled."""
    if not escalates_by_phone(incident.policy, incident.severity, incident.opened_by):
        await close_tasks(session, incident, ["escalation"], now, status="cancelled")
    elif incident.contacted_at is not None:
        await on_contacted(session, ctx, incident, now)


async def close_tasks(
    session: AsyncSession,
    incident: Incident,
    purposes: Sequence[str],
    now: datetime,
    *,
    status: str,
) -> int:
    """Close the open tasks of ``purposes`` with ``status`` (superseded, cancelled)."""
    closed = 0
    for task in await repository.call_tasks(session, incident.id, open_only=True):
        if task.purpose in purposes:
            task.open_key, task.status, task.closed_at, task.updated_at = None, status, now, now
            closed += 1
    return closed


def next_number(task: IncidentCallTask) -> CallNumber | None:
    if task.status != "open" or not task.numbers:
        return None
    return CallNumber.model_validate(task.numbers[task.next_index % len(task.numbers)])


def to_read(task: IncidentCallTask, events: Sequence[IncidentEvent]) -> CallTaskRead:
    attempts = [
        CallAttemptRead(
            at=e.at,
            actor=e.actor,
            number=e.data.get("number", ""),
            name=e.data.get("name", ""),
            outcome=e.data.get("outcome", ""),
            reached=e.data.get("reached", ""),
            notes=e.data.get("notes", ""),
        )
        for e in events
        if e.kind == "call" and e.data.get("task") == task.id
    ]
    return CallTaskRead(
        id=task.id, incident_id=task.incident_id, purpose=task.purpose, caller=task.caller,
        callee=task.callee, severity=task.severity, status=task.status,
        numbers=[CallNumber.model_validate(n) for n in task.numbers],
        next_number=next_number(task), outcome=task.outcome, reached=task.reached,
        opened_at=task.opened_at, closed_at=task.closed_at, attempts=attempts,
    )  # fmt: skip


async def read_tasks(session: AsyncSession, incident_id: int) -> list[CallTaskRead]:
    tasks = await repository.call_tasks(session, incident_id)
    if not tasks:
        return []
    events = await repository.events(session, incident_id)
    return [to_read(t, events) for t in tasks]
