"""The bug workflow (spec 5.6): steps, required fields, illegal transitions, who may do
what, the timeline and the notification of the other side at every step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import Party
from mobileplans.domains.bug import service
from mobileplans.domains.bug.schemas import (
    BugRead,
    BugReportIn,
    BugStatus,
    DecisionIn,
    DeployIn,
    ScheduleIn,
    TriageIn,
)
from mobileplans.errors import AppError, BadRequest, Conflict, Forbidden, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.domains.maintenance_notice.support import (
    CONTACTS,
    CONTOSO,
    CONTOSO_NOC,
    FABRIKAM,
    PLATFORM,
    add_operators,
    outbox,
    sent,
)

TRIAGE = TriageIn(business_justification="blocks purchases", impact="5% of activations")


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await add_operators(sessions, clock.now())


async def report(
    sessions: async_sessionmaker[AsyncSession],
    party: Party,
    now: datetime,
    operator_id: str | None = None,
) -> BugRead:
    spec = BugReportIn(
        operator_id=operator_id,
        environment="production",
        title="GetBalance times out",
        description="p95 above 2 s since the release",
    )
    async with session_scope(sessions) as session:
        return await service.report(session, party, spec, contacts=CONTACTS, now=now)


async def expect(
    sessions: async_sessionmaker[AsyncSession],
    error: type[AppError],
    step: Callable[[AsyncSession], Awaitable[object]],
) -> AppError:
    """Run ``step`` in a transaction; it must raise ``error`` (and so roll back)."""
    with pytest.raises(error) as caught:
        async with session_scope(sessions) as session:
            await step(session)
    return caught.value


async def test_whole_workflow_records_every_step_and_tells_the_other_side(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    bug = await report(sessions, CONTOSO, clock.now())
    assert (bug.operator_id, bug.reported_by, bug.status) == ("contoso", "operator", "reported")
    # the operator reported: the platform's production contact hears of it, not the operator
    assert await sent(sessions, bug_id=bug.id) == [("bug.reported", "ops@platform.example")]
    day = date(2026, 11, 20)
    async with session_scope(sessions) as session:
        await service.triage(session, PLATFORM, bug.id, TRIAGE, now=clock.now())
        await service.approve(session, PLATFORM, bug.id, DecisionIn(), now=clock.now())
        await service.schedule(
            session, PLATFORM, bug.id, ScheduleIn(tentative_deploy_date=day), now=clock.now()
        )
        moved = await service.schedule(
            session,
            PLATFORM,
            bug.id,
            ScheduleIn(tentative_deploy_date=day + timedelta(days=3), note="waiting on QA"),
            now=clock.now(),
        )
    assert moved.tentative_deploy_date == date(2026, 11, 23)
    clock.advance(timedelta(days=21))
    async with session_scope(sessions) as session:
        done = await service.deploy(session, PLATFORM, bug.id, DeployIn(), now=clock.now())
        shown = await service.get_bug(session, CONTOSO, bug.id)
    assert (done.status, done.deployed_at) == (BugStatus.DEPLOYED, clock.now())
    assert done.business_justification == "blocks purchases"
    assert shown.events is not None
    assert [(e.kind, e.side) for e in shown.events] == [
        ("reported", "operator"),
        ("triaged", "platform"),
        ("approved", "platform"),
        ("scheduled", "platform"),
        ("scheduled", "platform"),
        ("deployed", "platform"),
    ]
    assert "was 2026-11-20" in shown.events[4].message
    # each platform step emails the operator's contact, the re-schedule included
    assert await sent(sessions, bug_id=bug.id) == sorted(
        [("bug.reported", "ops@platform.example")]
        + [
            (f"bug.{kind}", CONTOSO_NOC)
            for kind in ("triaged", "approved", "scheduled", "scheduled", "deployed")
        ]
    )
    deployed = (await outbox(sessions, bug_id=bug.id, event="bug.deployed"))[0]
    assert deployed.subject == f"[Mobile Plans] Bug #{bug.id} fix deployed: GetBalance times out"
    assert deployed.operator_id == "contoso"
    assert deployed.payload["status"] == "deployed"


async def test_a_bug_the_platform_reports_is_sent_to_the_operator(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    bug = await report(sessions, PLATFORM, clock.now(), operator_id="contoso")
    assert bug.reported_by == "platform"
    assert await sent(sessions, bug_id=bug.id) == [("bug.reported", CONTOSO_NOC)]
    with pytest.raises(BadRequest) as caught:
        await report(sessions, PLATFORM, clock.now())
    assert caught.value.extra["field"] == "operatorId"
    with pytest.raises(NotFound):
        await report(sessions, PLATFORM, clock.now(), operator_id="nobody")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (TriageIn(impact="all users"), "businessJustification"),
        (TriageIn(business_justification="revenue"), "impact"),
        (TriageIn(business_justification="revenue", impact="   "), "impact"),
    ],
)
async def test_triage_needs_justification_and_impact(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    world: None,
    body: TriageIn,
    field: str,
) -> None:
    bug = await report(sessions, CONTOSO, clock.now())
    error = await expect(
        sessions,
        BadRequest,
        lambda s: service.triage(s, PLATFORM, bug.id, body, now=clock.now()),
    )
    assert error.extra["field"] == field
    async with session_scope(sessions) as session:
        assert (await service.get_bug(session, PLATFORM, bug.id)).status == "reported"


async def test_illegal_transitions_answer_409_naming_the_status(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    bug = await report(sessions, CONTOSO, clock.now())
    now = clock.now()
    later = ScheduleIn(tentative_deploy_date=date(2026, 12, 1))
    for step in (
        lambda s: service.approve(s, PLATFORM, bug.id, DecisionIn(), now=now),
        lambda s: service.schedule(s, PLATFORM, bug.id, later, now=now),
        lambda s: service.deploy(s, PLATFORM, bug.id, DeployIn(), now=now),
    ):
        error = await expect(sessions, Conflict, step)
        assert error.extra["status"] == "reported"
        assert "is reported" in error.detail
    async with session_scope(sessions) as session:
        await service.triage(session, PLATFORM, bug.id, TRIAGE, now=now)
    error = await expect(
        sessions, Conflict, lambda s: service.triage(s, PLATFORM, bug.id, TRIAGE, now=now)
    )
    assert error.extra["status"] == "triaged"
    error = await expect(
        sessions,
        BadRequest,
        lambda s: service.reject(s, PLATFORM, bug.id, DecisionIn(reason=" "), now=now),
    )
    assert error.extra["field"] == "reason"
    async with session_scope(sessions) as session:
        rejected = await service.reject(
            session, PLATFORM, bug.id, DecisionIn(reason="works as designed"), now=now
        )
    assert (rejected.status, rejected.decision_reason) == ("rejected", "works as designed")
    for step in (
        lambda s: service.approve(s, PLATFORM, bug.id, DecisionIn(), now=now),
        lambda s: service.schedule(s, PLATFORM, bug.id, later, now=now),
    ):
        assert (await expect(sessions, Conflict, step)).extra["status"] == "rejected"
    assert [e for e, _ in await sent(sessions, bug_id=bug.id)] == [
        "bug.rejected",
        "bug.reported",
        "bug.triaged",
    ]


async def test_deployment_date_may_not_be_past_in_the_operators_zone(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    # 2026-11-02 09:00 UTC is 2026-11-02 in London as in UTC
    bug = await report(sessions, FABRIKAM, clock.now())
    now = clock.now()
    async with session_scope(sessions) as session:
        await service.triage(session, PLATFORM, bug.id, TRIAGE, now=now)
        await service.approve(session, PLATFORM, bug.id, DecisionIn(), now=now)
    yesterday = ScheduleIn(tentative_deploy_date=date(2026, 11, 1))
    error = await expect(
        sessions, BadRequest, lambda s: service.schedule(s, PLATFORM, bug.id, yesterday, now=now)
    )
    assert error.extra["field"] == "tentativeDeployDate"
    missing = await expect(
        sessions, BadRequest, lambda s: service.schedule(s, PLATFORM, bug.id, ScheduleIn(), now=now)
    )
    assert missing.extra["field"] == "tentativeDeployDate"
    async with session_scope(sessions) as session:
        today = await service.schedule(
            session, PLATFORM, bug.id, ScheduleIn(tentative_deploy_date=date(2026, 11, 2)), now=now
        )
    assert today.status == "scheduled"


async def test_an_operator_reports_and_reads_only_its_own_and_takes_no_platform_step(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    mine = await report(sessions, CONTOSO, clock.now())
    theirs = await report(sessions, FABRIKAM, clock.now())
    now = clock.now()
    # another operator's bug does not exist for it, neither to read nor to change
    await expect(sessions, NotFound, lambda s: service.get_bug(s, FABRIKAM, mine.id))
    await expect(sessions, NotFound, lambda s: service.get_bug(s, CONTOSO, 999))
    # the platform's steps are refused even on its own bug
    for party, bug_id in ((CONTOSO, mine.id), (FABRIKAM, mine.id)):
        for step in (
            lambda s, p=party, b=bug_id: service.triage(s, p, b, TRIAGE, now=now),
            lambda s, p=party, b=bug_id: service.approve(s, p, b, DecisionIn(), now=now),
            lambda s, p=party, b=bug_id: service.reject(s, p, b, DecisionIn(reason="x"), now=now),
            lambda s, p=party, b=bug_id: service.deploy(s, p, b, DeployIn(), now=now),
        ):
            await expect(sessions, Forbidden, step)
    # reporting for, or listing, another operator is refused
    with pytest.raises(Forbidden):
        await report(sessions, CONTOSO, clock.now(), operator_id="fabrikam")
    await expect(
        sessions, Forbidden, lambda s: service.list_bugs(s, CONTOSO, operator_id="fabrikam")
    )
    async with session_scope(sessions) as session:
        own = await service.list_bugs(session, CONTOSO)
        every = await service.list_bugs(session, PLATFORM)
        one = await service.list_bugs(session, PLATFORM, operator_id="fabrikam")
        reported = await service.list_bugs(session, PLATFORM, status=BugStatus.REPORTED)
        triaged = await service.list_bugs(session, PLATFORM, status=BugStatus.TRIAGED)
    assert [b.id for b in own] == [mine.id]
    assert [b.id for b in every] == [theirs.id, mine.id]
    assert [b.id for b in one] == [theirs.id]
    assert len(reported) == 2
    assert triaged == []
    async with session_scope(sessions) as session:
        assert (await service.get_bug(session, CONTOSO, mine.id)).status == "reported"
