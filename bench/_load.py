"""Open-loop HTTP load: requests go out on a fixed schedule, whatever the responses do.

Latency is measured from each request's *scheduled* send time, so a stalled server
(or a late client) shows up in the figures instead of silently lowering the rate
(no coordinated omission). The client's own lateness (actual minus scheduled send
time) is reported too, to tell server delay from generator delay. By default the
sender polls instead of sleeping for the last ~1.5 ms before a send (it owns its
core), so its own timer and wake-up latency stays out of the figures.

    python -m bench._load --base-url http://127.0.0.1:8000 --paths-file paths.txt \\
        --rate 1000 --duration 10 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

HOST_PREFIX = "http://127.0.0.1:"


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


class OpenLoop:
    def __init__(self, session: aiohttp.ClientSession, paths: list[str], spin: bool) -> None:
        self.session = session
        self.spin = spin
        self.paths = paths
        self.latencies: list[float] = []
        self.lags: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.last_done = 0.0

    async def _one(self, path: str, scheduled: float, record: bool) -> None:
        sent = time.perf_counter()
        try:
            async with self.session.get(path) as response:
                await response.read()
                status = str(response.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            status = type(exc).__name__
        done = time.perf_counter()
        if record:
            self.statuses[status] += 1
            self.lags.append(sent - scheduled)
            if status == "200":
                self.latencies.append(done - scheduled)
            self.last_done = max(self.last_done, done)

    async def run(self, rate: float, duration: float, *, record: bool, offset: int = 0) -> float:
        """Send ``rate * duration`` requests on schedule; returns the schedule's start."""
        count = int(rate * duration)
        interval = 1.0 / rate
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter() + 0.01
        hard_stop = start + duration * 2 + 5  # bound the loop even if the client stalls
        sent = 0
        while sent < count and time.perf_counter() < hard_stop:
            now = time.perf_counter()
            while sent < count and start + sent * interval <= now:
                path = self.paths[(offset + sent) % len(self.paths)]
                task = asyncio.create_task(self._one(path, start + sent * interval, record))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            wait = start + sent * interval - time.perf_counter()
            if not self.spin:
                await asyncio.sleep(max(0.0, wait))
            elif wait > 0.002:  # timers have ~1 ms granularity: sleep short, then spin
                await asyncio.sleep(wait - 0.0015)
            else:
                await asyncio.sleep(0)  # poll I/O without blocking, so sends go out on time
        if tasks:
            await asyncio.wait(set(tasks), timeout=10)
        for task in tasks:
            task.cancel()
        if record:
            self.statuses["not sent"] += count - sent
        return start


async def open_loop(
    base_url: str, paths: list[str], rate: float, duration: float, warmup: float, spin: bool
) -> dict[str, Any]:
    if not base_url.startswith(HOST_PREFIX):
        raise ValueError(f"only 127.0.0.1 is a target: {base_url}")
    connector = aiohttp.TCPConnector(limit=512, force_close=False, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(total=5, connect=2)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        loop = OpenLoop(session, paths, spin)
        if warmup > 0:
            await loop.run(rate, warmup, record=False)
        start = await loop.run(rate, duration, record=True, offset=int(rate * warmup))
    latencies = sorted(loop.latencies)
    lags = sorted(loop.lags)
    ok = len(latencies)
    elapsed = max(loop.last_done - start, 1e-9)
    return {
        "target_rps": rate,
        "spin": spin,
        "duration_s": duration,
        "scheduled": int(rate * duration),
        "ok": ok,
        "errors": sum(n for status, n in loop.statuses.items() if status != "200"),
        "statuses": dict(loop.statuses),
        "achieved_rps": ok / elapsed,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p90_ms": percentile(latencies, 90) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "p999_ms": percentile(latencies, 99.9) * 1e3,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1e3,
        "send_lag_p50_ms": percentile(lags, 50) * 1e3,
        "send_lag_p99_ms": percentile(lags, 99) * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--paths-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument(
        "--no-spin",
        dest="spin",
        action="store_false",
        help="sleep between sends instead of polling (the client's wake-ups add latency)",
    )
    args = parser.parse_args()
    paths = [p for p in args.paths_file.read_text().splitlines() if p]
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    result = runner(
        open_loop(args.base_url, paths, args.rate, args.duration, args.warmup, args.spin)
    )
    args.json.write_text(json.dumps(result, indent=2))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
