"""Rules the onboarding phase drives outside the onboarding domain (issue #9)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.onboarding import service
from mobileplans.domains.onboarding.schemas import StartIn
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.sla import issuance
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.errors import Conflict
from mobileplans.kit.clock import FrozenClock
from tests.domains.onboarding.support import PLATFORM, northwind


async def test_production_sla_statements_count_from_post_launch(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with session_scope(sessions) as session:
        spec = OperatorSpec.model_validate(northwind())
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())
        await service.start(
            session, PLATFORM, "northwind", StartIn(start=date(2026, 11, 2)), now=clock.now()
        )
        with pytest.raises(Conflict, match="count from Post launch"):
            await issuance.issue(
                session,
                operator_id="northwind",
                period="2026-10",
                now=clock.now(),
                policy=SlaPolicy(),
            )
