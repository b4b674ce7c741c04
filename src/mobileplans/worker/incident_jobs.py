"""The incident domain's periodic jobs: detection (every 5 s) and clocks (every 15 s).

Detection is serialised by the open-incident key (a unique column), so every worker may run
it; reminders and breaches are compare-and-set on each clock row.
"""

from __future__ import annotations

import functools
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.session import session_scope
from mobileplans.domains.incident import clocks
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.kit.clock import Clock
from mobileplans.worker.jobs import PERIODIC_JOBS, PeriodicJob

log = logging.getLogger(__name__)
EVALUATE_JOB = "incidents.evaluate"
CLOCKS_JOB = "incidents.clocks"


async def evaluate_job(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, engine: Engine
) -> int:
    async with session_scope(sessions) as session:
        summary = await engine.evaluate(session, clock.now())
    for label, ids in (
        ("opened", summary.opened),
        ("re-graded", summary.changed),
        ("resolved", summary.resolved),
    ):
        if ids:
            log.warning("incidents %s: %s", label, ", ".join(f"#{i}" for i in ids))
    return len(summary.opened) + len(summary.changed) + len(summary.resolved)


async def clocks_job(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, ctx: NotifyContext
) -> int:
    async with session_scope(sessions) as session:
        summary = await clocks.process_due(session, ctx, clock.now())
    if summary.breaches:
        log.warning("incident clocks breached: %d", summary.breaches)
    return summary.reminders + summary.breaches


def register_jobs(settings: Settings | None = None) -> list[PeriodicJob]:
    """Add the detection and clock jobs to ``PERIODIC_JOBS`` (idempotent); returns them."""
    chosen = settings or Settings()
    ctx = NotifyContext(platform_contacts=list(chosen.platform_contacts))
    jobs = [
        PeriodicJob(EVALUATE_JOB, 5.0, functools.partial(evaluate_job, engine=Engine(ctx))),
        PeriodicJob(CLOCKS_JOB, 15.0, functools.partial(clocks_job, ctx=ctx)),
    ]
    present = {job.name for job in PERIODIC_JOBS}
    PERIODIC_JOBS.extend(job for job in jobs if job.name not in present)
    return jobs
