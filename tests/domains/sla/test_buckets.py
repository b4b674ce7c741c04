"""The console's hour and day buckets (``sla.service.probe_buckets``) count exactly what
the probes recorded whatever the rollup lag, and read every bucket of every probe in a
fixed number of statements (not one query group per bucket)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.sla import service
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.service import BucketRead
from mobileplans.kit.clock import FrozenClock
from tests.domains.sla.support import (
    Result,
    add_operator,
    add_probe,
    brute_force,
    roll_up_all,
    store,
    synthetic,
    utc,
)

Sessions = async_sessionmaker[AsyncSession]
END = utc(2026, 10, 4, 13, 37, 20)  # inside an hour: the last buckets are in progress


async def two_probes(sessions: Sessions, clock: FrozenClock) -> tuple[list[int], list[Result]]:
    await add_operator(sessions, "contoso", "UTC", now=clock.now())
    results: list[Result] = []
    ids = []
    for kind, seed in (("portal", 3), ("getbalance", 4)):
        probe = await add_probe(sessions, "contoso", kind=kind, interval=60, now=clock.now())
        made = synthetic(
            probe.id, utc(2026, 10, 1, 22), END + timedelta(minutes=5), interval=60, seed=seed,
            failure_rate=0.05, outages=[(utc(2026, 10, 3, 9, 10), utc(2026, 10, 3, 9, 40))],
        )  # fmt: skip
        await store(sessions, probe, made)
        results.extend(made)
        ids.append(probe.id)
    return ids, results


def expected(results: list[Result], probe_id: int, bucket: BucketRead, step: timedelta) -> Any:
    brute = brute_force(results, probe_id, bucket.start, min(bucket.start + step, END), [])
    average = sum(brute.latencies_us) / len(brute.latencies_us) / 1000 if brute.probes else None
    return brute.probes, brute.failures, average


def check(
    found: dict[int, list[BucketRead]], results: list[Result], step: timedelta, count: int
) -> None:
    for probe_id, buckets in found.items():
        assert len(buckets) == count
        assert buckets[-1].start <= END < buckets[-1].start + step
        for bucket in buckets:
            probes, failures, average = expected(results, probe_id, bucket, step)
            assert (bucket.probes, bucket.failures) == (probes, failures), bucket.start
            if average is None:
                assert bucket.average_ms is None
            else:
                assert bucket.average_ms is not None
                assert abs(bucket.average_ms - average) < 1e-6


async def buckets(sessions: Sessions, ids: list[int], grain: str, count: int) -> Any:
    async with sessions() as session:
        return await service.probe_buckets(session, ids, end=END, grain=grain, count=count)


async def test_buckets_are_exact_before_during_and_after_rolling_up(
    sessions: Sessions, clock: FrozenClock
) -> None:
    ids, results = await two_probes(sessions, clock)
    hour, day = timedelta(hours=1), timedelta(days=1)
    check(await buckets(sessions, ids, "hour", 24), results, hour, 24)  # nothing rolled up
    batch = SlaPolicy(settle_seconds=0, rollup_batch_rows=2500)
    for _ in range(2):  # the watermark inside the first probe's rows, then the second's
        async with session_scope(sessions) as session:
            await service.roll_up(session, now=END + timedelta(hours=1), policy=batch)
        check(await buckets(sessions, ids, "hour", 24), results, hour, 24)
        check(await buckets(sessions, ids, "day", 5), results, day, 5)
    await roll_up_all(sessions, END + timedelta(hours=1))
    hours = await buckets(sessions, ids, "hour", 24)
    check(hours, results, hour, 24)
    days = await buckets(sessions, ids, "day", 5)
    check(days, results, day, 5)
    assert days[ids[0]][0].probes == 0  # 30 Sep: before the first result
    for grain, count in (("hour", 24), ("day", 5)):
        full = await buckets(sessions, ids, grain, count)
        async with sessions() as session:
            bare = await service.probe_buckets(
                session, ids, end=END, grain=grain, count=count, percentiles=False
            )
        for pid in ids:  # the same counts and averages, no percentiles
            assert [(b.start, b.probes, b.failures) for b in bare[pid]] == [
                (b.start, b.probes, b.failures) for b in full[pid]
            ]
            assert [b.average_ms for b in bare[pid]] == [b.average_ms for b in full[pid]]
            assert all(b.p50_ms is None and b.p99_ms is None for b in bare[pid])
            assert any(b.p99_ms is not None for b in full[pid])
    outage = {b.start: b for b in (await buckets(sessions, ids, "hour", 40))[ids[1]]}
    assert outage[utc(2026, 10, 3, 9)].failures >= 30  # timed out from 9:10 to 9:40


async def test_statements_do_not_grow_with_the_buckets(
    sessions: Sessions, clock: FrozenClock, engine: AsyncEngine
) -> None:
    ids, _results = await two_probes(sessions, clock)
    await roll_up_all(sessions, END + timedelta(hours=1))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    counts = []
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        for grain, count in (("hour", 6), ("hour", 24), ("day", 3), ("day", 90)):
            statements.clear()
            await buckets(sessions, ids, grain, count)
            counts.append(len(statements))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert counts[0] == counts[1]  # 6 or 24 hours: the same statements
    assert counts[2] == counts[3]  # 3 or 90 days
    assert max(counts) <= 8
