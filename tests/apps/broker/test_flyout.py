"""The broker's GetBalance proxy against an operator on a real socket, and purchase telemetry."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import BrokerApp, create_app
from mobileplans.apps.broker.launch_store import make_launch_store
from mobileplans.config import Settings
from mobileplans.db.engine import make_engine
from mobileplans.db.errors import DatabaseUnavailable
from mobileplans.db.models import BalanceLookup, PurchaseTelemetry
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.balance.mo_client import MoApiClient
from mobileplans.domains.balance.service import BalanceProxy
from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import ADMIN, TOKEN
from tests.controllable_operator import ControllableOperator
from tests.support import free_port, operator_data, valid_iccid

# what a flush raises with the database file out of reach: SQLAlchemy's error through a
# session, the plain driver's on SQLite's batch connection, or the outage it becomes
UNREACHABLE = (OperationalError, sqlite3.OperationalError, DatabaseUnavailable)

SIM = valid_iccid("890199900000000001")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def operator() -> AsyncIterator[ControllableOperator]:
    mo = await ControllableOperator().start()
    yield mo
    await mo.stop()


@pytest.fixture
async def proxy_client(
    settings: Settings, database_url: str, clock: FrozenClock, operator: ControllableOperator
) -> AsyncIterator[tuple[httpx.AsyncClient, BrokerApp]]:
    """The broker on the engine ``serve`` makes (on SQLite the on-loop driver): the
    purchase report's transaction is on the driver on both databases (D297)."""
    local = settings.model_copy(update={"url_policy": "local", "balance_timeout_seconds": 0.5})
    engine = make_engine(database_url, process_name="tests-broker", sqlite_on_loop=True)
    broker = create_app(local, make_sessionmaker(engine), admin_token=TOKEN, clock=clock)
    await broker.state.refresh()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=broker), base_url="http://b"
    ) as http:
        data = operator_data(environments=("production",))
        data["environments"]["production"]["moBaseUrl"] = operator.base_url
        data["environments"]["production"]["portalUrl"] = (
            f"http://127.0.0.1:{operator.port}/portal/"
        )
        assert (
            await http.put("/v1/admin/operators/contoso", json=data, headers=ADMIN)
        ).status_code == 201
        yield http, broker
    await broker.state.balances.client.close()
    await broker.state.close_launches()
    await engine.dispose()


async def lookups(sessions: Sessions) -> list[tuple[str, int | None]]:
    async with session_scope(sessions) as session:
        rows = (await session.scalars(select(BalanceLookup).order_by(BalanceLookup.id))).all()
    return [(r.outcome, r.status_code) for r in rows]


