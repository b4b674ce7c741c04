"""Promotion (spec 4.3-4.5): the difference shown, a dry run writes nothing, a scheduled
promotion waits for its time (the next 1st or 3rd Friday with ``nextRelease``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.onboarding import gates, schedule, service
from mobileplans.domains.onboarding.schemas import PromoteIn, RangeChoice, StartIn
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.errors import BadRequest, Forbidden
from mobileplans.kit.business_time import BusinessCalendar
from mobileplans.kit.clock import FrozenClock
from tests.domains.onboarding.support import NORTHWIND, PLATFORM, northwind

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def started(sessions: Sessions, clock: FrozenClock) -> None:
    async with session_scope(sessions) as session:
        spec = OperatorSpec.model_validate(northwind())
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())
        await service.start(
            session, PLATFORM, "northwind", StartIn(start=date(2026, 11, 2)), now=clock.now()
        )


async def production_enabled(session: AsyncSession) -> bool:
    spec = await registry_service.get_operator(session, "northwind")
    return spec.environments["production"].enabled  # type: ignore[index]


def test_next_release_is_the_first_or_third_friday() -> None:
    paris = BusinessCalendar("Europe/Paris", "FR")
    # Monday 2 Nov 2026: the 1st Friday was 6 Nov; then 20 Nov (3rd), then 4 Dec (1st).
    monday = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert schedule.next_release(paris, monday).date() == date(2026, 11, 6)
    after = datetime(2026, 11, 7, 9, 0, tzinfo=UTC)
    assert schedule.next_release(paris, after).date() == date(2026, 11, 20)
    assert schedule.next_release(paris, datetime(2026, 11, 21, tzinfo=UTC)).date() == date(
        2026, 12, 4
    )


async def test_dry_run_shows_the_difference_and_writes_nothing(
    sessions: Sessions, clock: FrozenClock, started: None
) -> None:
    async with session_scope(sessions) as session:
        read = await gates.promote(
            session,
            NORTHWIND,
            "northwind",
            PromoteIn(range=RangeChoice.TEST, dry_run=True),
            now=clock.now(),
        )
        assert not read.applied
        fields = {d.field: d for d in read.differences}
        assert fields["portal URL"].production == "https://portal.northwind.example/mobileplans"
        assert "(test)" in fields["ICCID ranges"].production
        assert "(full)" not in fields["ICCID ranges"].production
        assert not await production_enabled(session)
        with pytest.raises(Forbidden):
            await gates.promote(session, NORTHWIND, "northwind", PromoteIn(), now=clock.now())
        past = clock.now() - timedelta(hours=1)
        with pytest.raises(BadRequest) as bad:
            await gates.promote(session, PLATFORM, "northwind", PromoteIn(at=past), now=clock.now())
        assert bad.value.extra["field"] == "at"


async def test_a_scheduled_promotion_waits_for_its_release(
    sessions: Sessions, clock: FrozenClock, started: None
) -> None:
    async with session_scope(sessions) as session:
        read = await gates.promote(
            session,
            PLATFORM,
            "northwind",
            PromoteIn(range=RangeChoice.TEST, next_release=True),
            now=clock.now(),
        )
    assert read.at is not None
    assert read.at.date() == date(2026, 11, 6)  # Friday, 09:00 Paris
    assert not read.applied
    clock.set(read.at - timedelta(minutes=1))
    async with session_scope(sessions) as session:
        project = await service.show(session, PLATFORM, "northwind", now=clock.now())
        assert project.production_stage == "none"
        assert not await production_enabled(session)
    clock.set(read.at)
    async with session_scope(sessions) as session:
        project = await service.show(session, PLATFORM, "northwind", now=clock.now())
        assert project.production_stage == "test"
        assert project.scheduled_promotion is None
        assert await production_enabled(session)
    assert any(e.kind == "promoted" and e.side == "system" for e in project.timeline)
