"""The schedule: grid, jitter, compare-and-set claims, leases, batched completion."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.probe import scheduler
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.probe.schemas import (
    ClaimedRun,
    Outcome,
    ProbeDefinition,
    ProbeKindName,
    ProbeSettings,
    RunResult,
)
from mobileplans.kit.clock import FrozenClock

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def definitions(count: int, *, kind: ProbeKindName = ProbeKindName.PORTAL) -> list[ProbeDefinition]:
    return [
        ProbeDefinition(f"op-{i:04d}", "production", kind, f"https://op{i}.example/portal?x=1")
        for i in range(count)
    ]


async def seed(sessions: Sessions, clock: FrozenClock, count: int, **settings: float) -> None:
    async with session_scope(sessions) as session:
        await probe_service.add_definitions(
            session, definitions(count), settings=ProbeSettings(**settings), now=clock.now()
        )


async def make_all_due(sessions: Sessions, clock: FrozenClock) -> None:
    """Move the clock to the last probe's first slot: every probe is due, none stale."""
    clock.set(max(p.next_run_at for p in (await probes(sessions)).values()))


async def claim(
    sessions: Sessions, clock: FrozenClock, worker: str, limit: int = 1000
) -> list[ClaimedRun]:
    async with session_scope(sessions) as session:
        return await scheduler.claim_due(session, worker_id=worker, now=clock.now(), limit=limit)


def result_of(run: ClaimedRun, outcome: Outcome, started: datetime, worker: str = "w") -> RunResult:
    return RunResult(
        run, started, outcome, 200 if not outcome.is_failure else None, 12.5, None, worker
    )


async def complete(
    sessions: Sessions, results: list[RunResult], now: datetime
) -> scheduler.CompletionSummary:
    async with session_scope(sessions) as session:
        return await scheduler.complete(session, results, now=now)


async def probes(sessions: Sessions) -> dict[int, Probe]:
    async with sessions() as session:
        return {p.id: p for p in (await session.scalars(select(Probe))).all()}


async def results(sessions: Sessions) -> list[ProbeResult]:
    async with sessions() as session:
        return list((await session.scalars(select(ProbeResult))).all())


# grid and jitter


def test_jitter_is_stable_and_within_the_interval() -> None:
    first = scheduler.jitter_ms_for("contoso", "production", "portal", 30)
    assert first == scheduler.jitter_ms_for("contoso", "production", "portal", 30)
    assert 0 <= first < 30_000
    assert first != scheduler.jitter_ms_for("contoso", "production", "getbalance", 30)
    assert 0 <= scheduler.jitter_ms_for("contoso", "production", "portal", 300) < 300_000


