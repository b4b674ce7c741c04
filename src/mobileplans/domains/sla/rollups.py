"""Rollups per probe per minute, hour and UTC day, maintained incrementally by id watermark.

One batch is one transaction: lock the watermark row, read the next results by id, add
them into their buckets (read-modify-write of the JSON histogram), compare-and-set the
watermark from the value read to the last id used, commit. A second worker blocks on the
lock and then continues after the first one's batch, so nothing is counted twice; a crash
rolls the whole batch back, so nothing is lost.

Result ids are allocated when a row is inserted but become visible when its transaction
commits, so a gap in the ids can be a transaction still in flight (or a rolled-back or
conflicting insert that never will be). The rollup stops before a gap until the rows after
it are ``settle_seconds`` old, then goes past it. Reports add results past the watermark
from the raw table, so the wait costs nothing in accuracy.

Minute buckets are only made for results younger than the minute-rollup retention.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.sla import histogram as hist
from mobileplans.domains.sla import repository
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.tally import SUCCESS_OUTCOMES, Tally

GRAINS = {"minute": 60, "hour": 3600, "day": 86400}
BucketKey = tuple[int, str, int]  # probe id, granularity, bucket start (epoch seconds)


def settled_prefix(rows: Sequence[Any], last_id: int, settled_before: float) -> Sequence[Any]:
    """The rows ``(id, probe_id, epoch, outcome, latency)`` that can be rolled up now: all
    up to the first id gap, and past a gap only rows started before ``settled_before``."""
    expected = last_id + 1
    gap = False
    for index, row in enumerate(rows):
        gap = gap or row[0] != expected
        if gap and row[2] >= settled_before:
            return rows[:index]
        expected = row[0] + 1
    return rows


def _add(table: dict[tuple[int, int], Tally], key: tuple[int, int], row: tuple[Any, ...]) -> None:
    """Count one prepared row ``(failed, degraded, us, bucket)`` into ``table[key]``."""
    tally = table.get(key)
    if tally is None:
        tally = table[key] = Tally()
    tally.probes += 1
    failed, degraded, us, bucket = row
    if failed:
        tally.failures += 1
        return
    tally.degraded += degraded
    tally.latency_us += us
    tally.histogram[bucket] = tally.histogram.get(bucket, 0) + 1


def aggregate(rows: Sequence[Any], *, minutes_since: float) -> dict[BucketKey, Tally]:
    """Add result rows ``(id, probe_id, epoch seconds, outcome, latency_ms)`` into hour
    buckets (and minute buckets for rows from ``minutes_since`` on); days are sums of hours.

    The hot loop of the rollup job (tens of millions of rows in a backfill): the hour
    update is inlined; it must count exactly as :meth:`Tally.add_result` does.
    """
    hours: dict[tuple[int, int], Tally] = {}
    minutes: dict[tuple[int, int], Tally] = {}
    edges = hist.EDGES_US
    for _id, probe_id, epoch, outcome, latency in rows:
        key = (probe_id, epoch - epoch % 3600)
        tally = hours.get(key)
        if tally is None:
            tally = hours[key] = Tally()
        tally.probes += 1
        if outcome in SUCCESS_OUTCOMES:
            us = max(0, round(latency * 1000))
            bucket = bisect_right(edges, us)
            degraded = outcome == "degraded"
            tally.degraded += degraded
            tally.latency_us += us
            tally.histogram[bucket] = tally.histogram.get(bucket, 0) + 1
            prepared: tuple[Any, ...] = (False, degraded, us, bucket)
        else:
            tally.failures += 1
            prepared = (True, False, 0, 0)
        if epoch >= minutes_since:
            _add(minutes, (probe_id, epoch - epoch % 60), prepared)
    buckets: dict[BucketKey, Tally] = {}
    for (probe_id, start), tally in hours.items():
        buckets[(probe_id, "hour", start)] = tally
        day = buckets.setdefault((probe_id, "day", start - start % 86400), Tally())
        day.merge(tally)
    for (probe_id, start), tally in minutes.items():
        buckets[(probe_id, "minute", start)] = tally
    return buckets


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _values(tally: Tally) -> dict[str, Any]:
    return {
        "probes": tally.probes,
        "failures": tally.failures,
        "degraded": tally.degraded,
        "latency_sum_ms": tally.latency_sum_ms,
        "histogram": hist.encode(tally.histogram),
    }


async def store_buckets(session: AsyncSession, buckets: dict[BucketKey, Tally]) -> None:
    """Add each bucket into its stored rollup row, creating rows that do not exist yet."""
    by_grain: dict[str, set[int]] = {}
    for _probe, grain, start in buckets:
        by_grain.setdefault(grain, set()).add(start)
    pending = dict(buckets)
    updates = []
    for grain, starts in by_grain.items():
        instants = [_instant(s) for s in sorted(starts)]
        for row in await repository.rollups_at(session, grain, instants):
            probe_id, bucket_start, probes, failures, degraded, latency_sum, flat = row
            tally = pending.pop((probe_id, grain, int(bucket_start.timestamp())), None)
            if tally is not None:
                tally.add_rollup(probes, failures, degraded, latency_sum, flat)
                updates.append(
                    {"k_probe": probe_id, "k_grain": grain, "k_start": bucket_start}
                    | _values(tally)
                )
    labels = await repository.probe_labels(session, sorted({k[0] for k in pending}))
    inserts = [
        {
            "probe_id": probe_id,
            "granularity": grain,
            "bucket_start": _instant(start),
            "operator_id": labels[probe_id][0],
            "environment": labels[probe_id][1],
            "kind": labels[probe_id][2],
        }
        | _values(tally)
        for (probe_id, grain, start), tally in pending.items()
    ]
    await repository.update_rollups(session, updates)
    await repository.insert_rollups(session, inserts)


async def roll_up_batch(session: AsyncSession, *, now: datetime, policy: SlaPolicy) -> int:
    """Roll up the next batch of results; returns how many results it consumed."""
    name = repository.ROLLUP_WATERMARK
    last_id = await repository.lock_watermark(session, name, now)
    rows = await repository.results_after(session, last_id, policy.rollup_batch_rows)
    settled = (now - timedelta(seconds=policy.settle_seconds)).timestamp()
    usable = settled_prefix(rows, last_id, settled)
    if not usable:
        return 0
    minutes_since = (now - timedelta(hours=policy.minute_rollup_hours)).timestamp()
    await store_buckets(session, aggregate(usable, minutes_since=minutes_since))
    await repository.advance_watermark(session, name, last_id, int(usable[-1][0]), now)
    return len(usable)


async def rebuild(
    session: AsyncSession,
    probe_ids: Sequence[int],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
) -> int:
    """Recompute the hour and day rollups of whole UTC days ``[start, end)`` from raw rows.

    For repairs (a result committed long after its id was taken, or rows restored from a
    backup). Holds the rollup watermark lock, so the incremental job waits; only results up
    to the watermark are used, the later ones being the incremental job's. Returns the
    number of raw results read.
    """
    name = repository.ROLLUP_WATERMARK
    last_id = await repository.lock_watermark(session, name, now)
    rows = await repository.raw_results(session, probe_ids, [(start, end)], max_id=last_id)
    epochs = [
        (result_id, probe_id, int(started_at.timestamp()), outcome, latency)
        for result_id, probe_id, started_at, outcome, latency in rows
    ]
    for grain in ("hour", "day"):
        await repository.delete_rollups(session, probe_ids, grain, start, end)
    await store_buckets(session, aggregate(epochs, minutes_since=float("inf")))
    return len(epochs)
