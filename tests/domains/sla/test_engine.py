"""Reports are exact whatever the rollup lag: results past the watermark come from raw rows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.sla import service
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.kit.clock import FrozenClock
from tests.domains.sla.support import (
    add_operator,
    add_probe,
    brute_force,
    store,
    synthetic,
    utc,
)


async def test_statement_is_exact_before_during_and_after_rolling_up(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock.now()
    await add_operator(sessions, "contoso", "America/New_York", now=now)
    probe = await add_probe(sessions, "contoso", interval=60, now=now)
    start, end = utc(2026, 10, 1), utc(2026, 10, 4)
    results = synthetic(probe.id, start, end, interval=60, seed=9, failure_rate=0.03)
    await store(sessions, probe, results)
    brute = brute_force(results, probe.id, utc(2026, 10, 2, 4), utc(2026, 10, 3, 4), [])
    batch = SlaPolicy(settle_seconds=0, rollup_batch_rows=1000)
    sources = []
    for _ in range(6):  # none rolled up, then 1,000 more rows at a time
        async with session_scope(sessions) as session:
            report = await service.report(session, operator_id="contoso", period="2026-10-02")
        item = report.statements[0]
        assert (item.statement.probes, item.statement.failures) == (brute.probes, brute.failures)
        assert item.statement.latency.average_ms == round(
            sum(brute.latencies_us) / len(brute.latencies_us) / 1000, 3
        )
        sources.append(item.source)
        async with session_scope(sessions) as session:
            await service.roll_up(session, now=now, policy=batch)
    assert sources[0].rollup_rows == {}
    assert sources[0].raw_rows == brute.probes
    assert sources[-1].rollup_rows.get("hour", 0) == 24
    assert sources[-1].raw_rows == 0
