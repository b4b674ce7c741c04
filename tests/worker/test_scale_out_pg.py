"""Issue #8 "scale-out on PostgreSQL": two brokers and two workers on one database.

PostgreSQL only (``MP_TEST_DATABASE_URL``; SQLite is one process's database); about 50 s.

- Broker A is ``mobileplans serve broker --workers 2`` (two processes on one port), broker
  B a plain ``serve broker`` on another port. An operator added through B's admin API
  reaches A by configuration-version polling (``MP_CONFIG_POLL_SECONDS``): A's
  ``/healthz`` shows B's version and A resolves an ICCID of the new range, on every one of
  20 fresh connections.
- Two ``mobileplans worker`` processes share 120 probes (30 s interval) for 35 s: every
  grid slot due in that time has exactly one result, and both workers ran some.
- An incident declared through A queues its mails once; the two workers' notification jobs
  compete for the outbox and a real SMTP server (aiosmtpd) receives each mail exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Notification, Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import RegistryDocument
from mobileplans.domains.probe import scheduler
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import SystemClock
from tests.domains.incident.harness import SmtpServer
from tests.support import free_port, operator_data, pg_url, valid_iccid

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        pg_url() is None,
        reason="PostgreSQL only (MP_TEST_DATABASE_URL): several processes share one database",
    ),
]
Sessions = async_sessionmaker[AsyncSession]
OPERATORS = 60  # x (portal + getbalance) = 120 probes
RUN_FOR = timedelta(seconds=35)
TOKEN = "scale-out-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
EXE = str(Path(sys.executable).with_name("mobileplans"))


def operator(i: int, port: int) -> dict[str, Any]:
    prefix = f"89{i:05d}"
    data = operator_data(f"op{i:03d}", brand=f"Operator {i}", prefix=prefix)
    data["monitoringIccid"] = valid_iccid(prefix + "00000000009")
    data["environments"]["production"] = {
        "portalUrl": f"http://127.0.0.1:{port}/op{i:03d}/portal",
        "moBaseUrl": f"http://127.0.0.1:{port}/op{i:03d}/v1",
    }
    data["contacts"] = [{"name": "NOC", "email": f"noc@op{i:03d}.example"}]
    return data


async def seed(sessions: Sessions, port: int) -> datetime:
    document = RegistryDocument.model_validate(
        {"operators": [operator(i, port) for i in range(OPERATORS)]},
        context={"url_policy": "local"},
    )
    now = SystemClock().now()
    async with session_scope(sessions) as session:
        await registry_service.import_document(session, document, actor="test", now=now)
        await probe_service.sync_from_registry(session, now=now)
    return now


class Process:
    """A ``mobileplans`` command as a child process; its standard error kept."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.args, self.env = name, args, env
        self.process: asyncio.subprocess.Process | None = None
        self.log = b""

    async def start(self, ready: bytes | None = None) -> None:
        self.process = await asyncio.create_subprocess_exec(
            EXE, *self.args, env=self.env, stderr=subprocess.PIPE
        )
        assert self.process.stderr is not None
        async with asyncio.timeout(60):
            while ready is not None and ready not in self.log:
                line = await self.process.stderr.readline()
                assert line, f"{self.name} exited: {self.log!r}"
                self.log += line
        self._drain = asyncio.create_task(self.process.stderr.read())

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout=60)
        self.log += await asyncio.wait_for(self._drain, timeout=30)
        return code


async def ready(url: str) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(60):
        while True:
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)


async def version_everywhere(url: str, version: int, iccid: str) -> None:
    """20 fresh connections in a row see ``version`` and resolve ``iccid``."""
    async with asyncio.timeout(20):
        while True:
            seen = []
            for _ in range(20):
                async with httpx.AsyncClient() as client:  # a new connection each time
                    health = (await client.get(f"{url}/healthz")).json()
                    sim = await client.get(f"{url}/v1/sims/{iccid}")
                seen.append(health["configVersion"] == version and sim.status_code == 200)
            if all(seen):
                return
            await asyncio.sleep(0.5)


def children(pid: int) -> list[str]:
    """Child process ids (Linux ``/proc``)."""
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def slots(probe: Probe, start: datetime, end: datetime) -> list[datetime]:
    """The probe's grid slots in ``[start, end]``."""
    out, slot = [], scheduler.slot_at_or_after(start, probe.interval_seconds, probe.jitter_ms)
    while slot <= end:
        out.append(slot)
        slot += timedelta(seconds=probe.interval_seconds)
    return out


