"""Incident messages: one template per event kind, sent to each side's contacts.

Operator side: the operator's registry contacts for the incident's environment and
severity (plus its webhook); platform side: ``Settings.platform_contacts`` (implementation
support in staging, operations support in production). A partner incident inhibited by a
global one (``parent_id`` set) sends nothing to the operator; a global incident's outage
communication goes to every operator with that environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import PlatformContact
from mobileplans.db.models import Incident
from mobileplans.domains.incident.policies import policy_named
from mobileplans.domains.notification import service as notifications
from mobileplans.domains.notification.schemas import Message, Recipient
from mobileplans.domains.operator_registry import service as registry_service

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


def render(incident: Incident, kind: str, note: str = "") -> Message:
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
        f"Detected: {incident.detected_at.isoformat()}",
    ]
    lines += [f"Evidence: {r}" for r in reasons]
    if note:
        lines += ["", note]
    payload = {
        "incidentId": incident.id,
        "kind": kind,
        "severity": incident.severity,
        "status": incident.status,
        "operatorId": incident.operator_id,
        "environment": incident.environment,
        "title": incident.title,
        "note": note,
    }
    return Message(
        event=f"incident.{kind}",
        subject=subject,
        body="\n".join(lines) + "\n",
        payload=payload,
        operator_id=incident.operator_id,
        incident_id=incident.id,
    )


async def _operator_side(session: AsyncSession, incident: Incident) -> list[Recipient]:
    if incident.operator_id is not None:
        return await notifications.operator_recipients(
            session,
            incident.operator_id,
            environment=incident.environment,
            severity=incident.severity,
        )
    out: list[Recipient] = []
    for operator in await registry_service.list_operators(session):
        if incident.environment in {e.value for e in operator.environments}:
            out += await notifications.operator_recipients(
                session, operator.id, environment=incident.environment, severity=incident.severity
            )
    return out


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
    recipients: list[Recipient] = []
    inhibited = incident.parent_id is not None
    if audience.operator and not inhibited:
        if incident.operator_id is not None or kind == "communication":
            recipients += await _operator_side(session, incident)
    if audience.platform:
        recipients += notifications.platform_recipients(
            ctx.platform_contacts, environment=incident.environment, severity=incident.severity
        )
    dedupe = f"incident:{incident.id}:{kind}:{key}"
    return await notifications.enqueue(
        session, render(incident, kind, note), recipients, dedupe=dedupe, now=now
    )
