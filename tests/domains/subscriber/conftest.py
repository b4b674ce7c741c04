"""A small back office for the subscriber-domain tests: one operator, two plans, lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.domains.subscriber import service
from mobileplans.domains.subscriber.schemas import LineStatus, PlanIn, PlanRead, SimKind
from mobileplans.kit.clock import FrozenClock
from tests.support import valid_iccid

OPERATOR = "contoso"
LINE = valid_iccid("890199900000000100")
OTHER_LINE = valid_iccid("890199900000000101")
EXCLUDED = valid_iccid("890199900000000102")
FOREIGN = valid_iccid("894499900000000100")  # fabrikam's


def plan_in(code: str, kind: str, mb: float, days: int, countries: list[str]) -> PlanIn:
    return PlanIn.model_validate(
        {
            "code": code,
            "name": code.title(),
            "kind": kind,
            "dataMb": mb,
            "validityDays": days,
            "priceCents": 1000,
            "currency": "USD",
            "countries": countries,
            "profileType": "consumer",
        }
    )


@dataclass(frozen=True)
class Office:
    prepaid: PlanRead  # 1000 MB, 30 days, US
    travel: PlanRead  # 500 MB, 7 days, US + CA, postpaid


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
        await session.rollback()


@pytest.fixture
async def office(session: AsyncSession, clock: FrozenClock) -> Office:
    plans = await service.ensure_plans(
        session,
        OPERATOR,
        [
            plan_in("prepaid", "prepaid", 1000, 30, ["US"]),
            plan_in("travel", "postpaid", 500, 7, ["US", "CA"]),
        ],
    )
    await service.ensure_plans(session, "fabrikam", [plan_in("eu", "prepaid", 100, 7, ["GB"])])
    for iccid, operator, supported in (
        (LINE, OPERATOR, True),
        (OTHER_LINE, OPERATOR, True),
        (EXCLUDED, OPERATOR, False),
        (FOREIGN, "fabrikam", True),
    ):
        await service.create_line(
            session,
            operator,
            iccid=iccid,
            sim_kind=SimKind.ESIM,
            status=LineStatus.ACTIVE,
            now=clock.now(),
            supported=supported,
        )
    by_code = {p.code: p for p in plans}
    return Office(prepaid=by_code["prepaid"], travel=by_code["travel"])
