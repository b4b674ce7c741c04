"""Fixtures shared by the worker tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.support import free_port

BALANCES = b'{"balances":[{"type":"MODIRECTPAYG","dataRemaininginMB":1.0,"timeRemaining":"P1D"}]}'


@pytest.fixture
async def fast_target() -> AsyncIterator[int]:
    """A minimal local operator: every portal and balances path answers at once."""

    async def portal(_request: web.Request) -> web.Response:
        return web.Response(text="<html>portal</html>", content_type="text/html")

    async def balances(_request: web.Request) -> web.Response:
        return web.Response(body=BALANCES, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{op}/portal", portal)
    app.router.add_get("/{op}/v1/sims/{sim}/balances", balances)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield port
    await runner.cleanup()
