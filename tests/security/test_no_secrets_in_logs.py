"""No secret in any log line (issue #11, docs/security.md).

A real ``mobileplans up`` runs with the root logger at DEBUG (every record of the four
apps, the worker, SQLAlchemy, httpx, uvicorn: all of it, into its output). Against it:
the ``first-run-esim`` and ``prepaid-topup`` journeys (the portal sign-in with the demo
account's password), a console sign-in with a wrong and then the right admin token, an
operator credential created with the CLI and used on the broker's operations API (and a
wrong one), and a console sign-in with that credential. The test process's own records
(the simulator's) are captured too. Then no line of either may contain the admin token,
the operator credential, the portal password, the session secrets, or a PEM private key.
(``up`` shows an admin token it has just generated once, on purpose, as ``credentials
create`` shows a new token: here the token is given in ``MP_ADMIN_TOKEN``: none shown.)
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mobileplans.cli.demo_operator import DEMO_PASSWORD
from mobileplans.simulator.endpoints import load_endpoints
from mobileplans.simulator.runlog import Outcome
from mobileplans.simulator.runner import run_scenarios
from mobileplans.simulator.scenarios import SCENARIOS
from tests.simulator.stack import _wait_healthy, explain, free_port_block, reset_postgres
from tests.support import pg_url

pytestmark = pytest.mark.e2e

DEBUG_UP = (
    "import logging, sys; "
    "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, "
    "format='%(name)s %(levelname)s %(message)s'); "
    "from mobileplans.cli.main import main; sys.argv[0] = 'mobileplans'; main()"
)
WRONG_TOKEN = "not-the-admin-token-0123456789"
ADMIN_TOKEN = "security-test-admin-token-K7qP2xV9"


class DebugUp:
    """``mobileplans up`` with every logger at DEBUG, its output kept line by line."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.base = free_port_block()
        self.env = {**os.environ, "MP_DATABASE_URL": database_url}
        self.env["MP_ADMIN_TOKEN"] = ADMIN_TOKEN  # given, so ``up`` does not show a new one
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-c", DEBUG_UP, "up", "--data-dir", str(data_dir),
             "--port-base", str(self.base)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def cli(self, *args: str) -> str:
        """A CLI command on the same database and data directory; its output (logs too)."""
        done = subprocess.run(
            [sys.executable, "-c", DEBUG_UP, *args, "--data-dir", str(self.data_dir)],
            env=self.env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        self.lines.extend(done.stderr.splitlines(keepends=True))
        return done.stdout

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
async def up(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DebugUp]:
    data_dir = tmp_path_factory.mktemp("no-secrets")
    await reset_postgres()
    url = pg_url() or f"sqlite+aiosqlite:///{data_dir / 'mobileplans.db'}"
    process = DebugUp(data_dir, url)
    try:
        endpoints_file = data_dir / "endpoints.json"
        _wait_for(endpoints_file, process)
        yield process
    finally:
        process.stop()
        await reset_postgres()


def _wait_for(endpoints_file: Path, process: DebugUp) -> None:
    _wait_healthy(f"http://127.0.0.1:{process.base}")  # the broker: after endpoints.json
    for offset in (1, 2, 3):
        _wait_healthy(f"http://127.0.0.1:{process.base + offset}")
    assert endpoints_file.exists()


def secrets_of(up: DebugUp, credential: str) -> dict[str, str]:
    summary = json.loads((up.data_dir / "endpoints.json").read_text())
    found = {"admin token": summary["admin_token"], "operator credential": credential}
    for name in ("session_secret", "console_session_secret"):
        path = next(up.data_dir.rglob(name), None)
        if path is not None:
            found[name] = path.read_text().strip()
    found["portal password"] = DEMO_PASSWORD
    return found


async def console_sign_in(base: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as client:
        form = await client.get("/signin")
        csrf = form.cookies.get("mp_console_csrf")
        return await client.post("/signin", data={"token": token, "csrf": csrf})


async def test_no_secret_in_any_log_line(up: DebugUp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    endpoints = load_endpoints(up.data_dir / "endpoints.json")
    runs = await run_scenarios([SCENARIOS["first-run-esim"], SCENARIOS["prepaid-topup"]], endpoints)
    assert all(run.outcome is Outcome.PASS for run in runs), explain(runs)
    console = f"http://127.0.0.1:{up.base + 3}"
    assert (await console_sign_in(console, WRONG_TOKEN)).status_code == 401
    signed_in = await console_sign_in(console, ADMIN_TOKEN)
    assert signed_in.status_code == 303, signed_in.text
    credential = up.cli("credentials", "create", "--name", "noc", "--operator", "contoso")
    credential = credential.strip().splitlines()[-1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{up.base}") as broker:
        used = await broker.get("/v1/incidents", headers={"Authorization": f"Bearer {credential}"})
        assert used.status_code == 200, used.text
        wrong = await broker.get("/v1/incidents", headers={"Authorization": "Bearer nope-123"})
        assert wrong.status_code == 401
    assert (await console_sign_in(console, credential)).status_code == 303
    secrets = secrets_of(up, credential)
    assert len(secrets) == 5, secrets.keys()  # the lookup itself found what it looks for
    lines = up.lines + [caplog.handler.format(r) for r in caplog.records]
    assert len(lines) > 100  # DEBUG really was on
    leaks = [
        f"{name}: {line.strip()[:300]}"
        for line in lines
        for name, value in [*secrets.items(), ("PEM private key", "PRIVATE KEY-----")]
        if value and value in line
    ]
    assert not leaks, "\n".join(leaks[:20])
