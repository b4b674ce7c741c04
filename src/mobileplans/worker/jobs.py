"""Periodic jobs the worker runs besides probes (rollups, notifications, retention...).

Each job is idempotent and does its own transactions; the loop calls ``run`` every
``interval_seconds``. A job that raises is logged and tried again next interval.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.kit.clock import Clock

JobFn = Callable[[async_sessionmaker[AsyncSession], Clock], Awaitable[object]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_seconds: float
    run: JobFn


PERIODIC_JOBS: list[PeriodicJob] = []
"""Filled by each feature's ``register_jobs`` (see worker.loop)."""
