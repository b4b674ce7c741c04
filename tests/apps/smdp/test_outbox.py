"""The callback outbox at the SM-DP+'s edge (docs/smdp.md S15): a rolled-back change writes no
callback; a ``mobileplans serve smdp`` killed with callbacks pending delivers them after a
restart, each once, in order per ICCID."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from mobileplans.apps.smdp.app import SmdpApp
from mobileplans.apps.smdp.routes import device as device_routes
from mobileplans.db.models import SmdpCallbackOutbox
from mobileplans.db.transactions import Transactions
from mobileplans.domains.smdp import callbacks, download, repository
from mobileplans.domains.smdp.schemas import PendingCallback
from mobileplans.kit.clock import FrozenClock
from tests.apps.smdp.support import device, es2
from tests.domains.smdp.support import (
    EID_A,
    PREPAID,
    CallbackServer,
    Sessions,
    World,
    profile,
    released,
    seed,
)
from tests.support import free_port

ALL = ["pending", "delivered", "failed"]


async def outbox(sessions: Sessions) -> list[SmdpCallbackOutbox]:
    async with Transactions(sessions).step() as session:
        return await repository.callbacks_in(session, ALL)


class TestRolledBack:
    async def test_a_rolled_back_change_writes_no_callback(
        self,
        smdp: SmdpApp,
        sessions: Sessions,
        clock: FrozenClock,
        world: World,
        callback_server: CallbackServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        iccid, matching_id = await released(sessions, clock)
        raw = orjson.dumps({"eid": EID_A, "matchingId": matching_id})
        enqueue = callbacks.enqueue

        async def then_fail(session: object, pending: list[PendingCallback], now: object) -> None:
            await enqueue(session, pending, now)  # type: ignore[arg-type]
            raise RuntimeError("the transaction fails after the callback was written")

        monkeypatch.setattr(callbacks, "enqueue", then_fail)
        with pytest.raises(RuntimeError):
            await device_routes.answer(smdp.state, download.initiate_download, raw)
        assert await outbox(sessions) == []
        assert (await profile(sessions, iccid)).state == "Released"
        monkeypatch.setattr(callbacks, "enqueue", enqueue)
        await device_routes.answer(smdp.state, download.initiate_download, raw)
        await smdp.state.callbacks.drain()
        assert [(r.iccid, r.status) for r in await outbox(sessions)] == [(iccid, "delivered")]
        assert callback_server.points() == [(1, "Executed-Success")]


@contextmanager
def serve_smdp(database_url: str, port: int, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "MP_DATABASE_URL": database_url,
        "MP_URL_POLICY": "local",  # the operator stand-in is on loopback
        "MP_SMDP_CALLBACK_BACKOFF_SECONDS": "0.2",
        "MP_SMDP_CALLBACK_BACKOFF_MAX_SECONDS": "0.5",
        "MP_SMDP_CALLBACK_LEASE_SECONDS": "1",
    }
    command = [sys.executable, "-m", "mobileplans.cli.main", "serve", "smdp", "--port", str(port),
               "--data-dir", str(data_dir), "--smdp-address", f"127.0.0.1:{port}",
               "--public-url", f"http://127.0.0.1:{port}"]  # fmt: skip
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "smdp.log").open("ab")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        log.close()


async def healthy(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base} never answered /healthz")


async def until(sessions: Sessions, done: object, what: str) -> list[SmdpCallbackOutbox]:
    for _ in range(1200):
        rows = await outbox(sessions)
        if done(rows):  # type: ignore[operator]
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {what}: {[(r.id, r.status, r.attempts) for r in rows]}")


async def install(client: httpx.AsyncClient) -> str:
    """downloadOrder … handleNotification(install): callbacks at points 1, 3, 4."""
    ordered = await es2(client, "downloadOrder", {"eid": EID_A, "profileType": PREPAID})
    iccid: str = ordered["iccid"]
    confirmed = await es2(client, "confirmOrder", {"iccid": iccid, "releaseFlag": True})
    started = await device(
        client, "initiateDownload", {"eid": EID_A, "matchingId": confirmed["matchingId"]}
    )
    transaction_id = started.json()["transactionId"]
    await device(client, "getBoundProfilePackage", {"transactionId": transaction_id})
    done = await device(
        client, "handleNotification",
        {"transactionId": transaction_id, "eid": EID_A, "iccid": iccid, "event": "install",
         "success": True},
    )  # fmt: skip
    assert done.status_code == 204
    return iccid


class TestKilledWithCallbacksPending:
    async def test_restart_delivers_each_once_in_order(
        self, database_url: str, sessions: Sessions, clock: FrozenClock, tmp_path: Path
    ) -> None:
        server = CallbackServer()  # the operator is down: nothing listens on its port yet
        await seed(sessions, clock, callback_url=server.url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with serve_smdp(database_url, port, tmp_path / "smdp") as first:
            await healthy(base)
            async with httpx.AsyncClient(base_url=base) as client:
                iccids = [await install(client), await install(client)]
            await until(sessions, lambda rows: len(rows) == 6 and all(
                r.attempts >= 2 for r in rows if r.body["notificationPointId"] == 1
            ), "retried")  # fmt: skip
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        rows = await outbox(sessions)
        assert [r.status for r in rows] == ["pending"] * 6
        assert [r.attempts for r in rows if r.body["notificationPointId"] != 1] == [0] * 4
        async with server:  # the operator is back
            with serve_smdp(database_url, port, tmp_path / "smdp"):
                rows = await until(
                    sessions, lambda rows: all(r.status == "delivered" for r in rows), "delivered"
                )
        seen: dict[str, list[int]] = {}
        for body in server.bodies:
            seen.setdefault(body["iccid"], []).append(body["notificationPointId"])
        assert seen == {iccid: [1, 3, 4] for iccid in iccids}
        calls = [b["header"]["functionCallIdentifier"] for b in server.bodies]
        assert sorted(calls) == sorted(r.call_id for r in rows)


def test_cli_lists_pending_and_failed(env_for_cli: Path, database_url: str) -> None:
    from typer.testing import CliRunner

    from mobileplans.cli.main import app
    from mobileplans.db.engine import make_engine
    from mobileplans.db.session import make_sessionmaker

    url = "http://127.0.0.1:9/cb"
    body = {"profileType": PREPAID, "timestamp": "2026-11-02T09:00:00Z",
            "notificationPointStatus": {"status": "Executed-Success"}}  # fmt: skip

    async def prepare() -> None:
        engine = make_engine(database_url)
        now = datetime(2026, 11, 2, 9, tzinfo=UTC)
        tx = Transactions(make_sessionmaker(engine))
        notes = [
            PendingCallback(url, "contoso-bss", {**body, "iccid": iccid, "notificationPointId": 1})
            for iccid in ("8901999000000000003", "8901999000000000011")
        ]
        failed = {"status": "failed", "last_error": "HTTP 404"}
        try:
            async with tx.step() as session:
                await callbacks.enqueue(session, notes, now)
                first, _ = await repository.claim_callbacks(
                    session, owner="t", now=now, lease_until=now, limit=2
                )
                await repository.finish_callback(session, first.id, owner="t", values=failed)
        finally:
            await engine.dispose()

    asyncio.run(prepare())
    listed = CliRunner().invoke(app, ["smdp", "callbacks"])
    assert listed.exit_code == 0, listed.output
    lines = [line.split() for line in listed.output.splitlines()]
    assert ["1", "8901999000000000003", "1", "failed", "1"] in [line[:5] for line in lines]
    assert ["2", "8901999000000000011", "1", "pending", "0"] in [line[:5] for line in lines]
    assert "HTTP 404" in listed.output
