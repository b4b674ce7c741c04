"""``bench._load``'s open loop, also keeping each answer's ``msTransactionId`` with its
latency, so that ``bench/balances.py`` can pair a broker request with the MO stand-in's
time for the same request.

    python -m bench._paired_load --base-url http://127.0.0.1:8000 --paths-file paths.txt \\
        --rate 1000 --duration 10 --warmup 2 --json out.json

The JSON is ``bench._load``'s summary plus ``"latency_by_transaction"``: ``{id: ms}`` for
every recorded 200 whose body names a transaction (latency from the scheduled send time,
as every ``bench._load`` figure). With ``--own-transactions`` it names each request's
transaction itself (the header, which the MO stand-in echoes and times): pointed straight at
the stand-in, the same pairing then measures what the harness alone adds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop

from bench._load import HOST_PREFIX, OpenLoop, percentile

TRANSACTION_HEADER = "X-MS-DM-TransactionId"


class PairedLoop(OpenLoop):
    def __init__(
        self, session: aiohttp.ClientSession, paths: list[str], spin: bool, own: bool = False
    ) -> None:
        super().__init__(session, paths, spin)
        self.by_transaction: dict[str, float] = {}
        self.own = own
        self.sent_count = 0

    async def _one(self, path: str, scheduled: float, record: bool) -> None:
        self.sent_count += 1
        own = f"direct-{self.sent_count}" if self.own else ""
        headers = {TRANSACTION_HEADER: f'"{own}"'} if own else None
        sent = time.perf_counter()
        body = b""
        try:
            async with self.session.get(path, headers=headers) as response:
                body = await response.read()
                status = str(response.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            status = type(exc).__name__
        done = time.perf_counter()
        if not record:
            return
        self.statuses[status] += 1
        self.lags.append(sent - scheduled)
        self.last_done = max(self.last_done, done)
        if status == "200":
            self.latencies.append(done - scheduled)
            transaction = own or _transaction_of(body)
            if transaction:
                self.by_transaction[transaction] = (done - scheduled) * 1000.0


def _transaction_of(body: bytes) -> str | None:
    try:
        found = orjson.loads(body).get("msTransactionId")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return found if isinstance(found, str) else None


async def paired_loop(
    base_url: str,
    paths: list[str],
    rate: float,
    duration: float,
    warmup: float,
    own: bool = False,
) -> dict[str, Any]:
    if not base_url.startswith(HOST_PREFIX):
        raise ValueError(f"only 127.0.0.1 is a target: {base_url}")
    connector = aiohttp.TCPConnector(limit=512, force_close=False, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(total=5, connect=2)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        loop = PairedLoop(session, paths, spin=True, own=own)
        if warmup > 0:
            await loop.run(rate, warmup, record=False)
        start = await loop.run(rate, duration, record=True, offset=int(rate * warmup))
    latencies, lags = sorted(loop.latencies), sorted(loop.lags)
    return {
        "target_rps": rate,
        "duration_s": duration,
        "ok": len(latencies),
        "errors": sum(n for status, n in loop.statuses.items() if status != "200"),
        "statuses": dict(loop.statuses),
        "achieved_rps": len(latencies) / max(loop.last_done - start, 1e-9),
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1e3,
        "send_lag_p50_ms": percentile(lags, 50) * 1e3,
        "send_lag_p99_ms": percentile(lags, 99) * 1e3,
        "latency_by_transaction": loop.by_transaction,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--paths-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument(
        "--own-transactions",
        action="store_true",
        help=f"send a {TRANSACTION_HEADER} of its own with each request and pair by it "
        "(a run straight at the MO stand-in, which echoes it: the harness's own share)",
    )
    args = parser.parse_args()
    paths = [p for p in args.paths_file.read_text().splitlines() if p]
    result = uvloop.run(
        paired_loop(
            args.base_url, paths, args.rate, args.duration, args.warmup, args.own_transactions
        )
    )
    args.json.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
