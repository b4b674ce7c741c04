"""Incremental rollups: exact, idempotent, safe with two workers, patient with id gaps;
rebuild and retention."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import JobWatermark, ProbeResult, ProbeRollup
from mobileplans.db.session import session_scope
from mobileplans.domains.sla import histogram as hist
from mobileplans.domains.sla import rollups, service
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.retention import purge_batch
from mobileplans.kit.clock import FrozenClock
from tests.domains.sla.support import (
    POLICY,
    Result,
    add_probe,
    max_result_id,
    roll_up_all,
    store,
    synthetic,
)

GRAIN_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def expected_rollups(
    results: list[Result], minutes_since: datetime
) -> dict[tuple[int, str, datetime], tuple[int, int, int, int, dict[int, int]]]:
    out: dict[tuple[int, str, datetime], list[Any]] = {}
    for r in results:
        for grain, size in GRAIN_SECONDS.items():
            if grain == "minute" and r.started_at < minutes_since:
                continue
            epoch = int(r.started_at.timestamp())
            start = datetime.fromtimestamp(epoch - epoch % size, r.started_at.tzinfo)
            entry = out.setdefault((r.probe_id, grain, start), [0, 0, 0, 0, {}])
            entry[0] += 1
            if r.outcome not in ("ok", "degraded"):
                entry[1] += 1
                continue
            entry[2] += r.outcome == "degraded"
            us = round(r.latency_ms * 1000)
            entry[3] += us
            entry[4][hist.bucket_of(us)] = entry[4].get(hist.bucket_of(us), 0) + 1
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in out.items()}


async def stored_rollups(
    sessions: async_sessionmaker[AsyncSession],
) -> dict[tuple[int, str, datetime], tuple[int, int, int, int, dict[int, int]]]:
    async with session_scope(sessions) as session:
        rows = (await session.scalars(select(ProbeRollup))).all()
    return {
        (r.probe_id, r.granularity, r.bucket_start): (
            r.probes,
            r.failures,
            r.degraded,
            round(r.latency_sum_ms * 1000),
            hist.decode(r.histogram),
        )
        for r in rows
    }


async def watermark(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with session_scope(sessions) as session:
        return int(await session.scalar(select(JobWatermark.last_id)) or 0)


async def two_probes(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> tuple[Any, Any, list[Result]]:
    a = await add_probe(sessions, "contoso", now=clock.now())
    b = await add_probe(sessions, "contoso", kind="portal", now=clock.now())
    start = clock.now() - timedelta(days=3, hours=5, minutes=17)
    results = synthetic(a.id, start, clock.now(), interval=60, seed=1, failure_rate=0.05)
    results += synthetic(b.id, start, clock.now(), interval=60, seed=2, failure_rate=0.05)
    return a, b, results


async def test_rollups_equal_aggregation_of_raw_rows_and_minutes_only_recent(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    a, b, results = await two_probes(sessions, clock)
    await store(sessions, a, [r for r in results if r.probe_id == a.id])
    await store(sessions, b, [r for r in results if r.probe_id == b.id])
    consumed = await roll_up_all(sessions, clock.now())
    assert consumed == len(results)
    minutes_since = clock.now() - timedelta(hours=POLICY.minute_rollup_hours)
    stored = await stored_rollups(sessions)
    assert stored == expected_rollups(results, minutes_since)
    oldest_minute = min(k[2] for k in stored if k[1] == "minute")
    assert oldest_minute >= minutes_since - timedelta(minutes=1)
    assert await watermark(sessions) == await max_result_id(sessions)


async def test_rollup_is_idempotent_and_incremental(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    a, b, results = await two_probes(sessions, clock)
    first = [r for r in results if r.probe_id == a.id]
    second = [r for r in results if r.probe_id == b.id]
    await store(sessions, a, first[: len(first) // 2])
    await roll_up_all(sessions, clock.now())
    await store(sessions, b, second)
    await store(sessions, a, first[len(first) // 2 :])
    await roll_up_all(sessions, clock.now())
    before = await stored_rollups(sessions)
    assert await roll_up_all(sessions, clock.now()) == 0
    assert await stored_rollups(sessions) == before
    minutes_since = clock.now() - timedelta(hours=POLICY.minute_rollup_hours)
    assert before == expected_rollups(results, minutes_since)


async def test_two_workers_rolling_up_concurrently_count_every_row_once(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    a, b, results = await two_probes(sessions, clock)
    small = SlaPolicy(settle_seconds=0, rollup_batch_rows=300)
    rows_a = [r for r in results if r.probe_id == a.id]
    rows_b = [r for r in results if r.probe_id == b.id]

    async def writer() -> None:
        for i in range(0, len(rows_a), 700):
            await store(sessions, a, rows_a[i : i + 700])
            await store(sessions, b, rows_b[i : i + 700])
            await asyncio.sleep(0)

    async def worker() -> int:
        consumed = 0
        for _ in range(400):
            async with session_scope(sessions) as session:
                consumed += await service.roll_up(session, now=clock.now(), policy=small)
            await asyncio.sleep(0)
        return consumed

    _, first, second = await asyncio.gather(writer(), worker(), worker())
    rest = await roll_up_all(sessions, clock.now(), small)
    assert first + second + rest == len(results)
    # Which worker wins each batch is the scheduler's business (on SQLite one
    # may take them all); what must hold is that the workers did the work and
    # no row was counted twice or lost.
    assert first + second > 0
    minutes_since = clock.now() - timedelta(hours=small.minute_rollup_hours)
    assert await stored_rollups(sessions) == expected_rollups(results, minutes_since)
    assert await watermark(sessions) == await max_result_id(sessions)


async def insert_with_ids(
    sessions: async_sessionmaker[AsyncSession], probe: Any, pairs: list[tuple[int, Result]]
) -> None:
    async with session_scope(sessions) as session:
        await session.execute(insert(ProbeResult), [{"id": i, **r.row(probe)} for i, r in pairs])


async def test_rollup_waits_behind_an_id_gap_until_it_settles_then_rebuild_repairs(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    probe = await add_probe(sessions, "contoso", now=clock.now())
    now = clock.now()
    row = lambda seconds, outcome="ok": Result(  # noqa: E731
        probe.id, now - timedelta(seconds=seconds), now - timedelta(seconds=seconds), outcome, 50.0
    )
    await insert_with_ids(sessions, probe, [(1, row(90)), (2, row(60)), (4, row(30))])
    policy = SlaPolicy(settle_seconds=120)
    async with session_scope(sessions) as session:
        assert await service.roll_up(session, now=now, policy=policy) == 2  # stops before 3
    assert await watermark(sessions) == 2
    clock.advance(timedelta(seconds=100))
    async with session_scope(sessions) as session:
        assert await service.roll_up(session, now=clock.now(), policy=policy) == 1
    assert await watermark(sessions) == 4
    # id 3 commits long after its id was taken: it is below the watermark, so the
    # incremental rollup never sees it; a rebuild of its day repairs the rollups.
    await insert_with_ids(sessions, probe, [(3, row(45, "timeout"))])
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    stored = await stored_rollups(sessions)
    assert stored[(probe.id, "day", day)][:2] == (3, 0)
    async with session_scope(sessions) as session:
        read = await rollups.rebuild(
            session, [probe.id], day, day + timedelta(days=1), now=clock.now()
        )
    assert read == 4
    stored = await stored_rollups(sessions)
    assert stored[(probe.id, "day", day)][:2] == (4, 1)
    assert sum(v[0] for k, v in stored.items() if k[1] == "hour") == 4


async def test_retention_deletes_old_raw_rows_and_minute_rollups_only(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    probe = await add_probe(sessions, "contoso", now=clock.now())
    now = clock.now()
    old = synthetic(
        probe.id,
        now - timedelta(days=401),
        now - timedelta(days=400, hours=23),
        interval=60,
        seed=5,
    )
    recent = synthetic(probe.id, now - timedelta(hours=50), now, interval=60, seed=6)
    await store(sessions, probe, old + recent)
    await roll_up_all(sessions, now)
    later = now + timedelta(hours=1)
    policy = SlaPolicy(retention_batch_rows=50)
    deleted = 0
    for _ in range(100):
        async with session_scope(sessions) as session:
            purged = await purge_batch(session, now=later, policy=policy)
        deleted += purged.results
        if purged.results < policy.retention_batch_rows:
            break
    cutoff = later - timedelta(days=400)
    assert deleted == sum(1 for r in old if r.started_at < cutoff) > 0
    async with session_scope(sessions) as session:
        remaining = (await session.scalars(select(ProbeResult.started_at))).all()
        grains = (
            await session.execute(select(ProbeRollup.granularity, ProbeRollup.bucket_start))
        ).all()
    assert min(remaining) >= cutoff
    assert len(remaining) == len(old) + len(recent) - deleted
    minutes = [start for grain, start in grains if grain == "minute"]
    assert minutes
    assert min(minutes) >= later - timedelta(hours=48)
    assert any(grain == "hour" and start < cutoff for grain, start in grains)
    assert any(grain == "day" and start < cutoff for grain, start in grains)
