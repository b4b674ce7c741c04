"""Helpers of the notification tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Notification, OperatorOpsSettings
from mobileplans.db.session import session_scope
from mobileplans.domains.notification import service
from mobileplans.domains.notification.schemas import Message, Recipient

Sessions = async_sessionmaker[AsyncSession]


def message(**overrides: object) -> Message:
    fields: dict[str, object] = {
        "event": "incident.opened",
        "subject": "Sev 2 incident 7 opened: portal down",
        "body": "The portal of contoso is down.\nWe are on it: café ☕",
        "payload": {"severity": "sev2", "title": "portal down"},
        "operator_id": "contoso",
        "incident_id": 7,
    }
    fields.update(overrides)
    return Message(**fields)  # type: ignore[arg-type]


async def enqueue(
    sessions: Sessions,
    recipients: Sequence[Recipient],
    *,
    now: datetime,
    dedupe: str = "incident:7:opened",
    msg: Message | None = None,
) -> int:
    async with session_scope(sessions) as session:
        return await service.enqueue(session, msg or message(), recipients, dedupe=dedupe, now=now)


async def rows(sessions: Sessions) -> list[Notification]:
    async with sessions() as session:
        return list((await session.scalars(select(Notification).order_by(Notification.id))).all())


async def set_webhook_secret(
    sessions: Sessions, operator_id: str, secret: str | None, *, now: datetime
) -> None:
    async with session_scope(sessions) as session:
        settings = await session.get(OperatorOpsSettings, operator_id)
        if settings is None:
            settings = OperatorOpsSettings(operator_id=operator_id, updated_at=now)
            session.add(settings)
        settings.webhook_secret = secret
        settings.updated_at = now


def outcomes(channel: str, outcome: str) -> float:
    """Current value of ``mobileplans_notifications_total{channel,outcome}``."""
    value = REGISTRY.get_sample_value(
        "mobileplans_notifications_total", {"channel": channel, "outcome": outcome}
    )
    return value or 0.0
