"""The SM-DP+'s share of one first-run eSIM flow: CPU, statements and transactions.

Prints figures; asserts nothing about time (benchmarks are never test thresholds).

The SM-DP+ app (``apps.smdp.create_app``) runs in this process on the engine ``up``
gives it (SQLite on the event loop, or PostgreSQL with ``--postgres URL``) and is called
as an ASGI app, without sockets, with the six requests the SM-DP+ serves in a
``first-run-esim`` flow: the operator's ES2+ ``downloadOrder`` (profileType + EID) and
``confirmOrder`` (releaseFlag true), then the device's ``initiateDownload``,
``getBoundProfilePackage``, ``handleNotification`` install and enable. Its three
``handleDownloadProgressInfo`` callbacks go to a 204 receiver in a thread of its own.

Reported per flow: CPU of the thread that runs the event loop (the SM-DP+, its callback
sender; not the receiver), and exact counts from SQLAlchemy events on the engine:
statements (``before_cursor_execute``; ``executemany`` counts once) and transactions
(commit + rollback), overall and per request.

    .venv/bin/python -m bench.smdp_flow [--flows 400] [--postgres URL]

Works on an older tree too (``PYTHONPATH=<tree>/src``): it uses only ``create_app``,
``inventory`` and the migrations.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from mobileplans.apps.smdp.app import create_app
from mobileplans.config import Environment
from mobileplans.db import migrate
from mobileplans.db.engine import is_sqlite, make_engine
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import IccidRangeIn, OperatorSpec
from mobileplans.domains.smdp import inventory
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.kit.identifiers import eid_with_check_digits

OPERATOR = "contoso"
REQUESTER = "contoso-bss"
PROFILE_TYPE = "contoso-consumer"
RANGE = IccidRangeIn(
    environment=Environment.PRODUCTION, start="8901999000000000000", end="8901999099999999999"
)
SPEC = OperatorSpec.model_validate(
    {"id": OPERATOR, "brandName": "Contoso Cellular", "countries": ["US"],
     "environments": {"production": {"portalUrl": "https://portal.contoso.example/mp",
                                     "moBaseUrl": "https://api.contoso.example/v1"}},
     "iccidRanges": [{"environment": "production", "start": RANGE.start, "end": RANGE.end,
                      "kind": "full"}]}
)  # fmt: skip
STEPS = ("downloadOrder", "confirmOrder", "initiateDownload", "getBPP", "install", "enable")


class Receiver:
    """A 204 ``handleDownloadProgressInfo`` endpoint on a loop in a thread of its own."""

    def __init__(self) -> None:
        self.received = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def answer(request: web.Request) -> web.Response:
            await request.read()
            self.received += 1
            return web.Response(status=204)

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/cb", answer)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self) -> Receiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cb"


class Counts:
    """Statements and transactions on an engine, by the step that is running."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.step = "setup"
        self.statements: Counter[str] = Counter()
        self.transactions: Counter[str] = Counter()
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "commit", self._transaction)
        event.listen(sync, "rollback", self._transaction)

    def _statement(self, *_args: Any) -> None:
        self.statements[self.step] += 1

    def _transaction(self, *_args: Any) -> None:
        self.transactions[self.step] += 1


async def call(
    app: Any, path: str, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> Any:
    raw = orjson.dumps(body)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"smdp"), (b"content-length", str(len(raw)).encode()),
                    (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8702), "state": {},
    }  # fmt: skip
    sent = False
    status: list[int] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    data = b"".join(chunks)
    if status[0] not in (200, 204):
        raise RuntimeError(f"{path}: {status[0]} {data[:300]!r}")
    return orjson.loads(data) if data else None


_calls = itertools.count(1)
_ES2 = [(b"x-admin-protocol", b"gsma/rsp/v2.5.0")]


async def es2(app: Any, function: str, body: dict[str, Any]) -> dict[str, Any]:
    header = {
        "functionRequesterIdentifier": REQUESTER,
        "functionCallIdentifier": f"B-{next(_calls)}",
    }
    answer: dict[str, Any] = await call(
        app, f"/gsma/rsp2/es2plus/{function}", {"header": header, **body}, _ES2
    )
    if answer["header"]["functionExecutionStatus"]["status"] != "Executed-Success":
        raise RuntimeError(f"{function}: {answer}")
    return answer


