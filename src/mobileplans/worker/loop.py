"""The worker: claims due probes, runs them, writes results in batches, runs periodic jobs.

One asyncio task claims due rows (compare-and-set, ``probe.scheduler``) slightly ahead of
their slots; each claimed run waits for its slot, then for a place under the concurrency
bound, then runs over the shared aiohttp session. Results wait in memory and are written
every ``flush_seconds`` or every ``batch`` results, one transaction per batch. Another task
syncs the probes from the operator registry whenever its configuration version moves, and
one task per entry of ``worker.jobs.PERIODIC_JOBS`` runs that job every interval.

Stopping (``stop_event`` set, e.g. on SIGTERM): claiming stops; runs that have not started
are cancelled and their claims released, so another worker takes them at once; runs under
way finish (each is bounded by its timeout); buffered results are written; then it returns.
A worker killed outright loses nothing either: its leases expire and other workers retake
the slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.outage_log import OutageLog
from mobileplans.db.reads import reads_for
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.probe import scheduler
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.probe.runner import ProbeRunner, TlsFiles
from mobileplans.domains.probe.schemas import MAX_TIMEOUT_SECONDS, ClaimedRun, RunResult
from mobileplans.kit.clock import Clock
from mobileplans.worker import (
    catalog_jobs,
    incident_jobs,
    maintenance_jobs,
    notification_jobs,
    sla_jobs,
)
from mobileplans.worker.jobs import PERIODIC_JOBS, PeriodicJob
from mobileplans.worker.resilience import ERROR_BACKOFF_SECONDS, failure_pause

log = logging.getLogger(__name__)
Sessions = async_sessionmaker[AsyncSession]
DISPATCH_TICK_SECONDS = 0.05
"""Longest the dispatcher sleeps without looking at the queue (a run claimed late waits
at most this long on top of its lateness)."""
BUFFER_BATCHES = 20
"""Results kept in memory while writes fail: this many batches."""


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 200
    """Probes in flight at once (the aiohttp pool has as many connections)."""
    batch: int = 500
    """Most rows one claim takes, and most results one write stores."""
    flush_seconds: float = 1.0
    poll_seconds: float = 0.25
    lookahead_seconds: float = 1.0
    """Rows due this far ahead are claimed early and started on their slot."""
    sync: bool = True
    """Sync probes from the registry when its configuration version moves."""
    sync_poll_seconds: float = 2.0
    jobs: bool = True
    tls: TlsFiles = field(default_factory=TlsFiles)
    tune_gc: bool = False
    """Set by ``mobileplans worker``, which owns its process (see :func:`tune_gc`)."""

    @property
    def max_pending(self) -> int:
        return self.concurrency + 4 * self.batch


def options_from(settings: Settings, **overrides: object) -> WorkerOptions:
    """Options with the platform's TLS files and poll interval from ``MP_*`` settings."""
    tls = TlsFiles(
        client_cert=str(settings.broker_client_cert) if settings.broker_client_cert else None,
        client_key=str(settings.broker_client_key) if settings.broker_client_key else None,
        ca_file=str(settings.broker_ca_file) if settings.broker_ca_file else None,
    )
    values: dict[str, object] = {"tls": tls, "sync_poll_seconds": settings.config_poll_seconds}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return WorkerOptions(**values)  # type: ignore[arg-type]


@dataclass
class WorkerReport:
    claimed: int = 0
    claims: int = 0
    """Claim statements issued (with or without runs)."""
    stored: int = 0
    duplicates: int = 0
    missed: int = 0
    released: int = 0
    syncs: int = 0
    write_errors: int = 0


def tune_gc() -> None:
    """Garbage-collector settings for a process that is mostly a prober.

    What exists once the worker runs (modules, engine, pools) lives as long as the process:
    ``gc.freeze()`` keeps it out of every later collection. Each probe's garbage is
    short-lived, so young collections run less often (every 5,000 allocations, not 700)
    and full ones at most every 100th middle one, not every 10th. Measured with
    bench/prober.py at 50,000 endpoints: garbage collection fell from over half the
    worker's CPU (1.7 s full passes) to under a tenth.
    """
    gc.freeze()
    gc.set_threshold(5000, 20, 100)