def test_jitter_spreads_probes_over_the_interval() -> None:
    offsets = [
        scheduler.jitter_ms_for(f"op-{i}", env, kind, 30)
        for i in range(500)
        for env in ("staging", "production")
        for kind in ("portal", "getbalance")
    ]
    per_second = Counter(offset // 1000 for offset in offsets)
    assert set(per_second) == set(range(30))
    mean = len(offsets) / 30
    assert max(per_second.values()) < 1.6 * mean
    assert min(per_second.values()) > 0.5 * mean


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@given(instants, st.sampled_from([30, 45, 60, 300]), st.integers(0, 299_999))
def test_slots_lie_on_the_grid(instant: datetime, interval: int, raw_jitter: int) -> None:
    jitter = raw_jitter % (interval * 1000)
    after = scheduler.slot_at_or_after(instant, interval, jitter)
    before = scheduler.slot_at_or_before(instant, interval, jitter)
    period = timedelta(seconds=interval)
    assert before <= instant <= after
    assert after - instant < period
    assert instant - before < period
    for slot in (after, before):
        epoch_ms = round((slot - scheduler.EPOCH).total_seconds() * 1000)
        assert (epoch_ms - jitter) % (interval * 1000) == 0


def test_advance_moves_one_interval_and_skips_stale_slots() -> None:
    assert scheduler.advance(T0, 30, T0 + timedelta(seconds=31)) == (T0 + timedelta(seconds=30), 0)
    # 40 s late: the next slot (T0+30) is still within one interval of now: keep it.
    assert scheduler.advance(T0, 30, T0 + timedelta(seconds=55)) == (T0 + timedelta(seconds=30), 0)
    # At T0+130 s slots T0+30, +60, +90 are over one interval old: skip them, run T0+120.
    assert scheduler.advance(T0, 30, T0 + timedelta(seconds=130)) == (
        T0 + timedelta(seconds=120),
        3,
    )


def test_rebase_runs_the_latest_due_slot_of_a_stale_row() -> None:
    assert scheduler.rebase(T0, 30, T0 + timedelta(seconds=20)) == (T0, 0)
    assert scheduler.rebase(T0, 30, T0 + timedelta(seconds=130)) == (T0 + timedelta(seconds=120), 4)


# claims


async def test_two_claimers_never_get_the_same_run(sessions: Sessions, clock: FrozenClock) -> None:
    await seed(sessions, clock, 120)
    await make_all_due(sessions, clock)
    seen: Counter[int] = Counter()

    async def claimer(worker: str) -> None:
        for _ in range(20):
            runs = await claim(sessions, clock, worker, limit=7)
            seen.update(r.probe_id for r in runs)
            if not runs:
                return
            await asyncio.sleep(0)

    await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
    assert len(seen) == 120
    assert set(seen.values()) == {1}


async def test_a_live_lease_is_not_retaken_an_expired_one_is(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await seed(sessions, clock, 3, timeout_seconds=2.0)
    await make_all_due(sessions, clock)
    first = await claim(sessions, clock, "a")
    assert len(first) == 3
    leased = await probes(sessions)
    assert {p.lease_owner for p in leased.values()} == {"a"}
    # lease = 2 x timeout + 5 s margin past the slot horizon
    assert {p.lease_expires_at for p in leased.values()} == {clock.now() + timedelta(seconds=9)}
    clock.advance(timedelta(seconds=8))
    assert await claim(sessions, clock, "b") == []
    clock.advance(timedelta(seconds=2))
    retaken = await claim(sessions, clock, "b")
    assert sorted(r.probe_id for r in retaken) == sorted(r.probe_id for r in first)
    assert {r.scheduled_at for r in retaken} == {r.scheduled_at for r in first}
    assert {p.lease_owner for p in (await probes(sessions)).values()} == {"b"}


async def test_only_enabled_due_rows_are_claimed(sessions: Sessions, clock: FrozenClock) -> None:
    await seed(sessions, clock, 10)
    rows = sorted((await probes(sessions)).values(), key=lambda p: p.next_run_at)
    clock.set(rows[0].next_run_at)
    async with session_scope(sessions) as session:
        disabled = await session.get(Probe, rows[-1].id)
        assert disabled is not None
        disabled.enabled = False
        disabled.next_run_at = clock.now()
    due_now = {p.id for p in rows[:-1] if p.next_run_at <= clock.now()}
    runs = await claim(sessions, clock, "a")
    assert {r.probe_id for r in runs} == due_now
    assert rows[-1].id not in {r.probe_id for r in runs}


async def test_lookahead_claims_slots_just_ahead(sessions: Sessions, clock: FrozenClock) -> None:
    await seed(sessions, clock, 60)
    rows = await probes(sessions)
    async with session_scope(sessions) as session:
        runs = await scheduler.claim_due(
            session, worker_id="a", now=clock.now(), limit=100, lookahead_seconds=5
        )
    expected = {p.id for p in rows.values() if p.next_run_at <= clock.now() + timedelta(seconds=5)}
    assert {r.probe_id for r in runs} == expected
    assert all(r.scheduled_at == r.due_at for r in runs)
    assert [r.scheduled_at for r in runs] == sorted(r.scheduled_at for r in runs)


async def test_released_claims_are_claimable_at_once(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await seed(sessions, clock, 4)
    await make_all_due(sessions, clock)
    runs = await claim(sessions, clock, "a")
    async with session_scope(sessions) as session:
        await scheduler.release(session, worker_id="a", probe_ids=[r.probe_id for r in runs[:2]])
    again = await claim(sessions, clock, "b")
    assert {r.probe_id for r in again} == {r.probe_id for r in runs[:2]}


# completion


async def test_completion_stores_result_and_moves_to_next_slot(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await seed(sessions, clock, 2)
    await make_all_due(sessions, clock)
    ok_run, bad_run = await claim(sessions, clock, "a")
    started = clock.now()
    summary = await complete(
        sessions,
        [result_of(ok_run, Outcome.OK, started), result_of(bad_run, Outcome.TIMEOUT, started)],
        clock.now(),
    )
    assert (summary.stored, summary.duplicates, summary.missed) == (2, 0, 0)
    rows = await probes(sessions)
    for run, outcome, failures in ((ok_run, "ok", 0), (bad_run, "timeout", 1)):
        row = rows[run.probe_id]
        assert row.next_run_at == run.scheduled_at + timedelta(seconds=30)
        assert (row.lease_owner, row.lease_expires_at) == (None, None)
        assert (row.last_outcome, row.consecutive_failures) == (outcome, failures)
        assert row.last_run_at == started
    stored = {r.probe_id: r for r in await results(sessions)}
    assert stored[bad_run.probe_id].scheduled_at == bad_run.scheduled_at
    assert stored[bad_run.probe_id].outcome == "timeout"
    assert stored[ok_run.probe_id].started_at == started
    # next run: failures accumulate, a success resets them
    clock.advance(timedelta(seconds=30))
    (again,) = [r for r in await claim(sessions, clock, "a") if r.probe_id == bad_run.probe_id]
    await complete(sessions, [result_of(again, Outcome.CONNECT_ERROR, clock.now())], clock.now())
    assert (await probes(sessions))[bad_run.probe_id].consecutive_failures == 2


async def test_a_late_duplicate_is_already_done(sessions: Sessions, clock: FrozenClock) -> None:
    await seed(sessions, clock, 1, timeout_seconds=2.0)
    await make_all_due(sessions, clock)
    (slow,) = await claim(sessions, clock, "a")
    clock.advance(timedelta(seconds=10))  # a's lease expired; b retakes the same slot
    (fast,) = await claim(sessions, clock, "b")
    assert fast.scheduled_at == slow.scheduled_at
    first = await complete(sessions, [result_of(fast, Outcome.OK, clock.now(), "b")], clock.now())
    after_b = (await probes(sessions))[fast.probe_id]
    late = await complete(
        sessions, [result_of(slow, Outcome.TIMEOUT, clock.now(), "a")], clock.now()
    )
    assert (first.stored, late.stored, late.duplicates) == (1, 0, 1)
    stored = await results(sessions)
    assert [(r.worker, r.outcome) for r in stored] == [("b", "ok")]
    row = (await probes(sessions))[fast.probe_id]
    assert (row.next_run_at, row.last_outcome, row.consecutive_failures) == (
        after_b.next_run_at,
        "ok",
        0,
    )


async def test_slots_over_one_interval_old_are_skipped_and_counted(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await seed(sessions, clock, 1)
    await make_all_due(sessions, clock)
    (run,) = await claim(sessions, clock, "a")
    labels = {"operator": run.operator_id, "environment": "production", "kind": "portal"}
    before = REGISTRY.get_sample_value("mobileplans_probe_missed_slots_total", labels) or 0
    late = run.scheduled_at + timedelta(seconds=130)
    summary = await complete(sessions, [result_of(run, Outcome.OK, run.scheduled_at)], late)
    assert summary.missed == 3
    assert (await probes(sessions))[run.probe_id].next_run_at == run.scheduled_at + timedelta(
        seconds=120
    )
    after = REGISTRY.get_sample_value("mobileplans_probe_missed_slots_total", labels)
    assert after == before + 3


async def test_a_stale_row_runs_its_latest_slot(sessions: Sessions, clock: FrozenClock) -> None:
    await seed(sessions, clock, 1)
    (row,) = (await probes(sessions)).values()
    clock.set(row.next_run_at + timedelta(seconds=95))  # 3 slots and 5 s overdue
    (run,) = await claim(sessions, clock, "a")
    assert run.due_at == row.next_run_at
    assert run.scheduled_at == row.next_run_at + timedelta(seconds=90)
    assert run.missed == 3
    await complete(sessions, [result_of(run, Outcome.OK, clock.now())], clock.now())
    assert (await probes(sessions))[run.probe_id].next_run_at == run.scheduled_at + timedelta(
        seconds=30
    )
    assert [r.scheduled_at for r in await results(sessions)] == [run.scheduled_at]


async def test_completion_leaves_a_rescheduled_probe_alone(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await seed(sessions, clock, 1)
    await make_all_due(sessions, clock)
    (run,) = await claim(sessions, clock, "a")
    moved = clock.now() + timedelta(minutes=10)
    async with session_scope(sessions) as session:
        row = await session.get(Probe, run.probe_id)
        assert row is not None
        row.next_run_at = moved
    await complete(sessions, [result_of(run, Outcome.OK, clock.now())], clock.now())
    assert (await probes(sessions))[run.probe_id].next_run_at == moved
    assert len(await results(sessions)) == 1
