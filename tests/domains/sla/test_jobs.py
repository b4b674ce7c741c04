"""The worker's SLA jobs: registered once, rollup until caught up, retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import ProbeResult, ProbeRollup
from mobileplans.db.session import session_scope
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.kit.clock import FrozenClock
from mobileplans.worker import jobs as worker_jobs
from mobileplans.worker.sla_jobs import RETENTION_JOB, ROLLUP_JOB, register_jobs
from tests.domains.sla.support import add_probe, store, synthetic


@pytest.fixture
def registry() -> Iterator[list[worker_jobs.PeriodicJob]]:
    saved = list(worker_jobs.PERIODIC_JOBS)
    yield worker_jobs.PERIODIC_JOBS
    worker_jobs.PERIODIC_JOBS[:] = saved


async def test_jobs_register_once_and_do_their_work(
    registry: list[worker_jobs.PeriodicJob],
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    policy = SlaPolicy(rollup_batch_rows=500, rollup_max_batches=100, retention_batch_rows=100)
    register_jobs(policy)
    register_jobs(policy)
    names = [job.name for job in registry]
    assert names.count(ROLLUP_JOB) == 1
    assert names.count(RETENTION_JOB) == 1
    by_name = {job.name: job for job in registry}
    assert by_name[ROLLUP_JOB].interval_seconds == 15.0

    probe = await add_probe(sessions, "contoso", now=clock.now())
    now = clock.now()
    old = synthetic(
        probe.id, now - timedelta(days=402), now - timedelta(days=401), interval=300, seed=1
    )
    new = synthetic(probe.id, now - timedelta(hours=6), now, interval=30, seed=2)
    await store(sessions, probe, old + new)
    assert await by_name[ROLLUP_JOB].run(sessions, clock) == len(old) + len(new)
    assert await by_name[ROLLUP_JOB].run(sessions, clock) == 0
    assert await by_name[RETENTION_JOB].run(sessions, clock) == len(old)
    async with session_scope(sessions) as session:
        left = await session.scalar(select(func.count()).select_from(ProbeResult))
        hours = await session.scalar(
            select(func.sum(ProbeRollup.probes)).where(ProbeRollup.granularity == "hour")
        )
    assert left == len(new)
    assert hours == len(old) + len(new)  # hour rollups outlive the raw rows
