"""Retention: raw probe results after ``raw_retention_days`` (default 400), minute rollups
after ``minute_rollup_hours`` (48), hour rollups after ``hour_rollup_days`` (800; 0 keeps),
day rollups after ``day_rollup_days`` (0: kept). Issued statements are never deleted.

Raw results go in batches of ``retention_batch_rows``, oldest ids first, one batch per
call, so no transaction holds locks for long; the job calls :func:`purge_batch` until it
returns less than a full batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.sla import repository
from mobileplans.domains.sla.policy import SlaPolicy


@dataclass(frozen=True)
class Purged:
    results: int
    rollups: dict[str, int]


async def purge_batch(session: AsyncSession, *, now: datetime, policy: SlaPolicy) -> Purged:
    cutoff = now - timedelta(days=policy.raw_retention_days)
    results = await repository.delete_results_before(session, cutoff, policy.retention_batch_rows)
    keep = {
        "minute": timedelta(hours=policy.minute_rollup_hours),
        "hour": timedelta(days=policy.hour_rollup_days),
        "day": timedelta(days=policy.day_rollup_days),
    }
    rollups = {}
    for grain, age in keep.items():
        if age > timedelta(0):
            rollups[grain] = await repository.delete_rollups_before(session, grain, now - age)
    return Purged(results=results, rollups=rollups)
