"""The broker, the reference operator, the SM-DP+ and the console on real sockets on
127.0.0.1, seeded with ``mobileplans up``'s demo, served from a thread of their own for
schemathesis.

Why a thread and real sockets rather than schemathesis' ASGI transport: the ASGI
transport (Starlette's ``TestClient``) runs each request in an event loop of its own,
while the apps' engines (asyncpg above all) belong to the loop that created them; here
the apps, their engine and uvicorn share one loop in one thread, and schemathesis sends
plain HTTP over a socket, as any client of the project would (and as the CLI run of the
issue did). No worker runs: the generated requests are the only traffic.

``tls=True`` serves the four apps as ``mobileplans up --tls`` does: HTTPS from a local
CA, the operator's MO API requiring the broker's client certificate (spec 2.8), the
broker presenting it. The test process's trust store is left alone: clients here pass
``StackUrls.tls``'s CA file themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from mobileplans.apps.broker.app import create_app as create_broker
from mobileplans.apps.console.app import create_app as create_console
from mobileplans.apps.operator.app import create_app as create_operator
from mobileplans.apps.smdp.app import SmdpApp
from mobileplans.apps.smdp.app import create_app as create_smdp
from mobileplans.cli.demo_registry import Ports
from mobileplans.cli.tls import StackTls
from mobileplans.cli.up import operator_config, seed
from mobileplans.config import Settings, UrlPolicy
from mobileplans.db.base import Base
from mobileplans.db.engine import is_sqlite, make_engine
from mobileplans.db.session import make_sessionmaker
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.kit.certs import ensure_local_pki
from mobileplans.kit.clock import SystemClock
from mobileplans.web.server import Listener, listening_socket, make_server
from tests.simulator.stack import free_port_block

ADMIN_TOKEN = "api-fuzz-admin-token"
SESSION_SECRET = "api-fuzz-session-secret-0123456789abcdef"
CONSOLE_SECRET = "api-fuzz-console-secret-0123456789abcdef"
READY_SECONDS = 60.0
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class StackUrls:
    broker: str
    operator: str
    smdp: str
    console: str = ""
    database_url: str = ""
    tls: StackTls | None = None


class ApiStack:
    """``with ApiStack(url, data_dir) as urls:`` serves the four apps until the block ends."""

    def __init__(self, database_url: str, data_dir: Path, *, tls: bool = False) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.tls = local_tls(data_dir / "pki") if tls else None
        base = free_port_block(4)
        self.ports = Ports("127.0.0.1", base, "https" if tls else "http")
        self.sockets = [listening_socket("127.0.0.1", base + i) for i in range(4)]
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="api-fuzz-stack", daemon=True)

    def __enter__(self) -> StackUrls:
        self._thread.start()
        if not self._ready.wait(READY_SECONDS) or self._failure is not None:
            self.__exit__(None, None, None)
            raise RuntimeError("the API stack did not start") from self._failure
        ports = self.ports
        return StackUrls(
            ports.broker, ports.operator, ports.smdp, ports.console, self.database_url, self.tls
        )

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        for sock in self.sockets:
            sock.close()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test thread by __enter__
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        engine = make_engine(self.database_url, process_name="api-fuzz")
        sessions = make_sessionmaker(engine)
        try:
            await seed(sessions, self.ports)
            servers, smdp = self._servers(sessions)
            tasks = [
                asyncio.create_task(s.serve(sockets=[sock]))
                for s, sock in zip(servers, self.sockets, strict=True)
            ]
            while not all(s.started for s in servers):
                if any(t.done() for t in tasks):
                    await asyncio.gather(*tasks)
                    raise RuntimeError("a server stopped while starting")
                await asyncio.sleep(0.02)
            self._ready.set()
            await self._stop.wait()
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await smdp.state.callbacks.aclose()
        finally:
            if not is_sqlite(self.database_url):
                names = ", ".join(t.name for t in Base.metadata.sorted_tables)
                async with engine.begin() as connection:
                    await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await engine.dispose()

    def _servers(self, sessions: Sessions) -> tuple[list[uvicorn.Server], SmdpApp]:
        settings = Settings(
            data_dir=self.data_dir, database_url=self.database_url, url_policy=UrlPolicy.LOCAL
        )
        tls = self.tls
        if tls is not None:
            settings = tls.broker_settings(settings)
        smdp = SmdpConfig(address=self.ports.smdp_address, public_base_url=self.ports.smdp)
        smdp_app = create_smdp(smdp, sessions)
        operator = operator_config(self.ports, SESSION_SECRET, tls)
        apps: list[tuple[str, ASGIApp, ssl.SSLContext | None]] = [
            (
                "broker",
                create_broker(settings, sessions, admin_token=ADMIN_TOKEN),
                tls.server_context() if tls else None,
            ),
            (
                "operator",
                create_operator(operator, sessions),
                tls.server_context(client_ca=True) if tls else None,
            ),
            ("smdp", smdp_app, tls.server_context() if tls else None),
            (
                "console",
                create_console(
                    settings,
                    sessions,
                    admin_token=ADMIN_TOKEN,
                    session_secret=CONSOLE_SECRET,
                    secure_cookies=tls is not None,
                ),
                tls.server_context() if tls else None,
            ),
        ]
        servers = [
            make_server(Listener(name, app, "127.0.0.1", self.ports.base + i, ssl_context=context))
            for i, (name, app, context) in enumerate(apps)
        ]
        return servers, smdp_app


def local_tls(directory: Path) -> StackTls:
    """``up --tls``'s local PKI without ``prepare_tls``'s process-wide ``SSL_CERT_FILE``."""
    pki = ensure_local_pki(directory, now=SystemClock().now())
    return StackTls(pki=pki, trust_bundle=pki.ca.cert_file)


@contextlib.contextmanager
def serving(database_url: str, data_dir: Path) -> Iterator[StackUrls]:
    with ApiStack(database_url, data_dir) as urls:
        yield urls
