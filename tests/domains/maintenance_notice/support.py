"""Builders shared by the operations tests (maintenance notices, bugs, their API and CLI):
two operators with contacts, the parties, platform contacts, stored notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Environment, PlatformContact
from mobileplans.db.models import Notification
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import Party
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from tests.support import operator_data

PLATFORM = Party("platform", None, "admin")
CONTOSO = Party("operator", "contoso", "contoso:noc-bot")
FABRIKAM = Party("operator", "fabrikam", "fabrikam:noc-bot")
CONTACTS = [
    PlatformContact(
        name="Implementation", email="impl@platform.example", environment=Environment.STAGING
    ),
    PlatformContact(
        name="Operations", email="ops@platform.example", environment=Environment.PRODUCTION
    ),
]
CONTOSO_NOC = "noc@contoso.example"
FABRIKAM_NOC = "noc@fabrikam.example"


def operators() -> list[dict[str, Any]]:
    """Contoso (US, UTC) and Fabrikam (FR+GB, so FR is its first country; Europe/London),
    one email contact each."""
    return [
        operator_data(
            environments=("staging", "production"),
            contacts=[{"name": "Contoso NOC", "email": CONTOSO_NOC}],
        ),
        operator_data(
            "fabrikam",
            brand="Fabrikam Mobile",
            countries=["GB", "FR"],
            prefix="8944999",
            timezone="Europe/London",
            contacts=[{"name": "Fabrikam NOC", "email": FABRIKAM_NOC}],
        ),
    ]


async def add_operators(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    async with session_scope(sessions) as session:
        for data in operators():
            spec = OperatorSpec.model_validate(data)
            await registry_service.put_operator(session, spec, actor="test", now=now)


async def sent(
    sessions: async_sessionmaker[AsyncSession], **where: object
) -> list[tuple[str, str]]:
    """``(event, recipient)`` of the outbox rows matching ``where`` (column = value), sorted."""
    query = select(Notification)
    for column, value in where.items():
        query = query.where(getattr(Notification, column) == value)
    async with session_scope(sessions) as session:
        rows = (await session.scalars(query)).all()
    return sorted((r.event, r.recipient) for r in rows)


async def outbox(sessions: async_sessionmaker[AsyncSession], **where: object) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    for column, value in where.items():
        query = query.where(getattr(Notification, column) == value)
    async with session_scope(sessions) as session:
        return list((await session.scalars(query)).all())
