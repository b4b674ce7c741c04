"""The worker on a controllable clock against a controllable operator over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.kit.clock import Clock, FrozenClock
from mobileplans.worker import jobs as worker_jobs
from mobileplans.worker import loop
from mobileplans.worker.jobs import PeriodicJob
from mobileplans.worker.loop import Worker, WorkerOptions, WorkerReport, run_worker
from tests.domains.probe.target import ControllableTarget
from tests.support import operator_data, valid_iccid

Sessions = async_sessionmaker[AsyncSession]
FAST = WorkerOptions(
    poll_seconds=0.02,
    flush_seconds=0.05,
    lookahead_seconds=0.0,
    sync_poll_seconds=0.05,
    jobs=False,
)


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def target() -> AsyncIterator[ControllableTarget]:
    server = await ControllableTarget().start()
    yield server
    await server.stop()


async def register(
    sessions: Sessions, clock: Clock, target: ControllableTarget, operator_id: str, prefix: str
) -> None:
    data = operator_data(operator_id, brand=operator_id.title(), prefix=prefix)
    data["monitoringIccid"] = valid_iccid(prefix + "00000000009")
    data["environments"]["production"] = {
        "portalUrl": target.portal_url(operator_id),
        "moBaseUrl": target.mo_base_url(operator_id),
    }
    spec = OperatorSpec.model_validate(data, context={"url_policy": "local"})
    async with session_scope(sessions) as session:
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())


async def probes(sessions: Sessions) -> list[Probe]:
    async with sessions() as session:
        return list((await session.scalars(select(Probe).order_by(Probe.id))).all())


async def results(sessions: Sessions) -> list[ProbeResult]:
    async with sessions() as session:
        query = select(ProbeResult).order_by(ProbeResult.scheduled_at, ProbeResult.probe_id)
        return list((await session.scalars(query)).all())


class Running:
    """A worker task with its stop event."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(worker.run(self.stop))

    async def finish(self) -> WorkerReport:
        self.stop.set()
        return await asyncio.wait_for(self.task, timeout=30)


def start(sessions: Sessions, clock: Clock, worker_id: str = "w1", **options: Any) -> Running:
    values = {**FAST.__dict__, **options}
    return Running(Worker(sessions, clock, worker_id=worker_id, options=WorkerOptions(**values)))


async def test_worker_syncs_runs_and_records_on_schedule(
    sessions: Sessions, clock: FrozenClock, target: ControllableTarget
) -> None:
    await register(sessions, clock, target, "contoso", "8901999")
    running = start(sessions, clock)
    await until(lambda: _count_probes(sessions, 2), "probes synced from the registry")
    rows = await probes(sessions)
    clock.set(max(p.next_run_at for p in rows))
    await until(lambda: _count_results(sessions, 2), "first results")
    first = await results(sessions)
    assert {(r.kind, r.outcome, r.status_code) for r in first} == {
        ("portal", "ok", 200),
        ("getbalance", "ok", 200),
    }
    assert {r.scheduled_at for r in first} == {p.next_run_at for p in rows}
    assert all(r.worker == "w1" for r in first)
    target.mode, target.status = "status", 500
    clock.advance(timedelta(seconds=30))
    await until(lambda: _count_results(sessions, 4), "second results")
    report = await running.finish()
    second = (await results(sessions))[2:]
    assert {(r.outcome, r.status_code) for r in second} == {("http_error", 500)}
    assert {r.scheduled_at for r in second} == {p.next_run_at + timedelta(seconds=30) for p in rows}
    after = await probes(sessions)
    assert all(p.consecutive_failures == 1 and p.lease_owner is None for p in after)
    assert all(
        p.next_run_at == r.next_run_at + timedelta(seconds=60)
        for p, r in zip(after, rows, strict=True)
    )
    assert (report.claimed, report.stored, report.duplicates) == (4, 4, 0)


async def test_worker_resyncs_when_the_registry_changes(
    sessions: Sessions, clock: FrozenClock, target: ControllableTarget
) -> None:
    await register(sessions, clock, target, "contoso", "8901999")
    running = start(sessions, clock)
    await until(lambda: _count_probes(sessions, 2), "first sync")
    await register(sessions, clock, target, "fabrikam", "8944999")
    await until(lambda: _count_probes(sessions, 4), "sync after the registry changed")
    report = await running.finish()
    assert report.syncs == 2


