"""Run several ASGI apps in one event loop, stopping them together on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import uvicorn
import uvloop
from starlette.types import ASGIApp

from mobileplans.web.tls import TlsHttpToolsProtocol

T = TypeVar("T")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve_all`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Listener:
    name: str
    app: ASGIApp
    host: str
    port: int
    ssl_keyfile: str | None = None
    ssl_certfile: str | None = None
    ssl_ca_certs: str | None = None
    ssl_cert_reqs: int = 0
    ssl_context: ssl.SSLContext | None = None
    """A ready TLS context (e.g. ``web.tls.server_ssl_context``); wins over ``ssl_*`` files."""


def make_server(listener: Listener) -> uvicorn.Server:
    """A uvicorn server for ``listener``; TLS requests carry the ASGI TLS extension."""
    context = listener.ssl_context
    config = uvicorn.Config(
        listener.app,
        host=listener.host,
        port=listener.port,
        loop="uvloop",
        http=TlsHttpToolsProtocol,
        ssl_context_factory=(lambda _config, _default: context) if context else None,
        access_log=False,
        log_level="warning",
        lifespan="on",
        ssl_keyfile=listener.ssl_keyfile,
        ssl_certfile=listener.ssl_certfile,
        ssl_ca_certs=listener.ssl_ca_certs,
        ssl_cert_reqs=listener.ssl_cert_reqs,
    )
    return _Server(config)


async def serve_all(servers: list[uvicorn.Server], stop: asyncio.Event | None = None) -> None:
    """Serve until a signal (or ``stop``) arrives, then shut every server down gracefully."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    waiter.cancel()
    for task in done:
        if task is not waiter and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def run_servers_forever(main: Coroutine[Any, Any, T]) -> T:
    """Run a long-lived server process on uvloop (uvicorn's ``loop="uvloop"`` applies only
    when uvicorn makes the loop itself; ``serve_all`` runs inside ours)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
