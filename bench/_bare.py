"""Bare ASGI callables (no framework), the ceilings the apps are compared against.

Served by uvicorn with the broker's flags (uvloop, httptools, no access log):

- ``--body-file``: answers every request with fixed bytes (the broker's
  ``GET /v1/sims/{iccid}``);
- ``--database URL``: GetBalance's two queries with the raw driver, nothing else: the
  ICCID is the path segment before ``/balances`` (after an optional ``iccid:``), then
  the line and its balances (the SQL text of ``domains/subscriber/repository.py``'s
  ``LINE_SUMMARY`` and ``BALANCE_ROWS``) on ``sqlite3`` on the event loop or on asyncpg
  with prepared statements (4 connections), and the raw rows as JSON (404 when the line
  is unknown). No checks, no parsing, no row processing.
- ``--proxy MO_BASE_URL``: the broker's ``GET /v1/balances?iccid=…`` at its floor: the
  ICCID cut from the query, one aiohttp GET of ``{MO}/sims/iccid:{ICCID}/balances
  ?fieldsTemplate=basic`` with a fresh ``X-MS-DM-TransactionId`` on a pooled connector
  (the broker's limit of 2,000), and the operator's body passed through unread inside
  ``{"msTransactionId": …, "mo": …}`` (so ``bench._paired_load`` pairs it as it pairs the
  broker). No registry, no checks, no parsing, no call record; the broker's server
  settings (its keep-alive, its collector thresholds and frozen start-up heap).

    python -m bench._bare --port 8000 --body-file body.json [--loop asyncio]
    python -m bench._bare --port 8000 --database sqlite+aiosqlite:////path/to/db
    python -m bench._bare --port 8000 --proxy http://127.0.0.1:9301/v1
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

from mobileplans.web.server import KEEP_ALIVE_SECONDS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def make_app(body: bytes, content_type: bytes = b"application/json") -> Any:
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    }
    message = {"type": "http.response.body", "body": body}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send(start)
        await send(message)

    return app


def database_app(url: str) -> Any:
    import orjson

    from mobileplans.db.engine import make_engine
    from mobileplans.domains.subscriber import repository

    dialect = make_engine(url).dialect
    line_sql = str(repository.LINE_SUMMARY.compile(dialect=dialect))
    balance_sql = str(repository.BALANCE_ROWS.compile(dialect=dialect))
    queries = _sqlite_queries(url) if url.startswith("sqlite") else _asyncpg_queries(url)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await make_app(b"")(scope, receive, send)
            return
        iccid = scope["path"].rsplit("/", 2)[-2].removeprefix("iccid:")
        line, balances = await queries(line_sql, balance_sql, iccid)
        status, body = 404, b"{}"
        if line:
            status, body = 200, orjson.dumps({"balances": [list(r) for r in balances]})
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def proxy_app(mo_base_url: str, timeout_seconds: float = 5.0) -> Any:
    import uuid

    import aiohttp
    from yarl import URL

    from mobileplans.apps.broker.app import freeze_heap

    base = mo_base_url.rstrip("/")
    clients: list[aiohttp.ClientSession] = []

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                freeze_heap()  # the broker's collector settings (D271)
                connector = aiohttp.TCPConnector(limit=2_000)
                timeout = aiohttp.ClientTimeout(total=timeout_seconds)
                jar = aiohttp.DummyCookieJar()  # as the broker's client (D286)
                clients.append(
                    aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=jar)
                )
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await clients[0].close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        query: bytes = scope["query_string"]
        status, body = 200, b"ok"
        if b"iccid=" in query:
            iccid = query.split(b"iccid=", 1)[1].split(b"&", 1)[0].decode()
            transaction = f"MSFT-{uuid.uuid4()}"
            url = URL(f"{base}/sims/iccid%3A{iccid}/balances?fieldsTemplate=basic", encoded=True)
            sent = {"X-MS-DM-TransactionId": f'"{transaction}"'}
            async with clients[0].get(url, headers=sent) as response:
                upstream = await response.read()
                status = response.status
            body = b'{"msTransactionId":"%s","mo":%s}' % (transaction.encode(), upstream)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


Queries = Callable[[str, str, str], Awaitable[tuple[list[Any], list[Any]]]]


def _sqlite_queries(url: str) -> Queries:
    """``sqlite3`` on the event loop, autocommit (as ``db.reads.SqliteReads``)."""
    import sqlite3

    connection = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)

    async def queries(line_sql: str, balance_sql: str, iccid: str) -> tuple[list[Any], list[Any]]:
        line = connection.execute(line_sql, (iccid,)).fetchall()
        return line, connection.execute(balance_sql, (iccid,)).fetchall() if line else []

    return queries


def _asyncpg_queries(url: str) -> Queries:
    """Up to 4 asyncpg connections handed out in the order of asking (as
    ``db.reads.AsyncpgReads``), one held per request, statements prepared by asyncpg's
    statement cache."""
    import asyncio
    import collections

    import asyncpg  # type: ignore[import-untyped]

    dsn = url.replace("postgresql+asyncpg", "postgresql")
    idle: list[Any] = []
    waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
    opened = [0]

    async def acquire() -> Any:
        if idle:
            return idle.pop()
        if opened[0] < 4:
            opened[0] += 1
            return await asyncpg.connect(dsn)
        waiter = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        return await waiter

    def release(connection: Any) -> None:
        if waiters:
            waiters.popleft().set_result(connection)
        else:
            idle.append(connection)

    async def queries(line_sql: str, balance_sql: str, iccid: str) -> tuple[list[Any], list[Any]]:
        connection = await acquire()
        try:
            line = await connection.fetch(line_sql, iccid)
            return line, await connection.fetch(balance_sql, iccid) if line else []
        finally:
            release(connection)

    return queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-file", type=Path)
    parser.add_argument("--database", help="GetBalance's two queries on this database")
    parser.add_argument("--proxy", help="the balance proxy's floor, to this MO API base URL")
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop (asyncio: the stdlib loop, to show what uvloop buys)",
    )
    args = parser.parse_args()
    # The same settings as mobileplans.web.server.make_server uses for the broker.
    given = [a for a in (args.body_file, args.database, args.proxy) if a is not None]
    if len(given) != 1:
        parser.error("give one of --body-file, --database and --proxy")
    if args.proxy:
        app = proxy_app(args.proxy)
    elif args.database:
        app = database_app(args.database)
    else:
        app = make_app(args.body_file.read_bytes())
    keep_alive: dict[str, Any] = {"timeout_keep_alive": KEEP_ALIVE_SECONDS} if args.proxy else {}
    uvicorn.run(
        app,
        **keep_alive,
        host=args.host,
        port=args.port,
        loop=args.loop,
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
