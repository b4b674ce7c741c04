"""Incident messages: one template per event kind, sent to each side's contacts.

Operator side: the operator's registry contacts for the incident's environment and
severity (plus its webhook); platform side: ``Settings.platform_contacts`` (implementation
support in staging, operations support in production). A partner incident inhibited by a
global one (``parent_id`` set) sends nothing to the operator; a global incident's outage
communication goes to every operator with that environment.

Each side gets its own rendering (issue #8): what that side now owes (its open deadlines)
and its next step, every instant in the recipient's time zone and in UTC, to the minute.
The operator side reads its registry time zone; the platform side reads UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import Environment, PlatformContact
from mobileplans.db.models import Incident, IncidentClock
from mobileplans.domains.incident import repository
from mobileplans.domains.incident.policies import policy_named
from mobileplans.domains.notification import service as notifications
from mobileplans.domains.notification.schemas import Message, Recipient
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OnboardingPhase
from mobileplans.errors import NotFound

SUBJECTS = {
    "opened": "opened",
    "severity_changed": "severity changed",
    "acknowledged": "acknowledged",
    "update": "update",
    "mitigated": "mitigated",
    "resolved": "resolved",
    "closed": "closed",
    "reminder": "reminder: deadline approaching",
    "breach": "BREACH: deadline missed",
    "communication": "outage communication",
    "escalated": "escalated",
}


@dataclass(frozen=True)
class Audience:
    operator: bool = True
    platform: bool = True


@dataclass
class NotifyContext:
    platform_contacts: Sequence[PlatformContact] = field(default_factory=list)


def _label(incident: Incident) -> str:
    try:
        rule = policy_named(incident.policy).severity(incident.severity)
        return f"{incident.severity.upper()} {rule.label}"
    except KeyError:
        return incident.severity.upper()


@dataclass(frozen=True)
class Reader:
    """Who a rendering is for: their side and their time zone (IANA name)."""

    side: str = "platform"
    timezone: str = "UTC"


OWED = {
    "response": "a first response (acknowledge the incident)",
    "update": "an update",
    "resolution": "resolution",
    "communication": "a first outage communication to the other side",
}


def when(at: datetime, timezone: str) -> str:
    """``2026-11-02 10:15 CET (09:15 UTC)``: the reader's time, then UTC; to the minute."""
    utc = at.astimezone(UTC)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    if zone.key in ("UTC", "Etc/UTC"):
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({utc:%Y-%m-%d %H:%M} UTC)"


def _owed_lines(clocks: Sequence[IncidentClock], side: str, tz: str) -> list[str]:
    return [
        f"- {OWED.get(c.clock, c.clock)} by {when(c.due_at, tz)}"
        + (" (missed)" if c.breached_at is not None else "")
        for c in sorted(clocks, key=lambda c: c.due_at)
        if c.owner == side
    ]


def next_step(incident: Incident, clocks: Sequence[IncidentClock], side: str) -> str:
    """The one thing ``side`` should do now, with the API call and the CLI command."""
    ref = f"/v1/incidents/{incident.id}"
    owes = {c.clock for c in clocks if c.owner == side}
    if "communication" in owes:
        return (
            f"send the first outage communication: POST {ref}/communications "
            f"(CLI: mobileplans incidents communicate {incident.id} -m TEXT)."
        )
    if incident.status in ("resolved", "closed"):
        return "nothing: the incident is " + f"{incident.status}."
    if side != incident.responder:
        return (
            f"nothing for now: the {incident.responder} side owes the deadlines; its "
            "acknowledgement and updates come to you by mail."
        )
    if incident.acknowledged_at is None and incident.status in ("open", "contacted"):
        return (
            f"acknowledge the incident: POST {ref}/acknowledge "
            f"(CLI: mobileplans incidents ack {incident.id})."
        )
    if incident.status == "mitigated":
        return f"resolve it once the service is back: POST {ref}/resolve."
    return (
        f"post an update before its deadline: POST {ref}/updates (CLI: mobileplans "
        f"incidents update {incident.id} -m TEXT); mitigate or resolve when it is fixed."
    )


def _obligations(incident: Incident, clocks: Sequence[IncidentClock], reader: Reader) -> list[str]:
    mine = _owed_lines(clocks, reader.side, reader.timezone)
    lines = [""]
    if mine:
        lines += [f"What you owe now ({reader.side} side):", *mine]
    else:
        lines.append(f"Your side ({reader.side}) owes nothing now.")
        theirs = [o for o in ("operator", "platform") if o != reader.side]
        for other in theirs:
            owed = _owed_lines(clocks, other, reader.timezone)
            if owed:
                lines += [f"The {other} side owes:", *owed]
    lines.append(f"Next step: {next_step(incident, clocks, reader.side)}")
    return lines


