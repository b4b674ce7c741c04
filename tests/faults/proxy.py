"""A fault proxy: a real TCP socket on 127.0.0.1 between two real processes (issue #11).

``FaultProxy(upstream_port)`` listens on a free port and forwards every connection to
``127.0.0.1:upstream_port``. Its ``mode`` can be switched at any moment; each new
connection is served in the mode current when it was accepted:

==============  =============================================================================
``PASS``        forward both ways untouched
``REFUSE``      accept, then close at once with a reset (the caller sees a dropped connection)
``RESET``       forward, but after ``reset_after`` bytes of the answer end with a TCP RST
                (``SO_LINGER`` 0)
``DELAY``       wait ``delay_seconds`` before forwarding anything
``TRUNCATE``    forward the answer's head and ``truncate_after`` bytes of its body, then close
                cleanly (FIN): the body is shorter than its ``Content-Length``
``GARBAGE``     answer ``garbage_bytes`` random bytes (after reading the request head, for
                HTTP), then close; the upstream is never called
``WRONG_TYPE``  forward, but rewrite the answer's ``Content-Type`` to ``text/html``
``BAD_TLS``     terminate TLS with a self-signed certificate from no CA the caller trusts
==============  =============================================================================

With ``http=True`` (the default) the proxy reads the request head and sends it on with
``Connection: close``, so one connection carries one exchange and a rewritten answer is
never followed by untouched ones on the same connection. With ``http=False`` (SMTP, any
other protocol) bytes are piped as they come; ``TRUNCATE`` and ``RESET`` count from the
first byte the server sends, ``GARBAGE`` is sent as the greeting.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import struct
import tempfile
import threading
from contextlib import suppress
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from mobileplans.kit.certs import issue_server, make_ca

HEAD_END = b"\r\n\r\n"
HEAD_LIMIT = 64 * 1024


class Fault(StrEnum):
    PASS = "pass"
    REFUSE = "refuse"
    RESET = "reset"
    DELAY = "delay"
    TRUNCATE = "truncate"
    GARBAGE = "garbage"
    WRONG_TYPE = "wrong_type"
    BAD_TLS = "bad_tls"


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 from a throwaway CA nobody trusts."""
    now = datetime.now(UTC)
    files = issue_server(make_ca("CN=Untrusted Fault CA", now=now), now=now).write(
        directory, "untrusted"
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert_file, files.key_file)
    return context


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST rather than a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _rewrite_request_head(head: bytes) -> bytes:
    lines = head[: -len(HEAD_END)].split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*kept, b"Connection: close"]) + HEAD_END


def _rewrite_content_type(head: bytes) -> bytes:
    lines = head[: -len(HEAD_END)].split(b"\r\n")
    kept = [line for line in lines if not line.lower().startswith(b"content-type:")]
    return b"\r\n".join([*kept, b"Content-Type: text/html; charset=utf-8"]) + HEAD_END


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(HEAD_END)
    except asyncio.IncompleteReadError as exc:
        return exc.partial
    except asyncio.LimitOverrunError:
        return await reader.read(HEAD_LIMIT)


class FaultProxy:
    """Start with ``await proxy.start()`` (or ``async with``); ``proxy.port`` is its port."""

    def __init__(self, upstream_port: int, *, upstream_host: str = "127.0.0.1", http: bool = True):
        self.upstream = (upstream_host, upstream_port)
        self.http = http
        self.mode = Fault.PASS
        self.reset_after = 16
        self.truncate_after = 8
        self.delay_seconds = 5.0
        self.garbage_bytes = 64
        self.accepted = 0
        self.forwarded = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._tls_dir = tempfile.TemporaryDirectory(prefix="fault-tls-")
        self._bad_tls: ssl.SSLContext | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start the proxy first"
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def set(self, mode: Fault, **knobs: float) -> None:
        """Switch the mode (and knobs such as ``reset_after``) for the next connections."""
        for name, value in knobs.items():
            if not hasattr(self, name):
                raise AttributeError(name)
            setattr(self, name, type(getattr(self, name))(value))
        self.mode = mode

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self._tls_dir.cleanup()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.accepted += 1
        try:
            await self._serve(self.mode, reader, writer)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # stop(): end quietly (3.11's streams would log the
            pass  # cancelled handler task's CancelledError as an error)
        finally:
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.close()

    async def _serve(
        self, mode: Fault, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if mode is Fault.REFUSE:
            _abort(writer)
            return
        if mode is Fault.BAD_TLS:
            if self._bad_tls is None:
                self._bad_tls = self_signed_context(Path(self._tls_dir.name))
            await writer.start_tls(self._bad_tls)  # the caller's verification refuses it
            return
        if mode is Fault.DELAY:
            await asyncio.sleep(self.delay_seconds)
        head = await _read_head(reader) if self.http else b""
        if mode is Fault.GARBAGE:
            writer.write(os.urandom(self.garbage_bytes))
            await writer.drain()
            return
        await self._forward(mode, head, reader, writer)

    async def _forward(
        self, mode: Fault, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self.forwarded += 1
        if head:
            up_writer.write(_rewrite_request_head(head) if head.endswith(HEAD_END) else head)
        upward = asyncio.create_task(_pipe(reader, up_writer))
        try:
            await self._answer(mode, up_reader, writer)
        finally:
            upward.cancel()
            await asyncio.gather(upward, return_exceptions=True)
            up_writer.close()

    async def _answer(
        self, mode: Fault, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Send the upstream's answer down, altered as ``mode`` says."""
        budget: int | None = None
        if mode is Fault.RESET:
            budget = self.reset_after
        if self.http and mode in (Fault.TRUNCATE, Fault.WRONG_TYPE):
            answer_head = await _read_head(up_reader)
            if mode is Fault.WRONG_TYPE and answer_head.endswith(HEAD_END):
                answer_head = _rewrite_content_type(answer_head)
            writer.write(answer_head)
        if mode is Fault.TRUNCATE:
            budget = self.truncate_after
        sent = 0
        while budget is None or sent < budget:
            chunk = await up_reader.read(65536 if budget is None else budget - sent)
            if not chunk:
                break
            writer.write(chunk)
            sent += len(chunk)
            await writer.drain()
        if mode is Fault.RESET:
            _abort(writer)
            return
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(OSError, ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()


class ProxyThread:
    """A ``FaultProxy`` on an event loop of its own thread, for tests that block."""

    def __init__(self, upstream_port: int, *, http: bool = True) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.proxy = FaultProxy(upstream_port, http=http)
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(10)

    def set(self, mode: Fault, **knobs: float) -> None:
        self.proxy.set(mode, **knobs)  # plain attributes: read by the next connection

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
