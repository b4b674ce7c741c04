"""The SLA domain's periodic jobs: incremental rollups and retention (issue #4).

``register_jobs()`` adds them to :data:`worker.jobs.PERIODIC_JOBS` once; the worker calls
it before starting (every worker may run them: the rollup is serialised on its watermark,
retention deletes are idempotent).
"""

from __future__ import annotations

import functools
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.sla import retention, service
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.kit.clock import Clock
from mobileplans.worker.jobs import PERIODIC_JOBS, PeriodicJob

log = logging.getLogger(__name__)
ROLLUP_JOB = "sla.rollup"
RETENTION_JOB = "sla.retention"
RETENTION_MAX_BATCHES = 200


async def rollup_job(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, policy: SlaPolicy
) -> int:
    """Roll up new results, one transaction per batch, until caught up (or the cap)."""
    total = 0
    for _ in range(policy.rollup_max_batches):
        async with session_scope(sessions) as session:
            done = await service.roll_up(session, now=clock.now(), policy=policy)
        total += done
        if done < policy.rollup_batch_rows:
            break
    return total


async def retention_job(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, policy: SlaPolicy
) -> int:
    """Delete expired raw results (batch by batch) and expired rollups."""
    deleted = 0
    for _ in range(RETENTION_MAX_BATCHES):
        async with session_scope(sessions) as session:
            purged = await retention.purge_batch(session, now=clock.now(), policy=policy)
        deleted += purged.results
        if purged.results < policy.retention_batch_rows:
            break
    if deleted:
        log.info("retention deleted %d probe results", deleted)
    return deleted


def register_jobs(policy: SlaPolicy | None = None) -> list[PeriodicJob]:
    """Add the rollup and retention jobs to ``PERIODIC_JOBS`` (idempotent); returns them."""
    chosen = policy or SlaPolicy()
    jobs = [
        PeriodicJob(
            ROLLUP_JOB,
            chosen.rollup_interval_seconds,
            functools.partial(rollup_job, policy=chosen),
        ),
        PeriodicJob(
            RETENTION_JOB,
            chosen.retention_interval_seconds,
            functools.partial(retention_job, policy=chosen),
        ),
    ]
    present = {job.name for job in PERIODIC_JOBS}
    PERIODIC_JOBS.extend(job for job in jobs if job.name not in present)
    return jobs
