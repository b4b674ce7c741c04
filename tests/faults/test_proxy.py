"""The fault proxy itself: each mode seen by a real client through a real socket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.faults.proxy import Fault, FaultProxy, ProxyThread

BODY = json.dumps({"balances": [{"type": "DATA", "dataRemainingInMB": 512}]}).encode()


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A tiny HTTP/1.1 server: one JSON answer per request, keep-alive unless asked not to."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            close = b"connection: close" in head.lower()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
                + BODY
            )
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_answer, "127.0.0.1", 0)
    upstream_port = server.sockets[0].getsockname()[1]
    async with FaultProxy(upstream_port) as proxy:
        yield proxy
    server.close()
    await server.wait_closed()


async def _get(proxy: FaultProxy, wait: float = 5.0, scheme: str = "http") -> httpx.Response:
    async with httpx.AsyncClient(timeout=wait) as client:
        return await client.get(f"{proxy.url(scheme)}/balances")


async def test_pass_forwards_the_answer_untouched(proxy: FaultProxy) -> None:
    response = await _get(proxy)
    assert response.status_code == 200
    assert response.content == BODY
    assert response.headers["content-type"] == "application/json"
    assert proxy.forwarded == 1


async def test_refuse_drops_the_connection_without_calling_upstream(proxy: FaultProxy) -> None:
    proxy.set(Fault.REFUSE)
    with pytest.raises(httpx.TransportError):
        await _get(proxy)
    assert proxy.accepted >= 1
    assert proxy.forwarded == 0


async def test_reset_ends_the_answer_with_a_reset_after_n_bytes(proxy: FaultProxy) -> None:
    proxy.set(Fault.RESET, reset_after=20)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    received = await reader.readexactly(20)
    with pytest.raises(ConnectionResetError):
        await reader.read(1024)
    assert received == b"HTTP/1.1 200 OK\r\nCon"  # 20 bytes, then RST (not a clean EOF)
    writer.close()


async def test_delay_holds_the_answer_past_the_callers_timeout(proxy: FaultProxy) -> None:
    proxy.set(Fault.DELAY, delay_seconds=3)
    with pytest.raises(httpx.ReadTimeout):
        await _get(proxy, wait=0.3)
    proxy.set(Fault.DELAY, delay_seconds=0)
    assert (await _get(proxy)).content == BODY


async def test_truncate_cuts_the_body_short_of_its_length(proxy: FaultProxy) -> None:
    proxy.set(Fault.TRUNCATE, truncate_after=5)
    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|peer closed"):
        await _get(proxy)


async def test_garbage_answers_random_bytes_and_never_calls_upstream(proxy: FaultProxy) -> None:
    proxy.set(Fault.GARBAGE, garbage_bytes=200)
    with pytest.raises(httpx.TransportError):
        await _get(proxy)
    assert proxy.forwarded == 0


async def test_wrong_type_rewrites_only_the_content_type(proxy: FaultProxy) -> None:
    proxy.set(Fault.WRONG_TYPE)
    response = await _get(proxy)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == BODY


async def test_bad_tls_presents_a_certificate_from_no_trusted_ca(proxy: FaultProxy) -> None:
    proxy.set(Fault.BAD_TLS)
    with pytest.raises(httpx.ConnectError) as caught:
        await _get(proxy, scheme="https")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert proxy.forwarded == 0


async def test_the_mode_switches_back_to_pass_at_runtime(proxy: FaultProxy) -> None:
    proxy.set(Fault.REFUSE)
    with pytest.raises(httpx.TransportError):
        await _get(proxy)
    proxy.set(Fault.PASS)
    assert (await _get(proxy)).content == BODY


async def test_raw_mode_pipes_a_conversation_and_truncates_from_the_first_byte() -> None:
    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hello there\r\n")
        line = await reader.readline()
        writer.write(b"250 " + line)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    async with FaultProxy(server.sockets[0].getsockname()[1], http=False) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert await reader.readline() == b"220 hello there\r\n"
        writer.write(b"EHLO me\r\n")
        assert await reader.readline() == b"250 EHLO me\r\n"
        writer.close()
        proxy.set(Fault.TRUNCATE, truncate_after=4)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert await reader.read() == b"220 "
        writer.close()
    server.close()


async def test_unknown_knob_is_refused(proxy: FaultProxy) -> None:
    with pytest.raises(AttributeError):
        proxy.set(Fault.DELAY, delay_sconds=1)


def test_the_threaded_proxy_serves_blocking_callers() -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threaded = ProxyThread(server.server_address[1])
    try:
        url = threaded.proxy.url()
        assert httpx.get(url, timeout=5).content == BODY
        threaded.set(Fault.REFUSE)
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=5)
    finally:
        threaded.close()
        server.shutdown()
        server.server_close()
