from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mobileplans.apps.smdp.app import SmdpApp, create_app
from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import CONFIG, CallbackServer, Sessions, World, seed


@pytest.fixture
async def callback_server() -> AsyncIterator[CallbackServer]:
    async with CallbackServer() as server:
        yield server


@pytest.fixture
async def smdp(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[SmdpApp]:
    app = create_app(CONFIG, sessions, clock=clock)
    yield app
    await app.state.callbacks.aclose()


@pytest.fixture
async def client(smdp: SmdpApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=smdp)
    async with httpx.AsyncClient(transport=transport, base_url="http://smdp") as http:
        yield http


@pytest.fixture
async def world(sessions: Sessions, clock: FrozenClock, callback_server: CallbackServer) -> World:
    return await seed(sessions, clock, callback_url=callback_server.url)