async def test_stop_releases_claims_not_yet_started(
    sessions: Sessions, clock: FrozenClock, target: ControllableTarget
) -> None:
    await register(sessions, clock, target, "contoso", "8901999")
    # claim 60 s ahead: the runs wait for their slots (real seconds) when we stop
    running = start(sessions, clock, lookahead_seconds=60.0)
    await until(lambda: _all_leased(sessions, "w1"), "claims ahead of the slots")
    report = await running.finish()
    assert report.released == 2
    assert all(p.lease_owner is None and p.lease_expires_at is None for p in await probes(sessions))
    assert await results(sessions) == []
    assert target.requests == []


async def test_stop_finishes_runs_under_way_and_writes_them(
    sessions: Sessions, clock: FrozenClock, target: ControllableTarget
) -> None:
    await register(sessions, clock, target, "contoso", "8901999")
    target.mode, target.delay = "slow", 0.5
    running = start(sessions, clock, flush_seconds=30.0)  # only the final flush writes
    await until(lambda: _count_probes(sessions, 2), "sync")
    clock.set(max(p.next_run_at for p in await probes(sessions)))

    async def both_started() -> bool:
        return len(target.requests) == 2

    await until(both_started, "runs under way")
    report = await running.finish()
    assert report.stored == 2
    assert {r.outcome for r in await results(sessions)} == {"degraded"}  # 500 ms > 400 ms target
    assert all(p.lease_owner is None for p in await probes(sessions))


async def test_two_workers_share_probes_without_duplicates(
    sessions: Sessions, clock: FrozenClock, target: ControllableTarget
) -> None:
    for i in range(6):
        await register(sessions, clock, target, f"op{i}", f"89019{i}9")
    first = start(sessions, clock, "w1", batch=3)
    second = start(sessions, clock, "w2", batch=3, sync=False)
    await until(lambda: _count_probes(sessions, 12), "sync")
    start_at = max(p.next_run_at for p in await probes(sessions))
    for slot in range(3):
        clock.set(start_at + timedelta(seconds=30 * slot))
        await until(lambda n=slot: _count_results(sessions, 12 * (n + 1)), f"slot {slot}")
    await first.finish()
    await second.finish()
    stored = await results(sessions)
    keys = [(r.probe_id, r.scheduled_at) for r in stored]
    assert len(keys) == len(set(keys)) == 36
    assert len(target.requests) == 36
    per_probe = {p.id: p.next_run_at for p in await probes(sessions)}
    for probe_id, next_run_at in per_probe.items():
        slots = sorted(s for p, s in keys if p == probe_id)
        step = timedelta(seconds=30)
        assert slots == [next_run_at - step * k for k in (3, 2, 1)]


