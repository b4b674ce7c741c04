"""Run several ASGI apps in one event loop, stopping them together on SIGINT/SIGTERM; and
N processes of one part on one port (:func:`run_prefork`, ``serve PART --workers N``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import sys
import traceback
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import uvicorn
import uvloop
from starlette.types import ASGIApp

from mobileplans.web.tls import TlsHttpToolsProtocol

T = TypeVar("T")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve_all`."""

    sockets_given: list[socket.socket] | None = None

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
    sock: socket.socket | None = None
    """A socket already bound and listening (shared by the processes of ``--workers``)."""


KEEP_ALIVE_SECONDS = 75
"""How long an idle keep-alive connection stays open. Longer than the clients' own idle
expiry (httpx 5 s, aiohttp 15 s), so a client never reuses a connection the server is
closing at that moment (uvicorn's default of 5 s races httpx's: seen as ``ReadError`` on
about 2 % of flows with 50 devices), and as long as common load balancers' idle timeout."""


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
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        lifespan="on",
        ssl_keyfile=listener.ssl_keyfile,
        ssl_certfile=listener.ssl_certfile,
        ssl_ca_certs=listener.ssl_ca_certs,
        ssl_cert_reqs=listener.ssl_cert_reqs,
    )
    server = _Server(config)
    server.sockets_given = [listener.sock] if listener.sock is not None else None
    return server


async def serve_all(servers: list[uvicorn.Server], stop: asyncio.Event | None = None) -> None:
    """Serve until a signal (or ``stop``) arrives, then shut every server down gracefully."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(s.serve(sockets=getattr(s, "sockets_given", None))) for s in servers
    ]
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


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """Bind and listen once, before the processes start (a busy port fails here, once)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def _child(run: Callable[[], object]) -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    try:
        run()
    except KeyboardInterrupt:
        return 0
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def run_prefork(count: int, run: Callable[[], object]) -> int:
    """Fork ``count`` processes that each call ``run()`` (serving a socket bound before the
    fork, which the kernel hands connections from), forward SIGINT/SIGTERM to them and
    wait. If one exits on its own, the others are stopped too and the exit status is 1:
    the process manager above (systemd, a container runtime) restarts the whole part.
    Returns the exit status. POSIX only (``os.fork``); call it before any event loop,
    thread or database connection exists in this process."""
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the child never returns into the caller
            sys.stdout.flush()
            os._exit(_child(run))
        children.append(pid)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    status = 0
    alive = set(children)
    while alive:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # pragma: no cover (PEP 475 retries)
            continue
        alive.discard(pid)
        if not stopping:
            status = 1
            stop(signal.SIGTERM, None)
        elif os.waitstatus_to_exitcode(code) not in (0, -signal.SIGTERM):
            status = 1
    return status
