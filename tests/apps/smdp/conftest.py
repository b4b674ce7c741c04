from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mobileplans.apps.smdp.app import SmdpApp, create_app
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker
from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import CONFIG, CallbackServer, Sessions, World, seed


@pytest.fixture
async def callback_server() -> AsyncIterator[CallbackServer]:
    async with CallbackServer() as server:
        yield server


@pytest.fixture
async def smdp(database_url: str, clock: FrozenClock) -> AsyncIterator[SmdpApp]:
    """The app on the engine ``serve`` makes (on SQLite the on-loop driver), so its routes
    and callback sender run the driver kind of transaction on both databases (D295)."""
    engine = make_engine(database_url, process_name="tests-smdp", sqlite_on_loop=True)
    app = create_app(CONFIG, make_sessionmaker(engine), clock=clock)
    yield app
    await app.state.callbacks.aclose()
    await engine.dispose()


@pytest.fixture
async def client(smdp: SmdpApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=smdp)
    async with httpx.AsyncClient(transport=transport, base_url="http://smdp") as http:
        yield http


@pytest.fixture
async def world(sessions: Sessions, clock: FrozenClock, callback_server: CallbackServer) -> World:
    return await seed(sessions, clock, callback_url=callback_server.url)
