"""Server processes and wrk runs for the HTTP benchmarks (loopback only).

Every server runs in its own session (process group) so it and its children can be
stopped by that group's id; :class:`Servers` stops them all on exit, even on error.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench._ports import HOST as HOST
from bench._ports import free_port as free_port

SERVER_CORE = 0
LOAD_CORE = 1


def pinned(command: Sequence[str], core: int) -> list[str]:
    """``taskset -c core command`` when taskset exists and the core is there, else as is."""
    if shutil.which("taskset") and core in os.sched_getaffinity(0):
        return ["taskset", "-c", str(core), *command]
    return list(command)


def can_pin() -> bool:
    return shutil.which("taskset") is not None and {SERVER_CORE, LOAD_CORE} <= set(
        os.sched_getaffinity(0)
    )


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes, dict[str, str]]:
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"only {HOST} is a target: {url}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Servers:
    """Starts servers pinned to the server core; ``stop_all`` ends each by its group id."""

    workdir: Path
    pin: bool = True
    """False: the servers run on any core (the soak spreads a whole stack over both)."""
    started: list[Server] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def start(
        self,
        name: str,
        command: Sequence[str],
        port: int,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Server:
        log_path = self.workdir / f"{name}.log"
        log = log_path.open("wb")
        self._logs.append(log)
        process = subprocess.Popen(
            pinned(command, SERVER_CORE) if self.pin else list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        server = Server(name, port, process, log_path)
        self.started.append(server)
        return server

    def wait_ready(self, server: Server, path: str, timeout: float) -> None:
        """Poll ``path`` until it answers 200, the process dies, or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(OSError):
                if http_get(server.base_url + path, timeout=2.0)[0] == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{server.name} not ready after {timeout:.0f} s:\n{server.log_tail()}")

    def stop(self, server: Server, timeout: float = 10.0) -> None:
        process = server.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        # Children of the group (if any) that outlived the leader.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for server in reversed(self.started):
            with contextlib.suppress(Exception):
                self.stop(server)
        self.started.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()


# --- CPU used by other work -----------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _system_cpu() -> tuple[float, float]:
    """Busy and steal seconds of all CPUs since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq) / _TICK, steal / _TICK


def _process_cpu(pid: int) -> float:
    """User + system seconds of ``pid`` (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _own_cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for: wrk, generator
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class CpuMeter:
    """CPU that *other* processes (and steal) took while a measurement ran.

    Busy time of the whole machine minus what the servers (``pids``), this process and
    its waited-for children used; in percent of one core. Kernel network work that is
    not charged to a process also lands here, so a few percent is normal.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        busy, steal = _system_cpu()
        ours = _own_cpu() + sum(_process_cpu(pid) for pid in self.pids)
        return time.monotonic(), busy, steal, ours

    def stop(self) -> dict[str, float]:
        end = self._sample()
        elapsed = max(end[0] - self._start[0], 1e-9)
        other = (end[1] - self._start[1]) - (end[3] - self._start[3])
        return {
            "other_cpu_pct": max(0.0, other) / elapsed * 100,
            "steal_pct": (end[2] - self._start[2]) / elapsed * 100,
        }


def wait_quiet(limit_s: float, threshold_pct: float, window_s: float = 3.0) -> float:
    """Wait (at most ``limit_s``) until other work takes under ``threshold_pct`` of a core
    over a ``window_s`` window; returns the last window's figure."""
    deadline = time.monotonic() + limit_s
    while True:
        meter = CpuMeter([])
        time.sleep(window_s)
        sample = meter.stop()
        busy = sample["other_cpu_pct"] + sample["steal_pct"]
        if busy < threshold_pct or time.monotonic() >= deadline:
            return busy


# --- wrk ---------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_DURATION = re.compile(r"^\s*([0-9.]+)(us|ms|s|m|h)\s*$")


def _ms(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s*([0-9.]+)", output)
    if rps is None:
        raise ValueError(f"no Requests/sec in wrk output:\n{output}")
    percentiles: dict[str, float] = {}
    for pct, value in re.findall(r"^\s*(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE):
        percentiles[pct] = _ms(value)
    requests = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        rps=float(rps.group(1)),
        p50_ms=percentiles.get("50", float("nan")),
        p90_ms=percentiles.get("90", float("nan")),
        p99_ms=percentiles.get("99", float("nan")),
        requests=int(requests.group(1)) if requests else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
    )


def write_wrk_script(paths: Sequence[str], directory: Path) -> Path:
    """A Lua script that cycles through ``paths`` (one request each)."""
    body = ",\n".join(f'  "{p}"' for p in paths)
    script = (
        "local paths = {\n" + body + "\n}\n"
        "local n = #paths\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % n + 1\n"
        '  return wrk.format("GET", paths[i])\n'
        "end\n"
    )
    fd, name = tempfile.mkstemp(suffix=".lua", dir=directory)
    with os.fdopen(fd, "w") as handle:
        handle.write(script)
    return Path(name)


def run_wrk(
    base_url: str,
    script: Path,
    *,
    duration: float,
    connections: int = 64,
    latency: bool = True,
) -> WrkResult:
    if not base_url.startswith(f"http://{HOST}:"):
        raise ValueError(f"only {HOST} is a target: {base_url}")
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
    ]
    if latency:
        command.append("--latency")
    command.append(base_url + "/")
    done = subprocess.run(
        pinned(command, LOAD_CORE),
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def ensure_wrk(install: bool) -> str | None:
    """Path of wrk; installs Debian's package when allowed and running as root."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    print("wrk not found; running apt-get install -y wrk", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"]) * 2:
        if shutil.which("wrk"):
            break
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            subprocess.run(command, env=env, capture_output=True, timeout=300, check=False)
    return shutil.which("wrk")
