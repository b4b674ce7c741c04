"""Enqueue notifications in the caller's transaction; pick recipients per side.

``enqueue`` adds one outbox row per recipient, keyed ``<dedupe>|<channel>|<address>``: if
the same event is enqueued twice (a retried job, two workers racing on one transition),
the second insert is skipped, so a recipient gets one message per event. Delivery is the
worker's job (:mod:`mobileplans.domains.notification.delivery`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import PlatformContact
from mobileplans.domains.incident import profiles as ops_settings
from mobileplans.domains.notification import repository
from mobileplans.domains.notification.schemas import Channel, DeliveryStatus, Message, Recipient
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.errors import NotFound

SEVERITY_ALIASES: dict[str, set[str]] = {
    "sev1": {"sev1", "high"},
    "sev2": {"sev2", "high"},
    "sev3": {"sev3", "low"},
    "high": {"high", "sev1", "sev2"},
    "low": {"low", "sev3"},
}
"""A contact listed for ``high`` is also paged for Sev 1 and 2 and vice versa: operators
configured under one generation's table keep getting pages under another's."""


def contact_matches(
    contact_severity: str,
    contact_environment: str | None,
    severity: str | None,
    environment: str | None,
) -> bool:
    if contact_environment not in (None, environment) and environment is not None:
        return False
    if contact_severity == "any" or severity is None:
        return True
    return contact_severity in SEVERITY_ALIASES.get(severity, {severity})


async def operator_recipients(
    session: AsyncSession,
    operator_id: str,
    *,
    environment: str | None,
    severity: str | None,
) -> list[Recipient]:
    """The operator's matching contacts with an email (the registry's), plus its webhook
    when its operations settings (the incident domain's) name one. The webhook's secret is
    looked up when the row is sent (``delivery``), so a rotated secret applies at once."""
    try:
        operator = await registry_service.get_operator(session, operator_id)
    except NotFound:
        return [Recipient(Channel.LOG, f"operator:{operator_id}", operator_id)]
    out = [
        Recipient(Channel.EMAIL, c.email, c.name)
        for c in operator.contacts
        if c.email
        and contact_matches(
            c.severity.value, c.environment.value if c.environment else None, severity, environment
        )
    ]
    settings = await ops_settings.read_settings(session, operator_id)
    if settings.webhook_url:
        out.append(Recipient(Channel.WEBHOOK, settings.webhook_url, operator_id))
    return out or [Recipient(Channel.LOG, f"operator:{operator_id}", operator_id)]


def platform_recipients(
    contacts: Sequence[PlatformContact], *, environment: str | None, severity: str | None
) -> list[Recipient]:
    """Platform contacts for the environment (implementation support in staging,
    operations support in production) and severity."""
    env = environment
    out = [
        Recipient(Channel.EMAIL, c.email, c.name)
        for c in contacts
        if contact_matches(
            c.severity, c.environment.value if c.environment else None, severity, env
        )
    ]
    return out or [Recipient(Channel.LOG, "platform", "platform")]


def _row(message: Message, recipient: Recipient, dedupe: str, now: datetime) -> dict[str, Any]:
    return {
        "dedupe_key": f"{dedupe}|{recipient.channel.value}|{recipient.address}"[:200],
        "event": message.event,
        "channel": recipient.channel.value,
        "recipient": recipient.address,
        "subject": message.subject[:300],
        "body": message.body,
        "payload": message.payload,
        "operator_id": message.operator_id,
        "incident_id": message.incident_id,
        "maintenance_id": message.maintenance_id,
        "bug_id": message.bug_id,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def enqueue(
    session: AsyncSession,
    message: Message,
    recipients: Sequence[Recipient],
    *,
    dedupe: str,
    now: datetime,
) -> int:
    """Add one pending row per recipient (skipping ones already enqueued); returns how
    many were added. Runs in the caller's transaction: the event and its notifications
    commit or roll back together."""
    if not recipients:
        return 0
    rows = [_row(message, r, dedupe, now) for r in recipients]
    return await repository.insert_new(session, rows)


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as the console shows it (issue #10): what was queued, to whom, and
    whether it went out."""

    id: int
    event: str
    channel: str
    recipient: str
    subject: str
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None


async def for_incident(
    session: AsyncSession, incident_id: int, *, operator_id: str | None, limit: int = 100
) -> list[OutboxEntry]:
    """The incident's notifications, newest first; ``operator_id``: only that operator's
    rows (an operator never sees what went to another operator)."""
    query = repository.NotificationQuery(
        incident_id=incident_id, operator_id=operator_id, limit=limit
    )
    return [
        OutboxEntry(
            r.id,
            r.event,
            r.channel,
            r.recipient,
            r.subject,
            r.status,
            r.attempts,
            r.created_at,
            r.delivered_at,
            r.last_error,
        )
        for r in await repository.list_notifications(session, query)
    ]
