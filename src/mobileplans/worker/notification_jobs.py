"""The notifications outbox job: deliver due rows every second (issue #5, spec 5.4-5.5).

``register_jobs(settings)`` adds ``notifications.deliver`` to
:data:`worker.jobs.PERIODIC_JOBS` once. Every worker may run it: rows are leased by
compare-and-set (``domains.notification.delivery``), so two workers never send one row.
"""

from __future__ import annotations

import functools
import os
import socket

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.transactions import Transactions
from mobileplans.domains.notification.delivery import deliver_due
from mobileplans.kit.clock import Clock
from mobileplans.worker.jobs import PERIODIC_JOBS, PeriodicJob

DELIVER_JOB = "notifications.deliver"
INTERVAL_SECONDS = 1.0
BATCH = 50
MAX_BATCHES_PER_RUN = 20
"""A run drains full batches back to back, up to this many, then yields to the loop."""


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:notifications"[:64]


async def deliver_job(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    settings: Settings,
    worker_id: str,
) -> int:
    """Deliver due notifications batch after batch until a batch is not full; returns how
    many were delivered."""
    delivered = 0
    # Patient steps (D228): an outcome reached while the database restarts is recorded
    # when it is back (within half the lease), not lost and the message sent again.
    tx = Transactions(sessions, patience=settings.notification_lease_seconds / 2)
    for _ in range(MAX_BATCHES_PER_RUN):
        summary = await deliver_due(
            tx,
            clock,
            worker_id=worker_id,
            settings=settings,
            batch=BATCH,
            lease_seconds=settings.notification_lease_seconds,
        )
        delivered += summary.delivered
        if summary.claimed < BATCH:
            break
    return delivered


def register_jobs(settings: Settings, *, worker_id: str | None = None) -> list[PeriodicJob]:
    """Add the delivery job to ``PERIODIC_JOBS`` (idempotent); returns it.

    ``worker_id`` owns the leases; it must be unique per process (default: host and pid).
    """
    job = PeriodicJob(
        DELIVER_JOB,
        INTERVAL_SECONDS,
        functools.partial(
            deliver_job, settings=settings, worker_id=(worker_id or default_worker_id())[:64]
        ),
    )
    if all(existing.name != DELIVER_JOB for existing in PERIODIC_JOBS):
        PERIODIC_JOBS.append(job)
    return [job]
