"""Every onboarding change goes to the operator's timeline and to the audit log, in the
caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import OnboardingEvent
from mobileplans.domains.access.service import Party
from mobileplans.domains.audit import service as audit_service
from mobileplans.domains.onboarding import repository

SYSTEM = Party("platform", None, "system")
"""The side of changes the system makes itself (evidence, scheduled promotions)."""


async def note(
    session: AsyncSession,
    operator_id: str,
    kind: str,
    party: Party,
    message: str,
    *,
    now: datetime,
    after: dict[str, Any] | None = None,
) -> None:
    side = "system" if party is SYSTEM else party.side
    event = OnboardingEvent(
        operator_id=operator_id, at=now, kind=kind, side=side, actor=party.actor, message=message
    )
    await repository.add(session, event)
    audit_service.record(
        session,
        actor=party.actor,
        action=f"onboarding.{kind}",
        entity_type="onboarding",
        entity_id=operator_id,
        before=None,
        after={"message": message, **(after or {})},
        now=now,
    )
