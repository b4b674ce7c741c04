"""The servers keep idle connections longer than clients do (no reuse race)."""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send

from mobileplans.web.server import KEEP_ALIVE_SECONDS, Listener, make_server
from tests.support import free_port


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_a_connection_idle_longer_than_httpx_keeps_it_is_still_served() -> None:
    assert KEEP_ALIVE_SECONDS > 15  # longer than httpx's (5 s) and aiohttp's (15 s) expiry
    port = free_port()
    server = make_server(Listener("t", _ok, "127.0.0.1", port))
    assert server.config.timeout_keep_alive == KEEP_ALIVE_SECONDS
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # the server starts in a few milliseconds
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
    try:
        for turn in range(2):
            if turn:
                await asyncio.sleep(5.5)  # idle past uvicorn's default keep-alive of 5 s
            writer.write(request)  # the second request reuses the idle connection
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            assert await reader.readexactly(2) == b"ok"
    finally:
        writer.close()
        server.should_exit = True
        await task
