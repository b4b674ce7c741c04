"""The catalog's periodic job: purge portal launch records past their retention.

Every providers call records each portal launch and its ``transactionId`` (troubleshooting
reads them); they are kept ``MP_TRANSACTION_RETENTION_DAYS`` days (default 90, spec 7.2
#44: at least 90 days), then deleted by this job once an hour. Idempotent: any number of
workers may run it.
"""

from __future__ import annotations

import functools
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.catalog import service as catalog_service
from mobileplans.kit.clock import Clock
from mobileplans.worker.jobs import PERIODIC_JOBS, PeriodicJob

log = logging.getLogger(__name__)
PURGE_JOB = "catalog.purge-launches"
PURGE_INTERVAL_SECONDS = 3600.0


async def purge_job(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, retention_days: int
) -> int:
    """Delete launch records older than the retention period, in one transaction."""
    async with session_scope(sessions) as session:
        deleted = await catalog_service.purge_launches(
            session, now=clock.now(), retention_days=retention_days
        )
    if deleted:
        log.info("purged %d portal launch records older than %d days", deleted, retention_days)
    return deleted


def register_jobs(retention_days: int) -> list[PeriodicJob]:
    """Add the purge job to ``PERIODIC_JOBS`` (idempotent); returns it."""
    job = PeriodicJob(
        PURGE_JOB,
        PURGE_INTERVAL_SECONDS,
        functools.partial(purge_job, retention_days=retention_days),
    )
    if all(existing.name != PURGE_JOB for existing in PERIODIC_JOBS):
        PERIODIC_JOBS.append(job)
    return [job]
