"""A whole stack for end-to-end scenarios: ``mobileplans up`` as a subprocess on free ports."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from mobileplans.db.base import Base
from mobileplans.db.engine import make_engine
from mobileplans.simulator.endpoints import Endpoints, load_endpoints
from mobileplans.simulator.report import step_table, summary_table
from mobileplans.simulator.runlog import ScenarioRun
from tests import support
from tests.e2e.test_up import UpProcess
from tests.support import pg_url

PORTS_PER_STACK = 10  # broker, operator, SM-DP+, console, ..., mail server at N+9
READY_SECONDS = 90.0


def free_port_block(count: int = PORTS_PER_STACK) -> int:
    """A base port N with N..N+count-1 free (``tests.support.free_port_block``): ``up``
    binds N..N+9, and binds them again on a restart."""
    return support.free_port_block(count)


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url.rstrip('/')}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy")


@dataclass
class Stack:
    endpoints: Endpoints
    output: list[str]
    admin_token: str

    def log_tail(self, lines: int = 60) -> str:
        return "".join(self.output[-lines:])


def _drain(up: UpProcess, output: list[str]) -> None:
    """Keep reading ``up``'s output so a full pipe never blocks it; keep it for failures."""
    stream = up.process.stdout
    if stream is None:
        return
    for line in stream:
        output.append(line)


async def reset_postgres() -> None:
    """With PostgreSQL every stack shares one database: start (and leave) it empty."""
    url = pg_url()
    if url is None:
        return
    engine = make_engine(url, process_name="tests-e2e")
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


async def stack_fixture(data_dir: Path) -> AsyncIterator[Stack]:
    """Body of a module-scoped fixture: a fresh database, ``up``, then clean up."""
    await reset_postgres()
    try:
        for stack in start_stack(data_dir):
            yield stack
    finally:
        await reset_postgres()


def start_stack(data_dir: Path) -> Iterator[Stack]:
    """Run ``mobileplans up`` on SQLite in ``data_dir`` (or ``MP_TEST_DATABASE_URL``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = pg_url() or f"sqlite+aiosqlite:///{data_dir / 'mobileplans.db'}"
    up = UpProcess(data_dir, url, free_port_block())
    output: list[str] = []
    threading.Thread(target=_drain, args=(up, output), daemon=True).start()
    try:
        _wait_ready(up, output)
        endpoints = load_endpoints(up.endpoints_file)
        for part in (endpoints.operator, endpoints.smdp):
            if part:
                _wait_healthy(part)
        token = json.loads(up.endpoints_file.read_text())["admin_token"]
        yield Stack(endpoints, output, token)
    finally:
        if up.process.poll() is None:
            up.process.terminate()
            try:
                up.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                up.process.kill()
                up.process.wait()


def _wait_ready(up: UpProcess, output: list[str]) -> None:
    """endpoints.json written and the broker healthy (``UpProcess.wait_ready`` reads the
    pipe this module drains, so it is not used)."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if up.process.poll() is not None:
            raise AssertionError("up exited early:\n" + "".join(output[-60:]))
        if up.endpoints_file.exists():
            try:
                if httpx.get(f"http://127.0.0.1:{up.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    raise AssertionError("up did not become ready:\n" + "".join(output[-60:]))


def explain(runs: list[ScenarioRun], stack: Stack | None = None) -> str:
    """The step tables (and the stack's last output lines) as text, for assertion messages."""
    from rich.console import Console

    console = Console(record=True, width=200)
    for run in runs:
        console.print(step_table(run))
    console.print(summary_table(runs))
    text = console.export_text()
    return text + ("\n--- mobileplans up output ---\n" + stack.log_tail() if stack else "")
