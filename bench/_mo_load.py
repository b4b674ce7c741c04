"""Open-loop GetBalance load: :mod:`bench._load`'s schedule, each request with its own
``X-MS-DM-TransactionId`` (sent quoted, as the Mobile Plans service does, spec 2.9),
and the figures the spec 4.2 verdict needs (success %, average latency) on top.

Run in its own process on the load core::

    python -m bench._mo_load --base-url http://127.0.0.1:8001 --paths-file paths.txt \\
        --rate 3 --duration 120 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench._load import HOST_PREFIX, OpenLoop, percentile

TRANSACTION_HEADER = "X-MS-DM-TransactionId"


class MoOpenLoop(OpenLoop):
    """:class:`OpenLoop` with a fresh transaction id per request (echo checked)."""

    def __init__(
        self, session: aiohttp.ClientSession, paths: list[str], spin: bool, header: bool
    ) -> None:
        super().__init__(session, paths, spin)
        self.header = header
        self.echo_mismatches = 0

    async def _one(self, path: str, scheduled: float, record: bool) -> None:
        sent = time.perf_counter()
        txn = f'"MSFT-{uuid.uuid4()}"'
        headers = {TRANSACTION_HEADER: txn} if self.header else None
        echoed: str | None = txn
        try:
            async with self.session.get(path, headers=headers) as response:
                await response.read()
                status = str(response.status)
                echoed = response.headers.get(TRANSACTION_HEADER) if self.header else txn
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            status = type(exc).__name__
        done = time.perf_counter()
        if record:
            self.statuses[status] += 1
            self.lags.append(sent - scheduled)
            if status == "200":
                self.latencies.append(done - scheduled)
                self.echo_mismatches += echoed != txn
            self.last_done = max(self.last_done, done)


async def mo_open_loop(
    base_url: str, paths: list[str], rate: float, duration: float, warmup: float, header: bool
) -> dict[str, Any]:
    if not base_url.startswith(HOST_PREFIX):
        raise ValueError(f"only 127.0.0.1 is a target: {base_url}")
    connector = aiohttp.TCPConnector(limit=512, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(total=5, connect=2)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        loop = MoOpenLoop(session, paths, spin=True, header=header)
        if warmup > 0:
            await loop.run(rate, warmup, record=False)
        start = await loop.run(rate, duration, record=True, offset=int(rate * warmup))
    latencies = sorted(loop.latencies)
    lags = sorted(loop.lags)
    scheduled = int(rate * duration)
    ok = len(latencies)
    elapsed = max(loop.last_done - start, 1e-9)
    return {
        "target_rps": rate,
        "duration_s": duration,
        "scheduled": scheduled,
        "ok": ok,
        "success_pct": ok / scheduled * 100 if scheduled else float("nan"),
        "statuses": dict(loop.statuses),
        "echo_mismatches": loop.echo_mismatches,
        "achieved_rps": ok / elapsed,
        "mean_ms": sum(latencies) / ok * 1e3 if ok else float("nan"),
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p90_ms": percentile(latencies, 90) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1e3,
        "send_lag_p99_ms": percentile(lags, 99) * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--paths-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--no-header", dest="header", action="store_false")
    args = parser.parse_args()
    paths = [p for p in args.paths_file.read_text().splitlines() if p]
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    result = runner(
        mo_open_loop(args.base_url, paths, args.rate, args.duration, args.warmup, args.header)
    )
    args.json.write_text(json.dumps(result, indent=2))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
