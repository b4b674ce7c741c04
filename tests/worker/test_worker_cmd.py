"""``mobileplans probes …`` and ``mobileplans worker`` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from mobileplans.cli.main import app
from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.kit.clock import SystemClock
from tests.domains.probe.target import ControllableTarget
from tests.support import operator_data, valid_iccid

Sessions = async_sessionmaker[AsyncSession]
runner = CliRunner()
ICCID = valid_iccid("890199900999999001")


@pytest.fixture
async def target() -> AsyncIterator[ControllableTarget]:
    server = await ControllableTarget().start()
    yield server
    await server.stop()


@pytest.fixture
def cli_env(env_for_cli: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MP_URL_POLICY", "local")
    return env_for_cli


async def cli(*args: str) -> Result:
    """Invoke in a thread: the controllable target serves on this test's event loop."""
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def configure(tmp_path: Path, target: ControllableTarget) -> None:
    data = operator_data("contoso", monitoringIccid=ICCID)
    data["environments"]["production"] = {
        "portalUrl": target.portal_url(),
        "moBaseUrl": target.mo_base_url(),
    }
    source = tmp_path / "registry.yaml"
    source.write_text(yaml.safe_dump({"operators": [data]}))
    imported = await cli("config", "import", str(source))
    assert imported.exit_code == 0, imported.output


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


async def test_sync_list_and_check_without_recording(
    cli_env: Path, tmp_path: Path, target: ControllableTarget, sessions: Sessions
) -> None:
    await configure(tmp_path, target)
    synced = as_json(await cli("probes", "sync"))
    assert sorted(synced["created"]) == [
        "contoso/production/getbalance",
        "contoso/production/portal",
    ]
    listed = as_json(await cli("probes", "list", "--json"))
    assert {p["kind"] for p in listed} == {"portal", "getbalance"}
    assert all(p["intervalSeconds"] == 30 and p["enabled"] for p in listed)
    table = await cli("probes", "list")
    assert "contoso" in table.output
    checked = as_json(await cli("probes", "run-once", "--no-record", "--json"))
    assert {(r["kind"], r["outcome"], r["status"]) for r in checked} == {
        ("portal", "ok", 200),
        ("getbalance", "ok", 200),
    }
    async with sessions() as session:
        assert (await session.scalars(select(ProbeResult))).all() == []


async def test_run_once_records_due_probes(
    cli_env: Path, tmp_path: Path, target: ControllableTarget, sessions: Sessions
) -> None:
    await configure(tmp_path, target)
    as_json(await cli("probes", "sync"))
    later = SystemClock().now() + timedelta(minutes=10)
    async with session_scope(sessions) as session:
        await session.execute(update(Probe).values(next_run_at=later))
    assert "no probe is due" in (await cli("probes", "run-once")).output
    due = SystemClock().now() - timedelta(seconds=5)
    async with session_scope(sessions) as session:
        await session.execute(update(Probe).values(next_run_at=due))
    target.mode, target.status = "status", 502
    ran = as_json(await cli("probes", "run-once", "--json"))
    assert {(r["outcome"], r["status"]) for r in ran} == {("http_error", 502)}
    async with sessions() as session:
        stored = (await session.scalars(select(ProbeResult))).all()
        rows = (await session.scalars(select(Probe))).all()
    assert {(r.outcome, r.status_code, r.scheduled_at) for r in stored} == {
        ("http_error", 502, due)
    }
    assert all(p.last_outcome == "http_error" and p.consecutive_failures == 1 for p in rows)
    assert all(p.next_run_at == due + timedelta(seconds=30) for p in rows)


async def test_add_set_remove_and_their_errors(
    cli_env: Path, tmp_path: Path, target: ControllableTarget
) -> None:
    await configure(tmp_path, target)
    as_json(await cli("probes", "sync"))
    added = as_json(
        await cli(
            "probes", "add", "--operator", "contoso", "--kind", "microbalance", "--timeout", "2"
        )
    )
    assert (added["kind"], added["timeoutSeconds"], added["enabled"]) == ("microbalance", 2.0, True)
    bad_interval = await cli(
        "probes", "add", "--operator", "contoso", "--kind", "microbalance", "--interval", "10"
    )
    assert bad_interval.exit_code == 1
    assert bad_interval.output.startswith("--interval: ")  # the CLI option, not the API field
    unknown = await cli("probes", "add", "--operator", "nobody", "--kind", "portal")
    assert unknown.exit_code == 1
    assert "'nobody' does not exist" in unknown.output
    retuned = as_json(await cli("probes", "set", str(added["id"]), "--interval", "300"))
    assert retuned["intervalSeconds"] == 300
    too_slow = await cli("probes", "set", str(added["id"]), "--interval", "301")
    assert too_slow.exit_code == 1
    listed = {p["kind"]: p for p in as_json(await cli("probes", "list", "--json"))}
    refused = await cli("probes", "remove", str(listed["portal"]["id"]))
    assert refused.exit_code == 1
    assert "follow the operator registry" in refused.output
    removed = as_json(await cli("probes", "remove", str(added["id"])))
    assert removed["enabled"] is False


async def test_worker_process_stops_cleanly_on_sigterm(
    database_url: str, tmp_path: Path, target: ControllableTarget, sessions: Sessions
) -> None:
    env = {**os.environ, "MP_DATABASE_URL": database_url, "MP_URL_POLICY": "local"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mobileplans.cli.main",
        "worker",
        "--data-dir",
        str(tmp_path / "data"),
        "--worker-id",
        "sigterm-test",
        env=env,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
        while b"running" not in line:
            line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
        process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stderr.read(), timeout=60)
        code = await asyncio.wait_for(process.wait(), timeout=10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 0, rest.decode()
    assert b"worker sigterm-test stopped" in rest
