"""The purge of portal launch records: older than the retention period goes, the rest stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.models import PortalLaunch
from mobileplans.db.session import session_scope
from mobileplans.kit.clock import FrozenClock
from mobileplans.worker import catalog_jobs
from mobileplans.worker import jobs as worker_jobs
from mobileplans.worker.loop import register_all_jobs

Sessions = async_sessionmaker[AsyncSession]


def _launch(transaction_id: str, age: timedelta, clock: FrozenClock) -> PortalLaunch:
    return PortalLaunch(
        transaction_id=transaction_id,
        created_at=clock.now() - age,
        operator_id="contoso",
        environment="production",
        location="US",
        market="US",
        iccids=[],
        portal_url="https://portal.example/contoso/",
    )


async def test_purge_deletes_only_launches_past_retention(
    sessions: Sessions, clock: FrozenClock
) -> None:
    async with session_scope(sessions) as session:
        session.add_all(
            [
                _launch("old-1", timedelta(days=91), clock),
                _launch("old-2", timedelta(days=400), clock),
                _launch("edge", timedelta(days=89, hours=23), clock),
                _launch("new", timedelta(minutes=1), clock),
            ]
        )
    deleted = await catalog_jobs.purge_job(sessions, clock, retention_days=90)
    assert deleted == 2
    async with session_scope(sessions) as session:
        kept = set((await session.scalars(select(PortalLaunch.transaction_id))).all())
    assert kept == {"edge", "new"}
    assert await catalog_jobs.purge_job(sessions, clock, retention_days=90) == 0


def test_the_worker_registers_the_purge_with_the_configured_retention() -> None:
    registered = list(worker_jobs.PERIODIC_JOBS)
    worker_jobs.PERIODIC_JOBS[:] = [j for j in registered if j.name != catalog_jobs.PURGE_JOB]
    try:
        register_all_jobs(Settings(transaction_retention_days=120), "w1")
        register_all_jobs(Settings(transaction_retention_days=120), "w1")
        purges = [j for j in worker_jobs.PERIODIC_JOBS if j.name == catalog_jobs.PURGE_JOB]
        assert len(purges) == 1
        assert purges[0].run.keywords == {"retention_days": 120}  # type: ignore[attr-defined]
    finally:
        worker_jobs.PERIODIC_JOBS[:] = registered