class TestBalanceProxy:
    async def test_proxies_with_a_fresh_transaction_id_and_answers_the_flyout(
        self, proxy_client: tuple[httpx.AsyncClient, BrokerApp], operator: ControllableOperator
    ) -> None:
        http, _ = proxy_client
        response = await http.get("/v1/balances", params={"iccid": SIM, "location": "us"})
        assert response.status_code == 200
        body = response.json()
        assert body["balances"][0]["type"] == "MODIRECTPAYG"
        assert body["flyout"] == {
            "action": "viewMyAccount",
            "balanceText": "1.5 GB left, 23 days",
            "mobilePlansEnabled": True,
        }
        [sent] = operator.requests
        assert sent["path"] == f"/v1/sims/iccid:{SIM}/balances"
        assert sent["query"] == {"fieldsTemplate": "basic", "location": "US"}
        header = sent["headers"]["X-MS-DM-TransactionId"]
        assert header.startswith('"MSFT-')
        assert header.endswith('"')
        assert header.strip('"') == body["msTransactionId"]

    @pytest.mark.parametrize(
        ("balance", "action", "enabled"),
        [
            (
                {"type": "NONE", "dataRemaininginMB": 0, "timeRemaining": "PT0S"},
                "connectWithDataPlan",
                True,
            ),
            (
                {"type": "MODIRECT", "dataRemaininginMB": 10, "timeRemaining": "P1D"},
                "viewMyAccount",
                True,
            ),
            (
                {"TYPE": "notsupported", "DataRemainingInMB": 0, "timeRemaining": "PT0S"},
                "viewMyAccount",
                False,
            ),
        ],
    )
    async def test_flyout_follows_the_balance_type(
        self,
        proxy_client: tuple[httpx.AsyncClient, BrokerApp],
        operator: ControllableOperator,
        balance: dict[str, object],
        action: str,
        enabled: bool,
    ) -> None:
        operator.body = {"Balances": [balance]}
        body = (await proxy_client[0].get("/v1/balances", params={"iccid": SIM})).json()
        assert body["flyout"]["action"] == action
        assert "balanceText" not in body["flyout"]  # absent: nothing to show
        assert body["flyout"]["mobilePlansEnabled"] is enabled

    async def test_answers_are_cached_until_the_ttl_passes(
        self,
        proxy_client: tuple[httpx.AsyncClient, BrokerApp],
        operator: ControllableOperator,
        clock: FrozenClock,
    ) -> None:
        http, broker = proxy_client
        first = (await http.get("/v1/balances", params={"iccid": SIM})).json()
        second = (await http.get("/v1/balances", params={"iccid": SIM})).json()
        assert (first["cached"], second["cached"], len(operator.requests)) == (False, True, 1)
        clock.advance(timedelta(seconds=broker.state.settings.balance_cache_seconds + 1))
        assert (await http.get("/v1/balances", params={"iccid": SIM})).json()["cached"] is False
        assert len(operator.requests) == 2

    async def test_retry_after_is_honoured(
        self,
        proxy_client: tuple[httpx.AsyncClient, BrokerApp],
        operator: ControllableOperator,
        clock: FrozenClock,
    ) -> None:
        http, _ = proxy_client
        operator.mode, operator.retry_after = "ratelimit", 30
        first = await http.get("/v1/balances", params={"iccid": SIM})
        assert first.status_code == 503
        assert first.headers["Retry-After"] == "30"
        clock.advance(timedelta(seconds=10))
        held = await http.get("/v1/balances", params={"iccid": SIM})
        assert held.status_code == 503
        assert held.headers["Retry-After"] == "20"
        assert len(operator.requests) == 1  # no call while held back
        operator.mode = "healthy"
        clock.advance(timedelta(seconds=21))
        assert (await http.get("/v1/balances", params={"iccid": SIM})).status_code == 200

    @pytest.mark.parametrize(
        ("mode", "status", "expected", "outcome"),
        [
            ("status", 404, 404, "http_error"),
            ("status", 500, 502, "http_error"),
            ("status", 401, 502, "http_error"),
            ("garbage", 200, 502, "bad_body"),
        ],
    )
    async def test_operator_errors_become_clear_problems(
        self,
        proxy_client: tuple[httpx.AsyncClient, BrokerApp],
        operator: ControllableOperator,
        sessions: Sessions,
        mode: str,
        status: int,
        expected: int,
        outcome: str,
    ) -> None:
        http, broker = proxy_client
        operator.mode, operator.status = mode, status
        response = await http.get("/v1/balances", params={"iccid": SIM})
        assert response.status_code == expected
        assert response.headers["content-type"] == "application/problem+json"
        assert await broker.state.flush_lookups() == 1
        assert await lookups(sessions) == [(outcome, status)]

    async def test_call_records_wait_out_a_database_outage(
        self,
        proxy_client: tuple[httpx.AsyncClient, BrokerApp],
        sessions: Sessions,
        tmp_path: Path,
    ) -> None:
        """A flush that fails keeps its records for the next one (D288): nothing is lost
        while the database is away, and they are written once when it is back."""
        http, broker = proxy_client
        for location in ("US", "FR"):
            response = await http.get("/v1/balances", params={"iccid": SIM, "location": location})
            assert response.status_code == 200
        unreachable = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'mp.db'}")
        # both writers the flush may use: the session (PostgreSQL) and, on SQLite, the
        # launch records' connection (D299)
        broker.state.sessions = make_sessionmaker(unreachable)
        kept_store, broker.state.launch_store = (
            broker.state.launch_store,
            make_launch_store(broker.state.sessions),
        )
        with pytest.raises(UNREACHABLE):
            await broker.state.flush_lookups()
        assert (await http.get("/v1/balances", params={"iccid": SIM})).status_code == 200
        with pytest.raises(UNREACHABLE):  # still away: all kept
            await broker.state.flush_lookups()
        await broker.state.launch_store.close()
        await unreachable.dispose()
        broker.state.sessions, broker.state.launch_store = sessions, kept_store
        assert await broker.state.flush_lookups() == 3
        assert await lookups(sessions) == [("ok", 200)] * 3
        assert await broker.state.flush_lookups() == 0  # written once
        assert broker.state.balances.dropped_records == 0

    def test_unwritten_records_are_bounded_oldest_first(self, clock: FrozenClock) -> None:
        proxy = BalanceProxy(MoApiClient(timeout_seconds=1), clock, 0, max_unwritten=3)
        proxy._records = [{"n": 4}, {"n": 5}]
        assert proxy.requeue([{"n": 1}, {"n": 2}, {"n": 3}]) == 2
        assert [r["n"] for r in proxy.drain_records()] == [3, 4, 5]
        assert proxy.dropped_records == 2

    async def test_timeout_is_504_and_refused_connection_502(
        self,
        proxy_client: tuple[httpx.AsyncClient, BrokerApp],
        operator: ControllableOperator,
        sessions: Sessions,
    ) -> None:
        http, broker = proxy_client
        operator.mode, operator.delay = "slow", 2.0
        assert (await http.get("/v1/balances", params={"iccid": SIM})).status_code == 504
        await operator.stop()
        response = await http.get("/v1/balances", params={"iccid": SIM, "location": "US"})
        assert response.status_code == 502
        assert response.json()["upstreamOutcome"] == "connect_error"
        await broker.state.flush_lookups()
        assert [o for o, _ in await lookups(sessions)] == ["timeout", "connect_error"]

    async def test_bad_or_unknown_sim(
        self, proxy_client: tuple[httpx.AsyncClient, BrokerApp]
    ) -> None:
        http, _ = proxy_client
        assert (await http.get("/v1/balances", params={"iccid": "12"})).json()["field"] == "iccid"
        assert (
            await http.get("/v1/balances", params={"iccid": valid_iccid("893399900000000001")})
        ).status_code == 404
        assert (await http.get("/v1/balances", params={"iccid": SIM, "location": "XX"})).json()[
            "field"
        ] == "location"
        assert (await http.get("/v1/balances")).json()["field"] == "iccid"


