"""Client side of ``bench.console``: sign-in, one request at a time, and three clocks per
request: the client's latency, the server's own time (the app's metrics histogram: the
``_sum`` of its route read before and after), and the CPU the server process used
(``/proc/<pid>/task/*/schedstat``, nanoseconds, every thread) plus, on PostgreSQL, the
CPU of the console's database backends (same file of each backend process)."""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import _procs

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
SUM_LINE = 'mobileplans_http_request_duration_seconds_sum{{app="console",route="{route}"}}'


def sign_in(base_url: str, token: str) -> httpx.Client:
    """A client holding a console session (``POST /signin`` with the form's CSRF token)."""
    if not base_url.startswith(f"http://{_procs.HOST}:"):
        raise ValueError(f"only {_procs.HOST} is a target: {base_url}")
    client = httpx.Client(base_url=base_url, timeout=60.0, follow_redirects=False)
    form = client.get("/signin")
    found = CSRF_FIELD.search(form.text)
    if form.status_code != 200 or found is None:
        raise RuntimeError(f"no sign-in form: {form.status_code}")
    done = client.post("/signin", data={"token": token, "csrf": found.group(1)})
    if done.status_code != 303 or "mp_console" not in client.cookies:
        raise RuntimeError(f"sign-in refused: {done.status_code} {done.text[:200]}")
    return client


def server_seconds(client: httpx.Client, route: str) -> float:
    """Seconds the console spent on ``route`` so far (its histogram's ``_sum``)."""
    text = client.get("/metrics").text
    prefix = SUM_LINE.format(route=route)
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _schedstat_ns(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


class CpuClock:
    """CPU nanoseconds of a process's threads (by thread id) and of other processes."""

    def __init__(self, pid: int, others: list[int] | None = None) -> None:
        self.pid = pid
        self.others = list(others or [])

    def sample(self) -> tuple[dict[str, int], int]:
        threads = {
            task.name: _schedstat_ns(task / "schedstat")
            for task in Path(f"/proc/{self.pid}/task").iterdir()
        }
        return threads, sum(_schedstat_ns(Path(f"/proc/{p}/schedstat")) for p in self.others)

    @staticmethod
    def used(
        before: tuple[dict[str, int], int], after: tuple[dict[str, int], int]
    ) -> tuple[int, int]:
        """(server ns, others ns) between two samples; a thread born between counts whole."""
        server = sum(ns - before[0].get(tid, 0) for tid, ns in after[0].items())
        return max(0, server), max(0, after[1] - before[1])


@dataclass
class Series:
    name: str
    path: str
    route: str
    party: str
    client_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    db_cpu_ms: list[float] = field(default_factory=list)
    bytes: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "party": self.party,
            "requests": len(self.server_ms),
            "server_p50_ms": round(percentile(self.server_ms, 50), 2),
            "server_p99_ms": round(percentile(self.server_ms, 99), 2),
            "server_max_ms": round(max(self.server_ms), 2),
            "client_p50_ms": round(percentile(self.client_ms, 50), 2),
            "client_p99_ms": round(percentile(self.client_ms, 99), 2),
            "cpu_ms_per_request": round(statistics.mean(self.cpu_ms), 2),
            "db_cpu_ms_per_request": round(statistics.mean(self.db_cpu_ms), 2)
            if self.db_cpu_ms
            else None,
            "response_bytes": self.bytes,
        }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def measure(
    client: httpx.Client, series: Series, cpu: CpuClock, *, warmup: int, requests: int,
    check: str | None,
) -> Series:  # fmt: skip
    """``warmup`` requests, then ``requests`` measured ones, one at a time."""
    for _ in range(warmup):
        _get(client, series.path, check)
    db = bool(cpu.others)
    served = server_seconds(client, series.route)
    for _ in range(requests):
        before = cpu.sample()
        started = time.perf_counter()
        body = _get(client, series.path, check)
        elapsed = time.perf_counter() - started
        after = cpu.sample()
        now_served = server_seconds(client, series.route)  # same connection: after the last
        series.server_ms.append((now_served - served) * 1000)
        served = now_served
        series.client_ms.append(elapsed * 1000)
        server_ns, db_ns = CpuClock.used(before, after)
        series.cpu_ms.append(server_ns / 1e6)
        if db:
            series.db_cpu_ms.append(db_ns / 1e6)
        series.bytes = len(body)
    return series


def _get(client: httpx.Client, path: str, check: str | None) -> bytes:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    if check is not None and check not in response.text:
        raise RuntimeError(f"GET {path}: the answer lacks {check!r}")
    return response.content