async def test_two_brokers_and_two_workers_share_one_postgresql(
    sessions: Sessions, database_url: str, fast_target: int, tmp_path: Path
) -> None:
    synced_at = await seed(sessions, fast_target)
    with SmtpServer() as smtp:
        env = {
            **os.environ,
            "MP_DATABASE_URL": database_url,
            "MP_URL_POLICY": "local",
            "MP_ADMIN_TOKEN": TOKEN,
            "MP_CONFIG_POLL_SECONDS": "0.5",
            "MP_SMTP_HOST": "127.0.0.1",
            "MP_SMTP_PORT": str(smtp.port),
        }
        port_a, port_b = free_port(), free_port()
        data = str(tmp_path / "data")
        broker_a = Process(
            "broker A", ["serve", "broker", "--workers", "2", "--port", str(port_a)], env
        )
        broker_b = Process("broker B", ["serve", "broker", "--port", str(port_b)], env)
        workers = [
            Process(w, ["worker", "--no-sync", "--worker-id", w, "--data-dir", data], env)
            for w in ("w1", "w2")
        ]
        url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        everyone = [broker_a, broker_b, *workers]
        try:
            await asyncio.gather(
                broker_a.start(), broker_b.start(), *(w.start(b"running") for w in workers)
            )
            await asyncio.gather(ready(url_a), ready(url_b))
            assert broker_a.process is not None
            assert len(children(broker_a.process.pid)) == 2  # --workers 2: two processes

            # A configuration change through B reaches both processes of A by polling.
            newop = {**operator(900, fast_target), "id": "newop"}
            ranges = newop["iccidRanges"]
            [start] = [r["start"] for r in ranges if r["environment"] == "production"]
            async with httpx.AsyncClient(base_url=url_b) as client:
                response = await client.put("/v1/admin/operators/newop", json=newop, headers=ADMIN)
                assert response.status_code in (200, 201), response.text
                version = (await client.get("/healthz")).json()["configVersion"]
            await version_everywhere(url_a, version, valid_iccid(start[:18]))

            # An incident declared through A: its mails go out once, whichever worker.
            async with httpx.AsyncClient(base_url=url_a) as client:
                declared = await client.post(
                    "/v1/incidents",
                    json={"operatorId": "op001", "title": "Scale-out check", "severity": "sev3",
                          "message": "Declared through broker A"},
                    headers=ADMIN,
                )  # fmt: skip
                assert declared.status_code == 201, declared.text
            incident_id = declared.json()["id"]

            wait = synced_at + RUN_FOR - SystemClock().now()
            await asyncio.sleep(max(wait.total_seconds(), 0))
            stopped_at = SystemClock().now()
            codes = await asyncio.gather(*(w.stop() for w in workers))
            assert codes == [0, 0], [w.log[-2000:] for w in workers]
        finally:
            for process in everyone:
                if process.process is not None and process.process.returncode is None:
                    await process.stop()
        async with sessions() as session:
            mails = list(
                (
                    await session.scalars(
                        select(Notification).where(Notification.incident_id == incident_id)
                    )
                ).all()
            )
        sent = Counter(
            (m["X-Test-Rcpt"], str(m["Subject"]))
            for m in smtp.sink.messages
            if f"#{incident_id}" in str(m["Subject"])
        )

    assert mails, "the declaration queued no mail"
    assert {(m.status, m.attempts) for m in mails} == {("delivered", 1)}
    assert sorted(sent) == sorted((m.recipient, m.subject) for m in mails)
    assert set(sent.values()) == {1}
    assert {"noc@op001.example"} <= {m.recipient for m in mails}

    async with sessions() as session:
        probes = list((await session.scalars(select(Probe))).all())
        rows = (
            await session.execute(select(ProbeResult.probe_id, ProbeResult.scheduled_at,
                                         ProbeResult.worker))
        ).all()  # fmt: skip
    results = Counter((r.probe_id, r.scheduled_at) for r in rows)
    due_by = stopped_at - timedelta(seconds=5)  # a slot this close to the stop may be mid-run
    missing = [
        (p.id, s) for p in probes for s in slots(p, synced_at, due_by) if (p.id, s) not in results
    ]
    assert missing == []
    assert set(results.values()) == {1}
    by_worker = Counter(r.worker for r in rows)
    assert set(by_worker) == {"w1", "w2"}, by_worker
