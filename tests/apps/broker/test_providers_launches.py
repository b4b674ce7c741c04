"""Launch records of ``GET /v1/providers`` are stored before the answer goes out, in
batches (decision D93): a reader that runs after the device got its answer, in this
broker or in another replica, finds every ``transactionId`` handed out."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import BrokerApp, create_app
from mobileplans.apps.broker.launch_store import SqliteLaunchStore
from mobileplans.config import Settings
from mobileplans.db.models import PortalLaunch
from mobileplans.db.session import session_scope
from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import TOKEN

EID = "89033023422130000000000199055797"
Sessions = async_sessionmaker[AsyncSession]

pytestmark = pytest.mark.usefixtures("world")


def report(transaction_id: str) -> dict[str, str]:
    """Purchase telemetry without ``operatorId``: the broker looks the launch up."""
    return {
        "transactionId": transaction_id,
        "callback": "MobilePlansInlineOperations.notifyProfileDownload",
        "userAccount": "new",
        "purchaseInstrument": "New",
        "lineType": "NEW",
        "modirectStatus": "complete",
        "planName": "Contoso 5 GB",
    }


async def stored(sessions: Sessions) -> int:
    async with session_scope(sessions) as session:
        return int(await session.scalar(select(func.count()).select_from(PortalLaunch)) or 0)


async def test_concurrent_requests_share_transactions_and_every_launch_is_readable_at_once(
    client: httpx.AsyncClient, broker: BrokerApp, sessions: Sessions
) -> None:
    before = broker.state.launches.batches

    async def open_app() -> list[tuple[str, str]]:
        response = await client.get("/v1/providers", params={"location": "US", "eid": EID})
        assert response.status_code == 200
        handed = [(p["transactionId"], p["moId"]) for p in response.json()["providers"]]
        # The same process reads the launch right after the answer (purchase telemetry).
        answer = await client.post("/v1/telemetry/purchase", json=report(handed[0][0]))
        assert answer.status_code == 201, answer.text
        assert answer.json()["operatorId"] == handed[0][1]
        return handed

    requests = 40
    handed = [
        pair
        for pairs in await asyncio.gather(*[open_app() for _ in range(requests)])
        for pair in pairs
    ]
    assert len(handed) == requests * 2  # Contoso and Zephyr serve the US
    assert await stored(sessions) == len(handed)
    assert broker.state.launches.batches - before < requests  # batched, not one per request


async def test_another_replica_finds_the_launch_as_soon_as_the_device_has_it(
    client: httpx.AsyncClient,
    settings: Settings,
    sessions: Sessions,
    clock: FrozenClock,
) -> None:
    other = create_app(settings, sessions, admin_token=TOKEN, clock=clock)
    await other.state.refresh()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://other"
    ) as replica:
        for _ in range(5):
            body = (await client.get("/v1/providers", params={"location": "GB"})).json()
            [provider] = body["providers"]
            answer = await replica.post(
                "/v1/telemetry/purchase", json=report(provider["transactionId"])
            )
            assert answer.status_code == 201
            assert answer.json()["operatorId"] == "fabrikam"


async def test_a_batch_is_stored_whole_or_not_at_all(broker: BrokerApp, sessions: Sessions) -> None:
    """The launch store's batch is one transaction (SQLite: the writer thread's; PostgreSQL:
    one atomic executemany): a duplicate stores none of its batch, and the store goes on."""
    now = broker.state.clock.now()

    def row(transaction_id: str) -> dict[str, object]:
        return {
            "transaction_id": transaction_id,
            "created_at": now,
            "operator_id": "contoso",
            "environment": "production",
            "location": "US",
            "market": "US",
            "imei": None,
            "eid": EID,
            "iccid": None,
            "iccids": [],
            "portal_url": "https://portal.contoso.example/mobileplans?transactionId=x",
        }

    store = broker.state.launch_store
    await store([row("first.1")])
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await store([row("second.1"), row("first.1"), row("third.1")])
    await store([row("fourth.1")])
    async with session_scope(sessions) as session:
        kept = set((await session.scalars(select(PortalLaunch.transaction_id))).all())
    assert kept == {"first.1", "fourth.1"}
    await broker.state.close_launches()


async def test_on_sqlite_a_locked_file_is_waited_for_without_stopping_the_loop(
    broker: BrokerApp, sessions: Sessions
) -> None:
    """Another writer holds SQLite's write lock: the batch waits (awaited pauses, the
    event loop keeps running) and is stored once the lock is released."""
    store = broker.state.launch_store
    if not isinstance(store, SqliteLaunchStore):
        pytest.skip("SQLite only: PostgreSQL writers do not share one lock")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        pending = asyncio.create_task(
            client_free_request(broker, {"location": "US", "eid": EID}),
        )
        turns = 0
        while turns < 50 and not pending.done():
            await asyncio.sleep(0.002)  # the loop keeps turning while the batch waits
            turns += 1
        assert turns == 50
        assert not pending.done()
    finally:
        other.execute("COMMIT")
        other.close()
    body = await pending
    ids = {p["transactionId"] for p in body["providers"]}
    async with session_scope(sessions) as session:
        stored = set((await session.scalars(select(PortalLaunch.transaction_id))).all())
    assert ids <= stored
    await broker.state.close_launches()


async def client_free_request(broker: BrokerApp, params: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=broker), base_url="http://b"
    ) as http:
        response = await http.get("/v1/providers", params=params)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body
