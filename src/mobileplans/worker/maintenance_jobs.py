"""The maintenance-notice job: reminders before and completion notices after planned
maintenance (spec 5.5; issue #5).

``register_jobs(contacts)`` adds it to :data:`worker.jobs.PERIODIC_JOBS` once; every worker
may run it, since each notice is claimed by a compare-and-set and sent once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import PlatformContact
from mobileplans.db.session import session_scope
from mobileplans.domains.maintenance_notice import service
from mobileplans.domains.maintenance_notice.schemas import NoticeCounts
from mobileplans.kit.clock import Clock
from mobileplans.worker.jobs import PERIODIC_JOBS, PeriodicJob

log = logging.getLogger(__name__)
NOTICES_JOB = "maintenance.notices"
INTERVAL_SECONDS = 30.0


async def notices_job(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    contacts: Sequence[PlatformContact],
    reminder_before: timedelta = service.DEFAULT_REMINDER_BEFORE,
) -> NoticeCounts:
    """One pass in one transaction: the notices and their claims commit together."""
    async with session_scope(sessions) as session:
        counts = await service.run_notices(
            session, clock.now(), contacts, reminder_before=reminder_before
        )
    if counts.reminders or counts.completions:
        log.info(
            "maintenance notices: %d reminders, %d completion notices",
            counts.reminders,
            counts.completions,
        )
    return counts


def register_jobs(
    contacts: Sequence[PlatformContact],
    *,
    interval_seconds: float = INTERVAL_SECONDS,
    reminder_before: timedelta = service.DEFAULT_REMINDER_BEFORE,
) -> list[PeriodicJob]:
    """Add the notice job to ``PERIODIC_JOBS`` (idempotent: a job of that name already
    registered is kept); returns it."""
    job = PeriodicJob(
        NOTICES_JOB,
        interval_seconds,
        functools.partial(notices_job, contacts=tuple(contacts), reminder_before=reminder_before),
    )
    if all(existing.name != NOTICES_JOB for existing in PERIODIC_JOBS):
        PERIODIC_JOBS.append(job)
    return [job]
