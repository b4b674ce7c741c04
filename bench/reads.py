"""The options for GetBalance's two tiny indexed reads, in one process (decision D85).

For each option, ``--count`` sequential GetBalance read pairs (the line, then its
balances: ``domains/subscriber/repository.py``'s ``LINE_SUMMARY`` and ``BALANCE_ROWS``)
over 1,000 seeded lines, then the same number with ``--concurrency`` pairs in flight;
prints CPU µs per pair (this process's user + system time, threads included) and wall
µs per pair. Options:

SQLite (a WAL file):
- ``session``: today's path: an ``AsyncSession`` on aiosqlite, begin … commit, ORM rows
- ``aiosqlite``: one raw aiosqlite connection (a thread hop per statement)
- ``thread``: stdlib ``sqlite3``, one connection per worker thread, one hop per pair
- ``loop``: stdlib ``sqlite3`` on the event loop (``db.reads.SqliteReads``)

PostgreSQL (``--postgres URL``; the ``public`` schema of that database is recreated):
- ``session``: an ``AsyncSession`` on asyncpg, begin … commit, ORM rows
- ``asyncpg-text``: raw asyncpg, statement cache off (parse + plan per statement)
- ``asyncpg-prepared``: raw asyncpg, prepared statements (``db.reads.AsyncpgReads``)

Then the MO API in the same process, over the same data: GetBalance, GetOffers and
GetNotifications sent as ASGI calls (no sockets) to the operator app, once through
FastAPI alone (``OperatorApp.framework``) and once through the fast path in front of
it (``apps/operator/fastpath.py``), 16 in flight; CPU µs per request.

    .venv/bin/python -m bench.reads [--count 5000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop
from rich.console import Console
from rich.table import Table

from bench._mo_seed import seed_database
from mobileplans.db.engine import make_engine
from mobileplans.db.reads import AsyncpgReads, SqliteReads
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.subscriber import repository

Pair = Callable[[str], Awaitable[Any]]
console = Console(width=None if sys.stdout.isatty() else 140)


async def measure(pair: Pair, iccids: list[str], count: int, concurrency: int) -> dict[str, float]:
    order = [random.Random(n).choice(iccids) for n in range(count)]  # ICCIDs or paths
    for iccid in order[:100]:  # warm-up: connections, statement caches
        await pair(iccid)
    figures: dict[str, float] = {}
    for label, width in (("seq", 1), ("conc", concurrency)):
        cpu, wall = time.process_time(), time.perf_counter()
        for start in range(0, count, width):
            await asyncio.gather(*(pair(i) for i in order[start : start + width]))
        figures[f"{label}_cpu_us"] = (time.process_time() - cpu) / count * 1e6
        figures[f"{label}_wall_us"] = (time.perf_counter() - wall) / count * 1e6
    return figures


def session_pair(url: str) -> tuple[Pair, Callable[[], Awaitable[None]]]:
    engine = make_engine(url, process_name="bench-reads")
    sessions = make_sessionmaker(engine)

    async def pair(iccid: str) -> Any:
        async with session_scope(sessions) as session:
            line = await repository.line(session, iccid)
            assert line is not None
            return await repository.balances(session, iccid)

    return pair, engine.dispose


def sql_of(url: str) -> tuple[str, str]:
    dialect = make_engine(url).dialect
    return (
        str(repository.LINE_SUMMARY.compile(dialect=dialect)),
        str(repository.BALANCE_ROWS.compile(dialect=dialect)),
    )


def aiosqlite_pair(path: str, url: str) -> tuple[Pair, Callable[[], Awaitable[None]]]:
    import aiosqlite

    line_sql, balance_sql = sql_of(url)
    holder: dict[str, Any] = {}
    lock = asyncio.Lock()

    async def pair(iccid: str) -> Any:
        async with lock:
            if "c" not in holder:
                holder["c"] = await aiosqlite.connect(path, isolation_level=None)
        connection = holder["c"]
        async with connection.execute(line_sql, (iccid,)) as cursor:
            assert await cursor.fetchone() is not None
        async with connection.execute(balance_sql, (iccid,)) as cursor:
            return await cursor.fetchall()

    async def close() -> None:
        if "c" in holder:
            await holder["c"].close()

    return pair, close


def thread_pair(path: str, url: str) -> tuple[Pair, Callable[[], Awaitable[None]]]:
    line_sql, balance_sql = sql_of(url)
    local = threading.local()
    pool = ThreadPoolExecutor(max_workers=4)

    def work(iccid: str) -> Any:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = sqlite3.connect(path, isolation_level=None)
        assert connection.execute(line_sql, (iccid,)).fetchone() is not None
        return connection.execute(balance_sql, (iccid,)).fetchall()

    async def pair(iccid: str) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, work, iccid)

    async def close() -> None:
        pool.shutdown()

    return pair, close


def reads_pair(reads: SqliteReads | AsyncpgReads) -> tuple[Pair, Callable[[], Awaitable[None]]]:
    async def pair(iccid: str) -> Any:
        assert await repository.line_summary(reads, iccid) is not None
        return await repository.balance_rows(reads, iccid)

    async def close() -> None:
        reads.close()

    return pair, close


def asyncpg_text_pair(url: str) -> tuple[Pair, Callable[[], Awaitable[None]]]:
    import asyncpg  # type: ignore[import-untyped]

    line_sql, balance_sql = sql_of(url)
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    queue: asyncio.LifoQueue[Any] = asyncio.LifoQueue()
    opened: list[Any] = []

    async def pair(iccid: str) -> Any:
        if queue.empty() and len(opened) < 4:
            opened.append(await asyncpg.connect(dsn, statement_cache_size=0))
            queue.put_nowait(opened[-1])
        connection = await queue.get()
        try:
            assert await connection.fetchrow(line_sql, iccid) is not None
            return await connection.fetch(balance_sql, iccid)
        finally:
            queue.put_nowait(connection)

    async def close() -> None:
        for connection in opened:
            await connection.close()

    return pair, close


def options(url: str) -> dict[str, Callable[[], tuple[Pair, Callable[[], Awaitable[None]]]]]:
    engine_dialect = make_engine(url).dialect
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        return {
            "session (aiosqlite, begin/commit, ORM)": lambda: session_pair(url),
            "aiosqlite, raw connection": lambda: aiosqlite_pair(path, url),
            "sqlite3, connection per worker thread": lambda: thread_pair(path, url),
            "sqlite3 on the event loop (db.reads)": lambda: reads_pair(
                SqliteReads(path, engine_dialect)
            ),
        }
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    return {
        "session (asyncpg, begin/commit, ORM)": lambda: session_pair(url),
        "asyncpg, no statement cache": lambda: asyncpg_text_pair(url),
        "asyncpg, prepared statements (db.reads)": lambda: reads_pair(
            AsyncpgReads(dsn, engine_dialect)
        ),
    }


async def run(url: str, args: argparse.Namespace) -> list[tuple[str, dict[str, float]]]:
    iccids = await seed_database(url, 1000)
    results = []
    for name, make in options(url).items():
        pair, close = make()
        try:
            results.append((name, await measure(pair, iccids, args.count, args.concurrency)))
        finally:
            await close()
    for name, paths in mo_routes(iccids).items():
        for label, figures in await mo_api(url, paths, args.count, args.concurrency):
            results.append((f"MO API {name}, {label}", figures))
    return results


def mo_routes(iccids: list[str]) -> dict[str, list[str]]:
    base = "/contoso/api/v1/sims"
    return {
        "GetBalance": [f"{base}/iccid:{i}/balances?fieldsTemplate=basic" for i in iccids],
        "GetOffers": [f"{base}/{i}/offers?limit=2" for i in iccids],
        "GetNotifications": [
            f"{base}/{i}/notifications?notificationType=lowBalance&limit=1" for i in iccids
        ],
    }


async def mo_api(
    url: str, paths: list[str], count: int, concurrency: int
) -> list[tuple[str, dict[str, float]]]:
    """The operator app in process: FastAPI alone, then the fast path in front of it."""
    from mobileplans.apps.operator.app import create_app
    from mobileplans.cli.demo_registry import Ports
    from mobileplans.cli.up import operator_config
    from mobileplans.kit.clock import SystemClock

    config = operator_config(Ports("127.0.0.1", 9), "bench-reads-secret-0123456789abcdef")
    sites = [s.model_copy(update={"rate_limit_per_second": 0}) for s in config.sites]
    engine = make_engine(url, process_name="bench-reads")
    app = create_app(
        config.model_copy(update={"sites": sites}), make_sessionmaker(engine), clock=SystemClock()
    )
    found = []
    try:
        for label, target in (("FastAPI route", app.framework), ("fast path", app)):
            found.append(
                (label, await measure(asgi_call(target, paths), paths, count, concurrency))
            )
    finally:
        await engine.dispose()
    return found


def asgi_call(app: Any, paths: list[str]) -> Pair:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call(path_and_query: str) -> Any:
        path, _, query = path_and_query.partition("?")
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode(), "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "headers": [(b"host", b"127.0.0.1"), (b"x-ms-dm-transactionid", b'"MSFT-bench"')],
        }  # fmt: skip
        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent
        return sent

    return call


def table(title: str, results: list[tuple[str, dict[str, float]]], concurrency: int) -> Table:
    out = Table(title=title, title_justify="left")
    out.add_column("option")
    for name in ("CPU µs/pair", "wall µs/pair", f"CPU µs/pair ×{concurrency}", "wall µs/pair"):
        out.add_column(name, justify="right")
    for name, f in results:
        out.add_row(
            name,
            f"{f['seq_cpu_us']:.0f}",
            f"{f['seq_wall_us']:.0f}",
            f"{f['conc_cpu_us']:.0f}",
            f"{f['conc_wall_us']:.0f}",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres", help="postgresql+asyncpg://… (its schema is recreated)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reads-") as workdir:
        url = f"sqlite+aiosqlite:///{Path(workdir) / 'reads.db'}"
        load = os.getloadavg()
        sqlite = uvloop.run(run(url, args))
        console.print(table("SQLite (WAL), GetBalance read pair", sqlite, args.concurrency))
        if args.postgres:
            pg = uvloop.run(run(args.postgres, args))
            console.print(table("PostgreSQL, GetBalance read pair", pg, args.concurrency))
        end = os.getloadavg()
    console.print(
        f"{args.count} pairs per column; load average {load[0]:.2f} → {end[0]:.2f}; "
        f"one process, uvloop"
    )


if __name__ == "__main__":
    main()
