"""A real ``mobileplans`` stack for the activation and GetBalance benchmarks.

``mobileplans up`` (or one part with ``mobileplans serve``) in its own process group,
pinned to the server core by :class:`bench._procs.Servers`, on a fresh data directory;
the machine's load average is sampled around each measurement because the box is shared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import _ports, _procs

ROOT = Path(__file__).resolve().parent.parent
PARTS = {"broker": 0, "operator": 1, "smdp": 2}


def bench_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without MP_* settings (every process uses the temp data dir)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def mobileplans_exe() -> str:
    local = Path(sys.executable).parent / "mobileplans"
    return str(local) if local.exists() else (shutil.which("mobileplans") or "mobileplans")


def free_port_base(span: int = 10) -> int:
    """A port N with N .. N+span-1 free (``up`` binds N to N+3 and its local mail server
    N+9), outside the ephemeral range (``bench._ports``)."""
    return _ports.free_port_block(span)


def load_average() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"load1": round(one, 2), "load5": round(five, 2), "load15": round(fifteen, 2)}


def start_up(
    servers: _procs.Servers, data_dir: Path, port_base: int, *, timeout: float = 120.0
) -> _procs.Server:
    """``mobileplans up``; waits for endpoints.json and the three ``/healthz``."""
    command = [mobileplans_exe(), "up", "--data-dir", str(data_dir)]
    command += ["--port-base", str(port_base)]
    server = servers.start("up", command, port_base, env=bench_env(), cwd=ROOT)
    endpoints = data_dir / "endpoints.json"
    deadline = time.monotonic() + timeout
    while not endpoints.exists():
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mobileplans up did not write {endpoints}:\n{server.log_tail()}")
        time.sleep(0.2)
    for offset in PARTS.values():
        part = _procs.Server(server.name, port_base + offset, server.process, server.log_path)
        servers.wait_ready(part, "/healthz", max(1.0, deadline - time.monotonic()))
    return server


def cli(args: list[str], data_dir: Path, *, timeout: float = 600.0) -> str:
    """Run ``mobileplans ARGS --data-dir D`` to completion; returns its stdout."""
    command = [mobileplans_exe(), *args, "--data-dir", str(data_dir)]
    done = subprocess.run(
        command,
        env=bench_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
