"""The soak's stack: real processes on one PostgreSQL database, a fault proxy on each hop.

::

    device simulator ──> broker (up) ──[mo proxy]──> side operator's MO API
                         side operator ──[es2 proxy]──> SM-DP+ (up)
    worker (up) ──[probes proxy]──> probe target (a few hundred operators' portal + MO API)
    worker (up) ──[smtp proxy]──> mail sink (aiosmtpd, in the soak's process)

``mobileplans up`` runs broker, reference operator, SM-DP+, console and the worker in one
process; contoso's portal, notification URI and MO API point at a second reference
operator (``mobileplans serve operator``) whose ES2+ calls go through a proxy, so both
the broker → MO API and the operator → SM-DP+ hops can fail on a schedule.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import text
from tests.faults.proxy import ProxyThread

from bench import _procs, _stack
from bench._console_seed import operator_spec
from mobileplans.cli.demo_smdp import requester_id
from mobileplans.cli.endpoints import DELAY_MINUTE_SECONDS
from mobileplans.cli.mail_sink import MailSink
from mobileplans.db.engine import make_engine
from mobileplans.simulator.endpoints import Endpoints, load_endpoints

HOPS = ("mo", "es2", "probes", "smtp")
"""The hops a fault can be injected on (one proxy each)."""


@dataclass
class Stack:
    data_dir: Path
    database_url: str
    servers: _procs.Servers
    up: _procs.Server
    side: _procs.Server
    target: _procs.Server
    sink: MailSink
    proxies: dict[str, ProxyThread]
    endpoints: Endpoints
    summary: dict[str, Any]
    synthetic_operators: list[str] = field(default_factory=list)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.summary['admin_token']}"}

    @property
    def broker(self) -> str:
        return self.up.base_url

    def pids(self) -> dict[str, int]:
        """The processes whose memory and descriptors the soak follows."""
        return {
            "up (broker, operator, SM-DP+, console, worker)": self.up.process.pid,
            "side operator": self.side.process.pid,
            "probe target": self.target.process.pid,
            "soak driver (load, proxies, mail sink)": os.getpid(),
        }


async def fresh_database(url: str) -> None:
    """Drop and recreate the ``public`` schema: the name must say it is a scratch database."""
    name = url.rsplit("/", 1)[-1]
    if "soak" not in name and "bench" not in name:
        raise SystemExit(f"--postgres: the database name must contain 'soak' or 'bench': {name}")
    engine = make_engine(url, process_name="bench-soak")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def start(
    servers: _procs.Servers, workdir: Path, url: str, sizes: tuple[int, int], exit_stack: Any
) -> Stack:
    """Every process and proxy, wired; returns once each answers. ``sizes``: synthetic
    operators (two probes each) and SM-DP+ profiles to add for the device flows."""
    operators, profiles = sizes
    target_port = _procs.free_port()
    target = servers.start(
        "probe-target",
        [sys.executable, "-m", "bench._probe_target", "--port", str(target_port)],
        target_port,
        env=_stack.bench_env(),
        cwd=_stack.ROOT,
    )
    _wait_port(target_port)
    proxies = {"probes": exit_stack.enter_context(_closing(ProxyThread(target_port)))}
    sink_port = _procs.free_port()
    sink = exit_stack.enter_context(MailSink(workdir / "sink", _procs.HOST, sink_port))
    proxies["smtp"] = exit_stack.enter_context(_closing(ProxyThread(sink_port, http=False)))
    data_dir = workdir / "up"
    up = _start_up(servers, data_dir, url, proxies["smtp"].proxy.port)
    summary = _stack.read_json(data_dir / "endpoints.json")
    _generate_profiles(data_dir, url, profiles)
    endpoints = load_endpoints(data_dir / "endpoints.json")
    assert endpoints.smdp is not None
    proxies["es2"] = exit_stack.enter_context(_closing(ProxyThread(_port(endpoints.smdp))))
    side = _start_side_operator(servers, workdir, url, proxies["es2"])
    proxies["mo"] = exit_stack.enter_context(_closing(ProxyThread(side.port)))
    stack = Stack(data_dir, url, servers, up, side, target, sink, proxies, endpoints, summary)
    _point_contoso_at(stack, side.base_url, proxies["mo"].proxy.url())
    stack.synthetic_operators = _add_operators(stack, operators, proxies["probes"].proxy.url())
    return stack


@contextlib.contextmanager
def _closing(proxy: ProxyThread) -> Any:
    try:
        yield proxy
    finally:
        proxy.close()


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def _wait_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((_procs.HOST, port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _start_up(servers: _procs.Servers, data_dir: Path, url: str, smtp_port: int) -> _procs.Server:
    """``mobileplans up`` on PostgreSQL, mail through the smtp proxy, GetBalance uncached
    (every flyout read crosses the broker → MO API hop)."""
    port_base = _stack.free_port_base()
    extra = {
        "MP_DATABASE_URL": url,
        "MP_SMTP_HOST": _procs.HOST,
        "MP_SMTP_PORT": str(smtp_port),
        "MP_BALANCE_CACHE_SECONDS": "0",
    }
    command = [_stack.mobileplans_exe(), "up", "--data-dir", str(data_dir)]
    command += ["--port-base", str(port_base)]
    up = servers.start("up", command, port_base, env=_stack.bench_env(extra), cwd=_stack.ROOT)
    deadline = time.monotonic() + 180
    while not (data_dir / "endpoints.json").exists():
        if up.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mobileplans up did not start:\n{up.log_tail()}")
        time.sleep(0.2)
    for offset in _stack.PARTS.values():
        part = _procs.Server("up", port_base + offset, up.process, up.log_path)
        servers.wait_ready(part, "/healthz", max(1.0, deadline - time.monotonic()))
    return up


def _generate_profiles(data_dir: Path, url: str, count: int) -> None:
    """``mobileplans smdp generate``: enough Available profiles for every flow of the run."""
    command = [_stack.mobileplans_exe(), "smdp", "generate", "--operator", "contoso"]
    command += ["--profile-type", "contoso-consumer", "--count", str(count)]
    command += ["--data-dir", str(data_dir)]
    env = _stack.bench_env({"MP_DATABASE_URL": url})
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"smdp generate failed:\n{done.stderr[-2000:]}")


def _start_side_operator(
    servers: _procs.Servers, workdir: Path, url: str, es2: ProxyThread
) -> _procs.Server:
    port = _procs.free_port()
    base = f"http://{_procs.HOST}:{port}"
    config = {
        "public_base_url": base,
        "session_secret": "soak-only",
        "sites": [
            {
                "operator_id": "contoso",
                "brand_name": "Contoso Cellular",
                "countries": ["US"],
                "es2plus_url": es2.proxy.url(),
                "es2plus_requester_id": requester_id("contoso"),
                "download_delay_minute_seconds": DELAY_MINUTE_SECONDS,
            }
        ],
    }
    config_file = workdir / "side-operator.json"
    config_file.write_text(json.dumps(config))
    extra = {"MP_DATABASE_URL": url, "MP_URL_POLICY": "local"}
    command = [_stack.mobileplans_exe(), "serve", "operator", "--config", str(config_file)]
    command += ["--port", str(port), "--data-dir", str(workdir / "side")]
    side = servers.start("side-operator", command, port, env=_stack.bench_env(extra))
    servers.wait_ready(side, "/healthz", 90)
    return side


def _rehost(url: str, base: str) -> str:
    """``url`` with the scheme and host:port of ``base``; the path kept."""
    new, old = urlsplit(base), urlsplit(url)
    return urlunsplit((new.scheme, new.netloc, old.path, old.query, old.fragment))


def _point_contoso_at(stack: Stack, side: str, mo_proxy: str) -> None:
    """contoso's portal and notification URI at the side operator, its MO API through the
    mo proxy (in front of the same side operator)."""
    url = f"{stack.broker}/v1/admin/operators/contoso"
    data: dict[str, Any] = httpx.get(url, headers=stack.admin, timeout=30).json()
    production = data["environments"]["production"]
    production["portalUrl"] = _rehost(production["portalUrl"], side)
    production["notificationUri"] = _rehost(production["notificationUri"], side)
    production["moBaseUrl"] = _rehost(production["moBaseUrl"], mo_proxy)
    production["callbackHosts"] = [side]
    answer = httpx.put(url, json=data, headers=stack.admin, timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"re-pointing contoso failed: {answer.status_code} {answer.text}")


def _add_operators(stack: Stack, count: int, target: str) -> list[str]:
    """``count`` operators whose portal and MO API (two probes each) sit behind the probes
    proxy, through the broker's admin API as a platform would add them."""
    names = []
    with httpx.Client(headers=stack.admin, timeout=60) as client:
        for i in range(count):
            spec = operator_spec(i).model_dump(mode="json", by_alias=True, exclude_none=True)
            production = spec["environments"]["production"]
            production["portalUrl"] = f"{target}/{spec['id']}/portal/"
            production["moBaseUrl"] = f"{target}/{spec['id']}/mo/"
            answer = client.put(f"{stack.broker}/v1/admin/operators/{spec['id']}", json=spec)
            if answer.status_code not in (200, 201):
                raise RuntimeError(f"adding {spec['id']}: {answer.status_code} {answer.text}")
            names.append(spec["id"])
    return names
