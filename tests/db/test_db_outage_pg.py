"""PostgreSQL restarting under a running stack (issue #11): ``mobileplans up`` as a real
process (broker, operator, SM-DP+, console and the worker) on a PostgreSQL cluster of the
test's own (``pg_cluster``: ``initdb`` + ``pg_ctl`` on a temporary directory and a free
port; the machine's shared cluster is never touched).

Activation flows are under way and notifications were just queued when the cluster
stops. While it is down every app answers 503 with ``Retry-After`` (the fast paths too:
providers, the MO API's GetBalance, ES2+) and the console its error page. When the cluster
is back, every part serves again without a restart, a new activation flow passes, and the
invariants hold: each notification delivered, and delivered once (its ``Message-ID``
once in the mail sink); the worker stores probe results again, never two for one slot;
no order half-written (every order settled or ``placed``, which the next attempt takes
over: docs/operations.md); no eSIM profile held by two orders.

Runs in the PostgreSQL pass of the test command (``MP_TEST_DATABASE_URL`` set) where
the PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import literal_column, select, text

from mobileplans.apps.broker.launch_store import EngineLaunchStore
from mobileplans.db import migrate
from mobileplans.db.engine import make_engine
from mobileplans.db.errors import RETRY_AFTER_SECONDS, DatabaseUnavailable, is_unavailable
from mobileplans.db.reads import reads_for
from mobileplans.db.session import make_sessionmaker
from mobileplans.db.transactions import Transactions
from mobileplans.domains.balance.schemas import LookupRecord
from mobileplans.kit.clock import SystemClock
from mobileplans.simulator import runner
from mobileplans.simulator.endpoints import Endpoints, load_endpoints
from mobileplans.simulator.runlog import ScenarioRun
from tests.db.pg_cluster import Cluster, binaries, private_cluster
from tests.simulator.stack import free_port_block
from tests.support import pg_url

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(pg_url() is None, reason="PostgreSQL pass only (MP_TEST_DATABASE_URL)"),
    pytest.mark.skipif(binaries() is None, reason="no PostgreSQL server binaries (pg_ctl)"),
]

READY_SECONDS = 90.0
RECOVERY_SECONDS = 40.0
TRANSACTION = {"X-MS-DM-TransactionId": "0f8fad5b-d9cb-469f-a165-70867728950e"}


class Up:
    """``mobileplans up`` on the private cluster; its output kept for failure messages."""

    def __init__(self, data_dir: Path, url: str) -> None:
        self.data_dir = data_dir
        self.port = free_port_block()
        self.output: list[str] = []
        env = {**os.environ, "MP_DATABASE_URL": url}
        env.pop("MP_ADMIN_TOKEN", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mobileplans.cli.main", "up",
             "--data-dir", str(data_dir), "--port-base", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def url(self, offset: int) -> str:
        return f"http://127.0.0.1:{self.port + offset}"

    def tail(self) -> str:
        return "".join(self.output[-80:])

    def wait_ready(self) -> dict[str, Any]:
        summary = self.data_dir / "endpoints.json"
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "up exited early:\n" + self.tail()
            try:
                healthy = all(
                    httpx.get(f"{self.url(i)}/healthz", timeout=2).status_code == 200
                    for i in range(4)
                )
            except httpx.TransportError:
                healthy = False
            if healthy and summary.exists():
                return json.loads(summary.read_text())  # type: ignore[no-any-return]
            time.sleep(0.3)
        raise AssertionError("up did not become ready:\n" + self.tail())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_cluster() as made:
        yield made


@pytest.fixture
def up(cluster: Cluster, tmp_path: Path) -> Iterator[Up]:
    started = Up(tmp_path / "data", cluster.url)
    try:
        yield started
    finally:
        started.stop()


async def flows(endpoints: Endpoints, names: list[str]) -> list[ScenarioRun]:
    """Device journeys in HTTP mode, at once, as ``mobileplans e2e`` runs them."""
    async with (
        httpx.AsyncClient(timeout=15) as http,
        runner.driver_factory(False, endpoints) as new_driver,
    ):
        runs = [
            runner.run_one(runner.select(name)[0], endpoints, operator_id="contoso", mode="http",
                    http=http, new_driver=new_driver, clock=SystemClock(), time_limit=60)
            for name in names
        ]  # fmt: skip
        return list(await asyncio.gather(*runs))


def while_down(up: Up, admin: dict[str, str], sim: str) -> dict[str, httpx.Response]:
    """One request to each app's database paths (fast paths included)."""
    es2 = {
        "header": {"functionRequesterIdentifier": "contoso-bss", "functionCallIdentifier": "x-1"},
        "profileType": "contoso-5gb-month",
    }
    broker, operator, smdp, console = (up.url(i) for i in range(4))
    with httpx.Client(timeout=30) as http:
        return {
            "providers (fast path)": http.get(f"{broker}/v1/providers", params={"location": "US"}),
            "admin read": http.get(f"{broker}/v1/admin/operators", headers=admin),
            "incident write": http.post(
                f"{broker}/v1/incidents",
                headers=admin,
                json={
                    "operatorId": "contoso",
                    "category": "core_network_outage",
                    "title": "second",
                    "severity": "sev3",
                    "outage": False,
                },
            ),
            "MO GetBalance (fast path)": http.get(
                f"{operator}/contoso/api/v1/sims/{sim}/balances", headers=TRANSACTION
            ),
            "ES2+ downloadOrder (fast path)": http.post(
                f"{smdp}/gsma/rsp2/es2plus/downloadOrder",
                json=es2,
                headers={"X-Admin-Protocol": "gsma/rsp/v2.5.0"},
            ),
            "console status page": http.get(f"{console}/status"),
            "portal launch": http.get(
                f"{operator}/contoso/portal/",
                params={"transactionId": "outage-tx.1", "location": "US", "iccid": sim},
            ),
        }