async def flow(app: Any, counts: Counts) -> None:
    eid = eid_with_check_digits("8904903200000000000" + f"{secrets.randbelow(10**11):011d}")
    counts.step = "downloadOrder"
    order = await es2(app, "downloadOrder", {"eid": eid, "profileType": PROFILE_TYPE})
    iccid = order["iccid"]
    counts.step = "confirmOrder"
    confirmed = await es2(app, "confirmOrder", {"iccid": iccid, "eid": eid, "releaseFlag": True})
    counts.step = "initiateDownload"
    device = "/rsp/device/v1/"
    started = await call(app, device + "initiateDownload",
                         {"eid": eid, "matchingId": confirmed["matchingId"]}, [])  # fmt: skip
    tid = started["transactionId"]
    counts.step = "getBPP"
    await call(app, device + "getBoundProfilePackage", {"transactionId": tid}, [])
    for step in ("install", "enable"):
        counts.step = step
        note = {"transactionId": tid, "eid": eid, "iccid": iccid, "event": step, "success": True}
        await call(app, device + "handleNotification", note, [])
    counts.step = "between"


async def prepare(url: str, profiles: int, callback_url: str) -> AsyncEngine:
    engine = make_engine(url, process_name="bench-smdp", sqlite_on_loop=True)
    if not is_sqlite(url):
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await migrate.upgrade(engine)
    now = datetime.now(UTC)
    async with session_scope(make_sessionmaker(engine)) as session:
        await registry_service.put_operator(session, SPEC, actor="bench", now=now)
        await inventory.register_requester(
            session,
            requester_id=REQUESTER,
            operator_id=OPERATOR,
            callback_url=callback_url,
            now=now,
        )
        await inventory.generate_profiles(
            session, operator_id=OPERATOR, ranges=[RANGE], profile_type=PROFILE_TYPE,
            count=profiles, now=now, spn="Contoso", profile_name="Contoso consumer",
        )  # fmt: skip
    return engine


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-smdp-") as tmp, Receiver() as receiver:
        url = args.postgres or f"sqlite+aiosqlite:///{Path(tmp) / 'smdp.db'}"
        engine = await prepare(url, args.flows + args.warmup + 10, receiver.url)
        app = create_app(SmdpConfig(callback_backoff_seconds=0.05), make_sessionmaker(engine))
        counts = Counts(engine)
        for _ in range(args.warmup):
            await flow(app, counts)
        await app.state.callbacks.drain()
        counts.statements.clear()
        counts.transactions.clear()
        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        if profiler is not None:
            profiler.enable()
        cpu, wall, total = time.thread_time(), time.perf_counter(), time.process_time()
        for _ in range(args.flows):
            await flow(app, counts)
        await app.state.callbacks.drain()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        total = time.process_time() - total
        await app.state.callbacks.aclose()
        await engine.dispose()
        delivered = app.state.callbacks.delivered
    n = args.flows
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite (on the loop)'}; {n} flows")
    print(f"loop thread CPU per flow: {cpu / n * 1e3:.2f} ms   (process incl. receiver:"
          f" {total / n * 1e3:.2f} ms; wall {wall / n * 1e3:.2f} ms)")  # fmt: skip
    print(f"callbacks delivered: {delivered}  (expected {3 * (n + args.warmup)})")
    stmts, txs = sum(counts.statements.values()), sum(counts.transactions.values())
    print(f"statements per flow: {stmts / n:.2f}   transactions per flow: {txs / n:.2f}")
    for step in STEPS:
        print(f"  {step:17} statements {counts.statements[step] / n:5.2f}"
              f"   transactions {counts.transactions[step] / n:4.2f}")  # fmt: skip
    sys.stdout.flush()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--postgres", help="postgresql+asyncpg://… (its schema is dropped!)")
    parser.add_argument("--profile", help="write cProfile stats of the measured flows here")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
