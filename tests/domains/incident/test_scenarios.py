"""Issue #5 scenarios on a controllable clock over real sockets: the MO API stops, the
engine opens exactly one incident of the operator's policy, the NOC gets the email on a
real SMTP server, clocks remind and breach, recovery auto-resolves; announced maintenance
opens nothing and leaves the SLA; late notice does not protect."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.incident import profiles
from mobileplans.domains.incident.schemas import OpsSettingsPatch
from mobileplans.domains.sla import maintenance
from mobileplans.domains.sla import service as sla_service
from mobileplans.domains.sla.schemas import MaintenanceWindowIn
from mobileplans.kit.clock import FrozenClock
from tests.domains.incident.harness import NOC, SmtpServer, Stack
from tests.domains.probe.target import ControllableTarget

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock, smtp: SmtpServer) -> AsyncIterator[Stack]:
    portal = await ControllableTarget().start()
    mo_api = await ControllableTarget().start()
    yield Stack(sessions, clock, portal, mo_api, smtp)
    await portal.stop()
    await mo_api.stop()


async def set_policy(stack: Stack, policy: str) -> None:
    async with session_scope(stack.sessions) as session:
        await profiles.update_settings(
            session, stack.operator_id, OpsSettingsPatch(policy=policy), now=stack.clock.now()
        )


async def opened(stack: Stack) -> bool:
    return bool(await stack.incidents())


async def test_mobile_plans_sev1_email_reminder_breach_and_auto_resolve(stack: Stack) -> None:
    await stack.register()
    await stack.run_for(120)
    assert await stack.incidents() == []
    await stack.mo_api.stop()  # the MO API goes away; the portal stays up
    took = await stack.run_until(lambda: opened(stack), limit_seconds=300)
    assert took <= 60 + 5  # two 30 s probe intervals (+ one 5 s tick of the test's loop)
    await stack.run_for(120)
    [incident] = await stack.incidents()
    assert (incident.severity, incident.status, incident.policy) == (
        "sev1",
        "contacted",
        "mobile_plans",
    )
    assert incident.title == (
        "Contoso Cellular production: GetBalance failing (100 % of probes in the last 5 min)"
    )
    [page] = [s for s in stack.smtp.sink.subjects(NOC) if "opened" in s]
    assert "[SEV1]" in page
    assert f"#{incident.id}" in page
    assert stack.smtp.sink.to("mp-operations@platform.example")  # the platform side too

    update_clock = next(c for c in await stack.clocks_of(incident.id) if c.clock == "update")
    assert update_clock.due_at == incident.contacted_at + timedelta(hours=2)
    stack.clock.set(update_clock.due_at - timedelta(minutes=14))
    await stack.evaluate()
    await stack.deliver()
    assert any("reminder" in s for s in stack.smtp.sink.subjects(NOC))
    assert not any("BREACH" in s for s in stack.smtp.sink.subjects(NOC))
    stack.clock.set(update_clock.due_at + timedelta(seconds=1))
    await stack.evaluate()
    await stack.deliver()
    assert sum("BREACH" in s for s in stack.smtp.sink.subjects(NOC)) == 1
    [breached] = [c for c in await stack.clocks_of(incident.id) if c.breached_at is not None]
    assert breached.clock == "update"

    await stack.mo_api.start()  # same port: the operator is back
    await stack.run_until(lambda: resolved(stack), limit_seconds=600)
    [incident] = await stack.incidents()
    assert incident.status == "resolved"
    assert incident.open_key is None
    assert any("resolved" in s for s in stack.smtp.sink.subjects(NOC))
    kinds = [e.kind for e in await stack.events_of(incident.id)]
    assert kinds[:2] == ["detected", "contacted"]
    assert "breach" in kinds
    assert kinds[-1] == "resolved"


async def failed_results(stack: Stack) -> int:
    async with stack.sessions() as session:
        query = select(func.count()).where(ProbeResult.outcome == "connect_error")
        return int(await session.scalar(query.select_from(ProbeResult)) or 0)


async def resolved(stack: Stack) -> bool:
    rows = await stack.incidents()
    return bool(rows) and rows[-1].status == "resolved"


async def test_dynamo_opens_high_only_after_thirty_minutes(stack: Stack) -> None:
    await stack.register()
    await set_policy(stack, "dynamo")
    await stack.run_for(60, step=15)
    await stack.mo_api.stop()
    await stack.run_for(29 * 60, step=15)
    assert await stack.incidents() == []  # 29 minutes of failures: not yet
    took = await stack.run_until(lambda: opened(stack), limit_seconds=5 * 60, step=15)
    assert took <= 2 * 60
    [incident] = await stack.incidents()
    assert (incident.severity, incident.policy) == ("high", "dynamo")
    response = next(c for c in await stack.clocks_of(incident.id) if c.clock == "response")
    assert response.due_at == incident.contacted_at + timedelta(hours=1)
    assert any("[HIGH]" in s for s in stack.smtp.sink.subjects(NOC))


async def test_announced_maintenance_opens_nothing_and_leaves_the_sla(stack: Stack) -> None:
    await stack.register()
    now = stack.clock.now()
    async with session_scope(stack.sessions) as session:
        window = await maintenance.create_window(
            session,
            stack.operator_id,
            MaintenanceWindowIn(
                starts_at=now + timedelta(minutes=10),
                ends_at=now + timedelta(minutes=40),
                impact="MO API upgrade",
                announced_at=now - timedelta(days=10),
            ),
            actor="test",
            now=now,
        )
    assert not window.late_notice
    await stack.run_for(10 * 60, step=15)
    await stack.mo_api.stop()
    await stack.run_for(25 * 60, step=15)
    assert await stack.incidents() == []
    assert await failed_results(stack) >= 40  # the MO API really was down meanwhile
    await stack.mo_api.start()
    await stack.run_for(10 * 60, step=15)
    async with stack.sessions() as session:
        report = await sla_service.report(
            session, operator_id=stack.operator_id, period=now.date().isoformat()
        )
    balance = next(s.statement for s in report.statements if s.statement.kind == "getbalance")
    assert balance.excluded_probes > 0
    assert balance.failures == 0
    assert balance.availability_percent == 100.0


async def test_late_notice_is_flagged_and_does_not_protect(stack: Stack) -> None:
    await stack.register()
    now = stack.clock.now()
    async with session_scope(stack.sessions) as session:
        window = await maintenance.create_window(
            session,
            stack.operator_id,
            MaintenanceWindowIn(
                starts_at=now + timedelta(minutes=5),
                ends_at=now + timedelta(hours=1),
                impact="unplanned patch",
                announced_at=now - timedelta(days=1),
            ),
            actor="test",
            now=now,
        )
    assert window.late_notice
    assert not window.excluded_from_sla
    await stack.run_for(6 * 60)
    await stack.mo_api.stop()
    await stack.run_until(lambda: opened(stack), limit_seconds=120)
    [incident] = await stack.incidents()
    assert incident.severity == "sev1"