def wait_serving(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        try:
            response = httpx.get(url, headers=headers, timeout=10)
            if response.status_code < 500 or time.monotonic() > deadline:
                return response
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


async def rows(url: str, sql: str) -> list[Any]:
    engine = make_engine(url, process_name="tests-outage")
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql))).all())
    finally:
        await engine.dispose()


def message_ids(mbox: Path) -> list[str]:
    if not mbox.exists():
        return []
    box = mailbox.mbox(mbox)
    try:
        return [str(message["Message-ID"]) for message in box]
    finally:
        box.close()


async def test_a_postgresql_restart_mid_flow(cluster: Cluster, up: Up) -> None:
    summary = up.wait_ready()
    endpoints = load_endpoints(up.data_dir / "endpoints.json")
    admin = {"Authorization": f"Bearer {summary['admin_token']}"}
    sim = summary["demo"]["by_operator"]["contoso"]["sims"]["active_prepaid"]
    before = await flows(endpoints, ["first-run-esim"])
    assert not before[0].failed, (before[0].error, up.tail())

    # notifications queued and device flows under way as the server goes down
    declared = await asyncio.to_thread(
        httpx.post,
        f"{up.url(0)}/v1/incidents", headers=admin, timeout=30,
        json={"operatorId": "contoso", "category": "core_network_outage",
              "title": "PGW down", "severity": "sev2", "outage": True},
    )  # fmt: skip
    assert declared.status_code == 201, declared.text
    under_way = asyncio.ensure_future(flows(endpoints, ["first-run-esim", "prepaid-topup"]))
    await asyncio.sleep(0.5)
    await asyncio.to_thread(cluster.stop)
    down_at = datetime.now(UTC)

    answers = await asyncio.to_thread(while_down, up, admin, sim)
    for name, response in answers.items():
        assert response.status_code == 503, (name, response.status_code, response.text[:300])
        assert response.headers.get("retry-after") == str(RETRY_AFTER_SECONDS), name
    for name in ("providers (fast path)", "MO GetBalance (fast path)", "admin read"):
        assert answers[name].json()["type"].endswith("/database-unavailable"), name
    assert "Service unavailable" in answers["console status page"].text
    portal = answers["portal launch"]  # the portal's own error page, its call to the app kept
    assert portal.headers["content-type"].startswith("text/html"), portal.text[:300]
    assert "content-security-policy" in portal.headers
    assert 'data-mp-step="error"' in portal.text
    assert '"moDirectStatus":"ServiceError"' in portal.text
    await under_way  # the interrupted flows end (failed or not); nothing hangs

    await asyncio.to_thread(cluster.start)
    for url, headers in (
        (f"{up.url(0)}/v1/providers?location=US", None),
        (f"{up.url(0)}/v1/admin/operators", admin),
        (f"{up.url(1)}/contoso/api/v1/sims/{sim}/balances", TRANSACTION),
        (f"{up.url(3)}/status", None),
    ):
        served = await asyncio.to_thread(wait_serving, url, headers)
        assert served.status_code == 200, (url, served.status_code, served.text[:300])
    after = await flows(endpoints, ["first-run-esim"])
    assert not after[0].failed, (after[0].error, up.tail())

    await invariants_hold(cluster.url, up, declared.json()["id"], down_at)
    assert up.process.poll() is None, up.tail()  # the same process throughout