async def test_periodic_jobs_run_and_a_failing_job_does_not_stop_the_worker(
    sessions: Sessions, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    async def good(_sessions: Sessions, _clock: Clock) -> None:
        calls.append("good")

    async def bad(_sessions: Sessions, _clock: Clock) -> None:
        calls.append("bad")
        raise RuntimeError("boom")

    jobs = [PeriodicJob("good", 0.02, good), PeriodicJob("bad", 0.02, bad)]
    monkeypatch.setattr(loop, "PERIODIC_JOBS", jobs)
    registered = list(worker_jobs.PERIODIC_JOBS)  # run_worker registers the SLA jobs there

    async def ran_twice() -> bool:
        return calls.count("good") >= 2 and calls.count("bad") >= 2

    stop = asyncio.Event()
    options = WorkerOptions(**{**FAST.__dict__, "jobs": True})
    task = asyncio.create_task(
        run_worker(sessions, clock, worker_id="w1", stop_event=stop, options=options)
    )
    await until(ran_twice, "periodic jobs")
    stop.set()
    report = await asyncio.wait_for(task, timeout=30)
    assert report.write_errors == 0
    assert {"sla.rollup", "sla.retention"} <= {j.name for j in worker_jobs.PERIODIC_JOBS}
    worker_jobs.PERIODIC_JOBS[:] = registered


async def _count_probes(sessions: Sessions, count: int) -> bool:
    return len(await probes(sessions)) == count


async def _count_results(sessions: Sessions, count: int) -> bool:
    return len(await results(sessions)) >= count


async def _all_leased(sessions: Sessions, worker_id: str) -> bool:
    rows = await probes(sessions)
    return bool(rows) and all(p.lease_owner == worker_id for p in rows)


async def test_failed_writes_are_retried_and_nothing_is_lost(
    sessions: Sessions,
    clock: FrozenClock,
    target: ControllableTarget,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await register(sessions, clock, target, "contoso", "8901999")
    real_complete = loop.scheduler.complete
    failures = {"left": 2}

    async def flaky(session: AsyncSession, results: Any, *, now: Any) -> Any:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OSError("database unavailable")
        return await real_complete(session, results, now=now)

    monkeypatch.setattr(loop.scheduler, "complete", flaky)
    running = start(sessions, clock)
    await until(lambda: _count_probes(sessions, 2), "sync")
    clock.set(max(p.next_run_at for p in await probes(sessions)))
    await until(lambda: _count_results(sessions, 2), "results written after the failures")
    report = await running.finish()
    assert report.write_errors == 2
    assert report.stored == 2
    assert all(p.lease_owner is None for p in await probes(sessions))


def test_unwritten_results_are_bounded(sessions: Sessions, clock: FrozenClock) -> None:
    worker = Worker(sessions, clock, worker_id="w1", options=WorkerOptions(batch=3))
    worker._buffer.extend([object()] * (loop.BUFFER_BATCHES * 3 + 5))  # type: ignore[list-item]
    worker._cap_buffer()
    assert len(worker._buffer) == loop.BUFFER_BATCHES * 3


def test_an_idle_claim_loop_waits_until_just_before_its_look_ahead_runs_out() -> None:
    """A claim takes runs due up to ``lookahead`` ahead: after an empty claim the next can
    wait ``lookahead - poll`` and still take every run before its slot (never less than
    one poll)."""
    default = WorkerOptions()
    assert (default.poll_seconds, default.lookahead_seconds) == (0.25, 1.0)
    assert loop.idle_pause_seconds(default) == 0.75
    assert loop.idle_pause_seconds(FAST) == FAST.poll_seconds  # no look-ahead: poll as before


async def test_a_registry_change_ends_the_idle_wait(
    sessions: Sessions, clock: FrozenClock, target: ControllableTarget
) -> None:
    # An idle wait of ~60 s (look-ahead 60 s): only the sync's wake-up gets the new probes
    # claimed within the test's patience.
    running = start(sessions, clock, lookahead_seconds=60.0)
    await until(lambda: claims_made(running, 1), "a first, empty claim")
    await register(sessions, clock, target, "contoso", "8901999")
    await until(lambda: _all_leased(sessions, "w1"), "claims right after the sync")
    report = await running.finish()
    assert report.claimed == 2


async def claims_made(running: Running, at_least: int) -> bool:
    return running.worker.report.claims >= at_least


async def test_an_idle_registry_sync_opens_no_transaction(
    sessions: Sessions, clock: FrozenClock, target: ControllableTarget
) -> None:
    """The sync's idle pass compares the configuration version on the driver's reads; a
    transaction is opened only when the version moved (D188)."""
    await register(sessions, clock, target, "contoso", "8901999")
    worker = Worker(sessions, clock, worker_id="w1", options=WorkerOptions(**FAST.__dict__))
    begun: list[object] = []
    engine = sessions.kw["bind"].sync_engine

    def on_begin(connection: object) -> None:
        begun.append(connection)

    event.listen(engine, "begin", on_begin)
    try:
        assert await worker.sync() is True
        assert len(begun) == 1  # the sync itself
        assert await worker.sync() is False
        assert len(begun) == 1  # idle: no transaction
        await register(sessions, clock, target, "fabrikam", "8944999")
        begun.clear()
        assert await worker.sync() is True
        assert len(begun) == 1
    finally:
        event.remove(engine, "begin", on_begin)
    assert len(await probes(sessions)) == 4
