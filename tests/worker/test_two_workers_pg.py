"""Issue #4 "done means": on PostgreSQL, two worker processes share 1,000 probes; one is
killed with SIGKILL midway and restarted; every due slot ran once, within one interval.

Runs only in the PostgreSQL pass (``MP_TEST_DATABASE_URL``); about 90 s.

Timeline (30 s interval): both workers start; at +25 s worker A is killed outright (its
in-memory results and its leases are lost); at +35 s A restarts under a new id; at +75 s
both get SIGTERM. Then, from ``probe_results``: every grid slot of every probe between the
sync and the stop has exactly one result, started less than one interval after its slot;
no (probe, slot) twice; the claims A held when it died were run by another worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import RegistryDocument
from mobileplans.domains.probe import scheduler
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import SystemClock
from tests.support import operator_data, pg_url, valid_iccid

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(pg_url() is None, reason="PostgreSQL only (MP_TEST_DATABASE_URL)"),
]
Sessions = async_sessionmaker[AsyncSession]
OPERATORS = 500  # x (portal + getbalance) = 1,000 probes
INTERVAL = timedelta(seconds=30)


async def seed(sessions: Sessions, port: int) -> None:
    operators = []
    for i in range(OPERATORS):
        prefix = f"89{i:05d}"
        data = operator_data(f"op{i:03d}", brand=f"Operator {i}", prefix=prefix)
        data["monitoringIccid"] = valid_iccid(prefix + "00000000009")
        data["environments"]["production"] = {
            "portalUrl": f"http://127.0.0.1:{port}/op{i:03d}/portal",
            "moBaseUrl": f"http://127.0.0.1:{port}/op{i:03d}/v1",
        }
        operators.append(data)
    document = RegistryDocument.model_validate(
        {"operators": operators}, context={"url_policy": "local"}
    )
    now = SystemClock().now()
    async with session_scope(sessions) as session:
        await registry_service.import_document(session, document, actor="test", now=now)
    async with session_scope(sessions) as session:
        summary = await probe_service.sync_from_registry(session, now=now)
    assert len(summary.created) == 2 * OPERATORS


class WorkerProcess:
    def __init__(self, worker_id: str, database_url: str, data_dir: Path) -> None:
        self.worker_id = worker_id
        self.database_url = database_url
        self.data_dir = data_dir
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {**os.environ, "MP_DATABASE_URL": self.database_url, "MP_URL_POLICY": "local"}
        self.process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "mobileplans.cli.main", "worker"),
            *("--data-dir", str(self.data_dir), "--worker-id", self.worker_id),
            env=env,
            stderr=subprocess.PIPE,
        )
        assert self.process.stderr is not None
        for _ in range(200):
            line = await asyncio.wait_for(self.process.stderr.readline(), timeout=60)
            if b"running" in line or not line:
                break
        assert b"running" in line, f"worker {self.worker_id} did not start"
        self._drain = asyncio.create_task(self.process.stderr.read())

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no cleanup, no flush
        await asyncio.wait_for(self.process.wait(), timeout=30)
        self._drain.cancel()

    async def terminate(self) -> tuple[int, str]:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout=60)
        log = (await asyncio.wait_for(self._drain, timeout=30)).decode(errors="replace")
        return code, log

    async def ensure_dead(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def test_two_workers_one_killed_every_slot_once_within_an_interval(
    sessions: Sessions, database_url: str, fast_target: int, tmp_path: Path
) -> None:
    clock = SystemClock()
    await seed(sessions, fast_target)
    synced_at = clock.now()
    workers = {
        name: WorkerProcess(name, database_url, tmp_path / name) for name in ("pg-a", "pg-b")
    }
    restarted = WorkerProcess("pg-a2", database_url, tmp_path / "pg-a2")
    try:
        await asyncio.gather(*(w.start() for w in workers.values()))
        await asyncio.sleep(25)
        await workers["pg-a"].kill()
        async with sessions() as session:
            orphans = (
                await session.execute(
                    select(Probe.id, Probe.next_run_at).where(Probe.lease_owner == "pg-a")
                )
            ).all()
        await asyncio.sleep(10)
        await restarted.start()
        await asyncio.sleep(40)
        stopped_at = clock.now()
        outcomes = await asyncio.gather(workers["pg-b"].terminate(), restarted.terminate())
    finally:
        for worker in (*workers.values(), restarted):
            await worker.ensure_dead()
    for code, log in outcomes:
        assert code == 0, log

    async with sessions() as session:
        probes = (await session.scalars(select(Probe))).all()
        rows = (
            await session.execute(
                select(
                    ProbeResult.probe_id,
                    ProbeResult.scheduled_at,
                    ProbeResult.started_at,
                    ProbeResult.worker,
                    ProbeResult.outcome,
                )
            )
        ).all()
        twice = (
            await session.execute(
                select(ProbeResult.probe_id, ProbeResult.scheduled_at)
                .group_by(ProbeResult.probe_id, ProbeResult.scheduled_at)
                .having(func.count() > 1)
            )
        ).all()
    assert twice == []
    assert len(probes) == 2 * OPERATORS
    by_slot = {(r.probe_id, r.scheduled_at): r for r in rows}
    assert len(by_slot) == len(rows)

    window_end = stopped_at - timedelta(seconds=5)
    missing = []
    for probe in probes:
        slot = scheduler.slot_at_or_after(synced_at, probe.interval_seconds, probe.jitter_ms)
        while slot <= window_end:
            if (probe.id, slot) not in by_slot:
                missing.append((probe.id, slot))
            slot += INTERVAL
    assert missing == [], f"{len(missing)} due slots never ran, e.g. {missing[:5]}"

    lateness = [(r.started_at - r.scheduled_at).total_seconds() for r in rows]
    assert max(lateness) < INTERVAL.total_seconds(), sorted(lateness)[-5:]
    assert min(lateness) > -0.05  # never started before its slot (timer granularity aside)
    assert set(Counter(r.outcome for r in rows)) <= {"ok", "degraded"}, Counter(
        r.outcome for r in rows
    )
    assert {"pg-a", "pg-b", "pg-a2"} <= {r.worker for r in rows}
    assert orphans, "worker A held no claims when killed"
    rerun = [by_slot.get((probe_id, due_at)) for probe_id, due_at in orphans]
    assert all(r is not None and r.worker != "pg-a" for r in rerun), [
        (o, r) for o, r in zip(orphans, rerun, strict=True) if r is None or r.worker == "pg-a"
    ][:5]