async def invariants_hold(url: str, up: Up, incident_id: int, down_at: datetime) -> None:
    mbox = up.data_dir / "mail" / "notifications.mbox"
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:  # the worker delivers what was queued before and during the outage
        pending = await rows(
            url, f"SELECT id, status FROM notifications WHERE incident_id = {incident_id}"
        )
        if pending and all(status == "delivered" for _, status in pending):
            break
        assert time.monotonic() < deadline, (pending, up.tail())
        await asyncio.sleep(0.5)
    sent = message_ids(mbox)
    for notification_id, _ in pending:
        assert sent.count(f"<notification-{notification_id}@mobileplans>") == 1, sent

    while True:  # the worker stores probe results again
        stored = await rows(
            url, f"SELECT count(*) FROM probe_results WHERE started_at > '{down_at.isoformat()}'"
        )
        if stored[0][0] > 0:
            break
        assert time.monotonic() < deadline, up.tail()
        await asyncio.sleep(0.5)
    doubled = await rows(
        url, "SELECT probe_id, scheduled_at FROM probe_results "
        "GROUP BY probe_id, scheduled_at HAVING count(*) > 1",
    )  # fmt: skip
    assert doubled == []

    orders = await rows(url, "SELECT id, status, iccid FROM mo_orders")
    known = {"placed", "pending-release", "fulfilled", "failed", "release-failed", "cancelled"}
    assert orders
    assert {status for _, status, _ in orders} <= known, orders
    held = [iccid for _, status, iccid in orders if status == "fulfilled" and iccid]
    assert len(held) == len(set(held)), orders  # no profile in two fulfilled orders
    lines = {row[0] for row in await rows(url, "SELECT iccid FROM mo_lines")}
    assert set(held) <= lines, (held, lines)  # a fulfilled order has its line


# The pieces that keep connections of their own, in process, through a restart


async def restart(cluster: Cluster) -> None:
    await asyncio.to_thread(cluster.stop)
    await asyncio.to_thread(cluster.start)


async def test_driver_reads_answer_503_while_down_and_the_first_read_after_succeeds(
    cluster: Cluster,
) -> None:
    engine = make_engine(cluster.url)
    reads = reads_for(engine)
    one = select(literal_column("1").label("one"))
    try:
        assert (await reads.one(one, {})).one == 1  # a connection now idle in the reads
        await asyncio.to_thread(cluster.stop)
        with pytest.raises(DatabaseUnavailable):
            await reads.one(one, {})
        await asyncio.to_thread(cluster.start)
        assert (await reads.one(one, {})).one == 1  # no stale connection handed out
        await restart(cluster)  # a connection idle across the whole restart
        assert (await reads.one(one, {})).one == 1
    finally:
        await engine.dispose()


def launch(transaction_id: str) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id, "created_at": datetime.now(UTC),
        "operator_id": "contoso", "environment": "production", "location": "US",
        "market": "US", "imei": None, "eid": None, "iccid": None, "iccids": [],
        "portal_url": "http://127.0.0.1:9/portal/",
    }  # fmt: skip


async def test_launch_store_batches_after_a_restart_on_the_first_try(cluster: Cluster) -> None:
    """Launch records and, on the same kept connections, the GetBalance call records'
    ``COPY`` (D299): refused while the server is down, written after its restart."""
    engine = make_engine(cluster.url)
    await migrate.upgrade(engine)
    store = EngineLaunchStore(make_sessionmaker(engine))

    async def both(n: int) -> None:
        await store([launch(f"outage-{n}")])  # leaves its connection kept for the next batch
        await store.lookups([lookup(f"copy-{n}")])

    try:
        await both(1)
        await asyncio.to_thread(cluster.stop)
        with pytest.raises(DatabaseUnavailable):
            await store([launch("outage-2")])
        with pytest.raises(DatabaseUnavailable):
            await store.lookups([lookup("copy-2")])
        await asyncio.to_thread(cluster.start)
        await both(3)
        await restart(cluster)
        await both(4)  # the kept connections were ended: new ones
        stored = await rows(
            cluster.url,
            "SELECT transaction_id FROM portal_launches WHERE transaction_id LIKE 'outage-%'",
        )
        assert sorted(r[0] for r in stored) == ["outage-1", "outage-3", "outage-4"]
        copied = await rows(
            cluster.url,
            "SELECT ms_transaction_id FROM balance_lookups WHERE ms_transaction_id LIKE 'copy-%'",
        )
        assert sorted(r[0] for r in copied) == ["copy-1", "copy-3", "copy-4"]
    finally:
        await store.close()
        await engine.dispose()


def lookup(transaction_id: str) -> LookupRecord:
    now = datetime.now(UTC)
    return (now, "contoso", "production", "8901999000000000011", transaction_id, "ok", 200, 200.5)


async def test_a_patient_step_waits_for_the_database_to_come_back(cluster: Cluster) -> None:
    engine = make_engine(cluster.url)
    sessions = make_sessionmaker(engine)
    try:
        await asyncio.to_thread(cluster.stop)
        with pytest.raises(ConnectionRefusedError) as failed:  # an ordinary step: at once
            async with Transactions(sessions).step() as session:
                await session.execute(text("SELECT 1"))
        assert is_unavailable(failed.value)  # a 503 at the edge
        starting = asyncio.ensure_future(asyncio.to_thread(cluster.start))
        async with Transactions(sessions, patience=60).step() as session:
            assert (await session.execute(text("SELECT 2"))).scalar() == 2
        await starting
    finally:
        await engine.dispose()