def idle_pause_seconds(options: WorkerOptions) -> float:
    """How long the claim loop waits after a claim that found nothing due.

    A claim takes every run due up to ``lookahead_seconds`` ahead, so the next one can
    wait until just before that look-ahead runs out (less one ``poll_seconds`` of margin)
    and still take each run before its slot; waiting only ``poll_seconds`` cost an
    ``UPDATE … RETURNING`` four times a second in an idle ``up``. A registry sync that
    changes the probes ends the wait at once.
    """
    return max(options.poll_seconds, options.lookahead_seconds - options.poll_seconds)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


class Worker:
    def __init__(
        self, sessions: Sessions, clock: Clock, *, worker_id: str, options: WorkerOptions
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.worker_id = worker_id
        self.options = options
        self.report = WorkerReport()
        self._queue: list[tuple[datetime, int, ClaimedRun]] = []  # heap by slot
        self._sequence = itertools.count()
        self._running: set[asyncio.Task[None]] = set()
        self._capacity = asyncio.Event()
        self._buffer: list[RunResult] = []
        self._flush_now = asyncio.Event()
        self._claim_now = asyncio.Event()
        self._closing = False
        self._synced_version: int | None = None
        self._runner: ProbeRunner | None = None
        self._claim_failures = 0
        self._claim_log = OutageLog(f"worker {worker_id} claiming probes", log)
        self._write_log = OutageLog(f"worker {worker_id} writing probe results", log)

    async def run(self, stop: asyncio.Event) -> WorkerReport:
        async with ProbeRunner(
            clock=self.clock,
            worker_id=self.worker_id,
            concurrency=self.options.concurrency,
            tls=self.options.tls,
        ) as runner:
            self._runner = runner
            claimer = asyncio.create_task(self._claim_loop(stop))
            dispatcher = asyncio.create_task(self._dispatch_loop(stop))
            flusher = asyncio.create_task(self._flush_loop())
            background = []
            if self.options.sync:
                background.append(asyncio.create_task(self._every(stop, self.sync, "sync")))
            if self.options.jobs:
                background += [asyncio.create_task(self._job_loop(stop, j)) for j in PERIODIC_JOBS]
            if self.options.tune_gc:
                tune_gc()
            await stop.wait()
            await claimer
            await dispatcher
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self._wind_down()
            self._closing = True
            self._flush_now.set()
            await flusher
            await self.flush()
        log.info("worker %s stopped: %s", self.worker_id, self.report)
        return self.report

    # claiming and running

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            room = self.options.max_pending - len(self._queue) - len(self._running)
            limit = min(self.options.batch, room)
            self._claim_now.clear()  # a sync from here on ends the idle wait below
            runs = await self.claim(limit) if limit > 0 else []
            if runs is None:  # the database failed: back off rather than log 4 errors a second
                await _pause(stop, ERROR_BACKOFF_SECONDS)
                continue
            for run in runs:
                heapq.heappush(self._queue, (run.scheduled_at, next(self._sequence), run))
            if not runs and limit > 0:
                await self._idle(stop)
            elif len(runs) < self.options.batch or limit < self.options.batch:
                await _pause(stop, self.options.poll_seconds)

    async def _idle(self, stop: asyncio.Event) -> None:
        """Nothing was due: wait :func:`idle_pause_seconds`, or less if the registry sync
        changed the probes since the claim began (``_claim_now``) or the worker stops."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._claim_now.wait())]
        try:
            await asyncio.wait(waits, timeout=idle_pause_seconds(self.options),
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            for waiting in waits:
                waiting.cancel()

    async def claim(self, limit: int) -> list[ClaimedRun] | None:
        """Claim due runs; None if the database failed."""
        try:
            async with session_scope(self.sessions) as session:
                runs = await scheduler.claim_due(
                    session,
                    worker_id=self.worker_id,
                    now=self.clock.now(),
                    limit=limit,
                    lookahead_seconds=self.options.lookahead_seconds,
                )
        except Exception as exc:
            self._claim_failures += 1
            self._claim_log.failed(exc, "failed; retrying with backoff")
            return None
        self._claim_failures = 0
        self._claim_log.succeeded()
        self.report.claimed += len(runs)
        self.report.claims += 1
        return runs

    async def _dispatch_loop(self, stop: asyncio.Event) -> None:
        """Start each claimed run at its slot, at most ``concurrency`` at a time."""
        queue, concurrency = self._queue, self.options.concurrency
        while not stop.is_set():
            if len(self._running) >= concurrency:
                self._capacity.clear()
                await self._capacity.wait()
                continue
            if not queue:
                await asyncio.sleep(DISPATCH_TICK_SECONDS)
                continue
            delay = (queue[0][0] - self.clock.now()).total_seconds()
            if delay > 0:
                await asyncio.sleep(min(delay, DISPATCH_TICK_SECONDS))
                continue
            while queue and len(self._running) < concurrency and queue[0][0] <= self.clock.now():
                self._start(heapq.heappop(queue)[2])

    def _start(self, run: ClaimedRun) -> None:
        task = asyncio.create_task(self._execute(run))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._capacity.set()

    async def _execute(self, run: ClaimedRun) -> None:
        if self._runner is None:
            raise RuntimeError("worker runner is not open")
        try:
            result = await self._runner.execute(run)
        except Exception:
            log.exception("probe %s failed to run; its lease will expire", run.probe_id)
            return
        self._buffer.append(result)
        if len(self._buffer) >= self.options.batch:
            self._flush_now.set()

    async def _wind_down(self) -> None:
        """Release runs that have not started; let runs under way finish."""
        waiting = [run for _, _, run in self._queue]
        self._queue.clear()
        if waiting:
            try:
                async with session_scope(self.sessions) as session:
                    ids = [run.probe_id for run in waiting]
                    await scheduler.release(session, worker_id=self.worker_id, probe_ids=ids)
                self.report.released += len(waiting)
            except Exception as exc:
                what = f"worker {self.worker_id} releasing {len(waiting)} claims"
                OutageLog(what, log).failed(exc, "failed; they will expire")
        if self._running:
            await asyncio.wait(set(self._running), timeout=MAX_TIMEOUT_SECONDS + 1.0)

    # writing results

    async def _flush_loop(self) -> None:
        """Never cancelled: a write in progress always ends in commit or rollback."""
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), self.options.flush_seconds)
            self._flush_now.clear()
            await self.flush()

    async def flush(self) -> int:
        """Write buffered results, ``batch`` rows per transaction. Returns how many were written."""
        pending, self._buffer = self._buffer, []
        written = 0
        for start in range(0, len(pending), self.options.batch):
            chunk = pending[start : start + self.options.batch]
            try:
                async with session_scope(self.sessions) as session:
                    done = await scheduler.complete(session, chunk, now=self.clock.now())
            except Exception as exc:
                self.report.write_errors += 1
                self._write_log.failed(exc, f"failed ({len(chunk)} results kept to retry)")
                self._buffer[:0] = pending[start:]  # runs finished meanwhile stay behind them
                self._cap_buffer()
                return written
            self.report.stored += done.stored
            self.report.duplicates += done.duplicates
            self.report.missed += done.missed
            written += len(chunk)
            self._write_log.succeeded()
        return written

    def _cap_buffer(self) -> None:
        """While the database is down, keep the newest results only (bounded memory).

        Dropped results lose nothing for good: their claims expire and the slots run
        again, or, if that is over one interval late, count as missed.
        """
        limit = BUFFER_BATCHES * self.options.batch
        if len(self._buffer) > limit:
            dropped = len(self._buffer) - limit
            del self._buffer[:dropped]
            log.warning("dropped %d unwritten probe results (database unavailable)", dropped)

    # registry sync and periodic jobs

    async def sync(self) -> bool:
        """Sync probes if the registry's configuration version moved; True if it synced.

        The idle pass only compares the version, on the driver's reads: no transaction
        until the version has moved."""
        seen = await registry_service.config_version(reads_for(self.sessions.kw["bind"]))
        if seen == self._synced_version:
            return False
        async with session_scope(self.sessions) as session:
            version = await registry_service.config_version(session)
            summary = await probe_service.sync_from_registry(session, now=self.clock.now())
        self._synced_version = version
        self.report.syncs += 1
        self._claim_now.set()  # new or changed probes may be due now: claim without waiting
        if summary.changed:
            log.info("probes synced at registry version %s: %s", version, summary.wire())
        return True

    async def _every(
        self, stop: asyncio.Event, action: Callable[[], Awaitable[object]], name: str
    ) -> None:
        failures, outages = 0, OutageLog(f"worker {self.worker_id}: {name}", log)
        while not stop.is_set():
            try:
                await action()
                failures = 0
                outages.succeeded()
            except Exception as exc:
                failures += 1
                outages.failed(exc, "failed; retrying with backoff")
            await _pause(stop, failure_pause(self.options.sync_poll_seconds, failures))

    async def _job_loop(self, stop: asyncio.Event, job: PeriodicJob) -> None:
        failures, outages = 0, OutageLog(f"periodic job {job.name}", log)
        while not stop.is_set():
            try:
                await job.run(self.sessions, self.clock)
                failures = 0
                outages.succeeded()
            except Exception as exc:
                failures += 1
                outages.failed(exc, "failed; retrying with backoff")
            await _pause(stop, failure_pause(job.interval_seconds, failures))


def register_all_jobs(settings: Settings, worker_id: str) -> None:
    """The periodic jobs of every feature: SLA rollups and retention, incident detection
    and clocks, maintenance notices, notification delivery, purge of portal launch records
    (each registration is idempotent)."""
    sla_jobs.register_jobs()
    catalog_jobs.register_jobs(settings.transaction_retention_days)
    incident_jobs.register_jobs(settings)
    maintenance_jobs.register_jobs(settings.platform_contacts)
    notification_jobs.register_jobs(settings, worker_id=f"{worker_id}:notifications")


async def run_worker(
    sessions: Sessions,
    clock: Clock,
    *,
    worker_id: str,
    stop_event: asyncio.Event,
    settings: Settings | None = None,
    options: WorkerOptions | None = None,
) -> WorkerReport:
    """Run a worker until ``stop_event`` is set (``mobileplans worker``, ``mobileplans up``).

    Installs no signal handlers: the caller sets ``stop_event``. With ``options.jobs`` every
    feature's periodic jobs are registered first (:func:`register_all_jobs`).
    """
    if options is None:
        options = options_from(settings) if settings is not None else WorkerOptions()
    if options.jobs:
        register_all_jobs(settings or Settings(), worker_id)
    worker = Worker(sessions, clock, worker_id=worker_id, options=options)
    return await worker.run(stop_event)


async def run_once(
    sessions: Sessions,
    clock: Clock,
    *,
    worker_id: str,
    options: WorkerOptions | None = None,
    operator_id: str | None = None,
) -> list[RunResult]:
    """One pass: claim every probe due now, run them all, record the results."""
    options = options or WorkerOptions()
    claimed: list[ClaimedRun] = []
    while True:
        async with session_scope(sessions) as session:
            runs = await scheduler.claim_due(
                session,
                worker_id=worker_id,
                now=clock.now(),
                limit=options.batch,
                operator_id=operator_id,
            )
        claimed += runs
        if len(runs) < options.batch:
            break
    results = await check(clock, claimed, worker_id=worker_id, options=options)
    for start in range(0, len(results), options.batch):
        chunk = results[start : start + options.batch]
        async with session_scope(sessions) as session:
            await scheduler.complete(session, chunk, now=clock.now())
    return results


async def check(
    clock: Clock, runs: list[ClaimedRun], *, worker_id: str, options: WorkerOptions | None = None
) -> list[RunResult]:
    """Run ``runs`` now, concurrently within the bound; records nothing."""
    options = options or WorkerOptions()
    async with ProbeRunner(
        clock=clock, worker_id=worker_id, concurrency=options.concurrency, tls=options.tls
    ) as runner:
        return list(await asyncio.gather(*(runner.run(run) for run in runs)))