def render(
    incident: Incident,
    kind: str,
    note: str = "",
    *,
    reader: Reader | None = None,
    clocks: Sequence[IncidentClock] = (),
) -> Message:
    reader = reader or Reader()
    open_clocks = [c for c in clocks if not c.closed]
    where = incident.operator_id or "all partners"
    subject = (
        f"[{incident.severity.upper()}] Incident #{incident.id} {SUBJECTS.get(kind, kind)}: "
        f"{incident.title} ({where}, {incident.environment or 'all environments'})"
    )
    reasons = incident.evidence.get("reasons", []) if incident.evidence else []
    lines = [
        f"Incident #{incident.id}: {incident.title}",
        f"Severity: {_label(incident)} (policy {incident.policy})",
        f"Status: {incident.status}",
        f"Scope: {incident.scope}; operator: {where}; environment: {incident.environment or '-'}",
        f"Opened by: {incident.opened_by}; responding side: {incident.responder}",
        f"Detected: {when(incident.detected_at, reader.timezone)}",
    ]
    lines += [f"Evidence: {r}" for r in reasons]
    if note:
        lines += ["", note]
    lines += _obligations(incident, open_clocks, reader)
    payload = {
        "incidentId": incident.id,
        "kind": kind,
        "severity": incident.severity,
        "status": incident.status,
        "operatorId": incident.operator_id,
        "environment": incident.environment,
        "title": incident.title,
        "note": note,
        "deadlines": [
            {
                "clock": c.clock,
                "owner": c.owner,
                "dueAt": c.due_at.astimezone(UTC).isoformat(timespec="seconds"),
            }
            for c in sorted(open_clocks, key=lambda c: c.due_at)
        ],
        "nextStep": next_step(incident, open_clocks, reader.side),
    }
    return Message(
        event=f"incident.{kind}",
        subject=subject,
        body="\n".join(lines) + "\n",
        payload=payload,
        operator_id=incident.operator_id,
        incident_id=incident.id,
    )


async def _timezone_of(session: AsyncSession, operator_id: str) -> str:
    try:
        return (await registry_service.get_operator(session, operator_id)).timezone
    except NotFound:
        return "UTC"


async def _operator_side(
    session: AsyncSession, incident: Incident
) -> list[tuple[Reader, list[Recipient]]]:
    """Recipients per operator, with that operator's time zone."""
    if incident.operator_id is not None:
        recipients = await notifications.operator_recipients(
            session,
            incident.operator_id,
            environment=incident.environment,
            severity=incident.severity,
        )
        tz = await _timezone_of(session, incident.operator_id)
        return [(Reader("operator", tz), recipients)]
    out: list[tuple[Reader, list[Recipient]]] = []
    for operator in await registry_service.list_operators(session):
        if incident.environment in {e.value for e in operator.environments}:
            recipients = await notifications.operator_recipients(
                session, operator.id, environment=incident.environment, severity=incident.severity
            )
            out.append((Reader("operator", operator.timezone), recipients))
    return out


async def _support_environment(session: AsyncSession, incident: Incident) -> str | None:
    """Whose platform contacts: before its launch an operator's incidents go to
    implementation support (the staging contacts), after it to operations support by
    environment (seed 000 "during staging / onboarding"; issue #9, D148)."""
    if incident.operator_id is None:
        return incident.environment
    try:
        operator = await registry_service.get_operator(session, incident.operator_id)
    except NotFound:
        return incident.environment
    if operator.onboarding_phase is OnboardingPhase.LAUNCHED:
        return incident.environment
    return Environment.STAGING.value


async def send(
    session: AsyncSession,
    ctx: NotifyContext,
    incident: Incident,
    kind: str,
    *,
    now: datetime,
    note: str = "",
    key: str = "",
    audience: Audience | None = None,
) -> int:
    """Enqueue ``kind`` about ``incident`` to both sides (or ``audience``); returns rows added."""
    audience = audience or Audience()
    batches: list[tuple[Reader, list[Recipient]]] = []
    inhibited = incident.parent_id is not None
    if audience.operator and not inhibited:
        if incident.operator_id is not None or kind == "communication":
            batches += await _operator_side(session, incident)
    if audience.platform:
        platform = notifications.platform_recipients(
            ctx.platform_contacts,
            environment=await _support_environment(session, incident),
            severity=incident.severity,
        )
        batches.append((Reader("platform", "UTC"), platform))
    batches = [(reader, recipients) for reader, recipients in batches if recipients]
    if not batches:
        return 0
    clocks = await repository.clocks(session, incident.id)
    dedupe = f"incident:{incident.id}:{kind}:{key}"
    added = 0
    for reader, recipients in batches:
        message = render(incident, kind, note, reader=reader, clocks=clocks)
        added += await notifications.enqueue(session, message, recipients, dedupe=dedupe, now=now)
    return added
