"""The reference operator for real: ``mobileplans up --tls`` as a subprocess on free ports."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.simulator.stack import free_port_block, reset_postgres
from tests.support import pg_url

READY_SECONDS = 90.0


@dataclass
class TlsStack:
    data_dir: Path
    endpoints_file: Path
    endpoints: dict[str, Any]
    output: list[str]

    @property
    def sims(self) -> dict[str, Any]:
        sims: dict[str, Any] = self.endpoints["demo"]["by_operator"]["contoso"]["sims"]
        return sims

    def tail(self) -> str:
        return "".join(self.output[-40:])


def _drain(process: subprocess.Popen[str], output: list[str]) -> None:
    if process.stdout is not None:
        for line in process.stdout:
            output.append(line)


def _ready(endpoints_file: Path) -> bool:
    if not endpoints_file.exists():
        return False
    try:
        data = json.loads(endpoints_file.read_text())
        bundle = ssl.create_default_context(cafile=data["tls"]["trust_bundle"])
        for part in (data["broker"], data["operator"], data["smdp"]):
            if httpx.get(f"{part}/healthz", verify=bundle, timeout=2).status_code != 200:
                return False
    except (ValueError, KeyError, TypeError, httpx.HTTPError):
        return False
    return True


def start_up(data_dir: Path) -> tuple[subprocess.Popen[str], TlsStack]:
    """Run ``up --tls`` on SQLite in ``data_dir`` (or ``MP_TEST_DATABASE_URL``), ready."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = pg_url() or f"sqlite+aiosqlite:///{data_dir / 'mobileplans.db'}"
    env = {**os.environ, "MP_DATABASE_URL": url}
    env.pop("MP_ADMIN_TOKEN", None)
    endpoints_file = data_dir / "endpoints.json"
    endpoints_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "mobileplans.cli.main", "up", "--tls"]
    command += ["--data-dir", str(data_dir), "--port-base", str(free_port_block())]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    threading.Thread(target=_drain, args=(process, output), daemon=True).start()
    deadline = time.monotonic() + READY_SECONDS
    while not _ready(endpoints_file):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise AssertionError("up --tls did not start:\n" + "".join(output[-60:]))
        time.sleep(0.3)
    endpoints = json.loads(endpoints_file.read_text())
    return process, TlsStack(data_dir, endpoints_file, endpoints, output)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def tls_stack(data_dir: Path) -> AsyncIterator[TlsStack]:
    """Body of a module fixture: a fresh database, ``up --tls``, then stop and clean up."""
    await reset_postgres()
    process, stack = await asyncio.to_thread(start_up, data_dir)
    try:
        yield stack
    finally:
        await asyncio.to_thread(stop, process)
        await reset_postgres()
