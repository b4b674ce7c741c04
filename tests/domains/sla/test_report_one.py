"""``report_all(operator_id=...)``: the statements of one operator only (the console's
operator page), the same figures as in the report of every operator."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.domains.sla import service
from mobileplans.kit.clock import FrozenClock
from tests.domains.sla.support import add_operator, add_probe, store, synthetic, utc

Sessions = async_sessionmaker[AsyncSession]


async def test_one_operator_gets_its_own_statements(sessions: Sessions, clock: FrozenClock) -> None:
    now = clock.now()
    for operator_id, zone, prefix, seed in (
        ("contoso", "Asia/Kolkata", "8901999", 1),
        ("fabrikam", "UTC", "8944999", 2),
    ):
        await add_operator(sessions, operator_id, zone, prefix=prefix, now=now)
        probe = await add_probe(sessions, operator_id, interval=60, now=now)
        made = synthetic(probe.id, utc(2026, 10, 1), utc(2026, 10, 3), interval=60, seed=seed)
        await store(sessions, probe, made)
    async with sessions() as session:
        every = await service.report_all(session, period="2026-10-02", now=now)
        one = await service.report_all(session, period="2026-10-02", now=now, operator_id="contoso")
        none = await service.report_all(session, period="2026-10-02", now=now, operator_id="nope")
    assert {s.statement.operator_id for s in every.statements} == {"contoso", "fabrikam"}
    assert [s.statement.operator_id for s in one.statements] == ["contoso"]
    (same,) = [s for s in every.statements if s.statement.operator_id == "contoso"]
    assert one.statements[0].statement.figures() == same.statement.figures()
    assert one.statements[0].statement.probes > 0
    assert none.statements == []