async def test_unused_port_helper_is_free() -> None:
    assert free_port() > 0


class TestPurchaseTelemetry:
    REPORT: ClassVar[dict[str, str]] = {
        "transactionId": "waoigFfX00yGH3Vb.1",
        "operatorId": "contoso",
        "callback": "MobilePlansInlineOperations.notifyProfileDownload",
        "userAccount": "new",
        "purchaseInstrument": "New",
        "lineType": "NEW",
        "modirectStatus": "complete",
        "planName": "Contoso 5 GB",
        "iccid": f"{SIM}F",
    }

    async def count(self, sessions: Sessions) -> int:
        async with session_scope(sessions) as session:
            return int(
                await session.scalar(select(func.count()).select_from(PurchaseTelemetry)) or 0
            )

    async def test_records_once_and_refuses_a_replay(
        self, proxy_client: tuple[httpx.AsyncClient, BrokerApp], sessions: Sessions
    ) -> None:
        http, _ = proxy_client
        first = await http.post("/v1/telemetry/purchase", json=self.REPORT)
        assert first.status_code == 201
        assert first.json()["operatorId"] == "contoso"
        replay = await http.post(
            "/v1/telemetry/purchase", json={**self.REPORT, "planName": "changed"}
        )
        assert replay.status_code == 409
        assert replay.json()["field"] == "transactionId"
        async with session_scope(sessions) as session:
            [row] = (await session.scalars(select(PurchaseTelemetry))).all()
        assert (row.user_account, row.line, row.mo_direct_status, row.plan_name, row.iccid) == (
            "New",
            "New",
            "Complete",
            "Contoso 5 GB",
            SIM,
        )

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"transactionId": "x" * 65}, "transactionId"),
            ({"transactionId": ""}, "transactionId"),
            ({"modirectStatus": "Great"}, "modirectStatus"),  # named as the client sent it
            ({"modirectStatus": "Complete", "planName": " "}, "body"),
            ({"iccid": "123"}, "iccid"),
            ({"callback": "alert(1)"}, "callback"),
        ],
    )
    async def test_bad_reports_are_400_and_store_nothing(
        self,
        proxy_client: tuple[httpx.AsyncClient, BrokerApp],
        sessions: Sessions,
        change: dict[str, str],
        field: str,
    ) -> None:
        response = await proxy_client[0].post(
            "/v1/telemetry/purchase", json={**self.REPORT, **change}
        )
        assert response.status_code == 400
        assert response.json()["field"] == field
        assert await self.count(sessions) == 0

    async def test_wrong_json_is_400(
        self, proxy_client: tuple[httpx.AsyncClient, BrokerApp], sessions: Sessions
    ) -> None:
        response = await proxy_client[0].post(
            "/v1/telemetry/purchase", content=b"{oops", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert await self.count(sessions) == 0

    async def test_operator_comes_from_the_recorded_launch(
        self, proxy_client: tuple[httpx.AsyncClient, BrokerApp]
    ) -> None:
        http, _ = proxy_client
        launch = (await http.get("/v1/providers", params={"location": "US"})).json()["providers"][0]
        report = {**self.REPORT, "transactionId": launch["transactionId"]}
        del report["operatorId"]
        assert (await http.post("/v1/telemetry/purchase", json=report)).json()[
            "operatorId"
        ] == "contoso"
