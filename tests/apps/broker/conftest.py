from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import BrokerApp, create_app
from mobileplans.config import Settings
from mobileplans.kit.clock import FrozenClock
from tests.support import operator_data

TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def broker(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> BrokerApp:
    app = create_app(settings, sessions, admin_token=TOKEN, clock=clock)
    await app.state.refresh()
    return app


@pytest.fixture
async def client(broker: BrokerApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=broker)
    async with httpx.AsyncClient(transport=transport, base_url="http://broker") as http:
        yield http


async def put_operator(client: httpx.AsyncClient, **kwargs: Any) -> httpx.Response:
    data = operator_data(**kwargs)
    response = await client.put(f"/v1/admin/operators/{data['id']}", json=data, headers=ADMIN)
    assert response.status_code in (200, 201), response.text
    return response


@pytest.fixture
async def world(client: httpx.AsyncClient) -> None:
    """Contoso (US), Fabrikam (GB, FR), Zephyr (US, staging+production), Acme (US, disabled)."""
    await put_operator(client, environments=("staging", "production"))
    await put_operator(
        client,
        operator_id="fabrikam",
        brand="Fabrikam Mobile",
        countries=["GB", "FR"],
        prefix="8944999",
    )
    await put_operator(
        client,
        operator_id="zephyr",
        brand="Zephyr",
        prefix="8901888",
        environments=("staging", "production"),
    )
    acme = operator_data("acme", brand="Acme", prefix="8901777")
    acme["environments"]["production"]["enabled"] = False
    response = await client.put("/v1/admin/operators/acme", json=acme, headers=ADMIN)
    assert response.status_code == 201
