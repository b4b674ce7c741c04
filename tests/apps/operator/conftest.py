"""Fixtures for the reference operator app: sites, the app over httpx.ASGITransport, demo data.

- ``operator_sites``: the hosted sites (``contoso``, ``fabrikam``); override this fixture in
  a test module to change a site's policy (mutual TLS, rate limits, gateway ids).
- ``operator_app`` / ``operator_client``: the app on the test database and frozen clock.
- ``demo``: the demo plans, account and SIMs of both operators (``cli/demo_operator.py``),
  seeded through the subscriber services; ``demo.sims("contoso").active_prepaid`` etc.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.operator.app import OperatorApp, create_app
from mobileplans.cli.demo import demo_sim
from mobileplans.cli.demo_operator import (
    PREFIX,
    demo_plans,
    ensure_operator_demo,
    existing_account,
)
from mobileplans.config import OperatorAppConfig, OperatorSite
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.subscriber import service as subscriber_service
from mobileplans.domains.subscriber.schemas import PlanRead
from mobileplans.kit.clock import FrozenClock

OPERATOR_ID = "contoso"
BASE_URL = "http://operator.test"
TRANSACTION_ID = '"MSFT-12345678-1234-1234-1234-123456789abc"'
MO_HEADERS = {"X-MS-DM-TransactionId": TRANSACTION_ID}
_BRANDS = {"contoso": ("Contoso Cellular", ["US"]), "fabrikam": ("Fabrikam Mobile", ["GB", "FR"])}


def make_site(operator_id: str = OPERATOR_ID, **overrides: Any) -> OperatorSite:
    """A hosted operator as ``mobileplans up`` configures one; ``overrides`` set any field."""
    brand, countries = _BRANDS.get(operator_id, (operator_id.title(), ["US"]))
    data: dict[str, Any] = {
        "operator_id": operator_id,
        "brand_name": brand,
        "countries": countries,
        "es2plus_url": "http://127.0.0.1:9/gsma/rsp2/es2plus",
        "es2plus_requester_id": f"{operator_id}.operator.example",
        "support_email": f"support@{operator_id}.example",
    }
    data.update(overrides)
    return OperatorSite.model_validate(data)


@dataclass(frozen=True)
class DemoSims:
    """The demo SIMs of one operator, by role (``cli/demo_operator.py``)."""

    active_prepaid: str  # 5 GB / 30 days prepaid balance, owned by the demo account
    zero_balance: str  # a day pass fully used: nothing consumable
    not_supported: str  # excluded from Mobile Plans
    warm_sim: str  # physical SIM without subscription
    monitoring_iccid: str  # active line without a balance

    @classmethod
    def of(cls, operator_id: str) -> DemoSims:
        prefix = PREFIX[operator_id]
        return cls(**{role: demo_sim(prefix, role) for role in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Demo:
    plans: dict[str, dict[str, PlanRead]]  # operator id → plan code → plan

    def sims(self, operator_id: str = OPERATOR_ID) -> DemoSims:
        return DemoSims.of(operator_id)

    def account(self, operator_id: str = OPERATOR_ID) -> dict[str, str]:
        return existing_account(operator_id)

    def plan(self, code: str, operator_id: str = OPERATOR_ID) -> PlanRead:
        return self.plans[operator_id][code]


@pytest.fixture
def operator_sites() -> list[OperatorSite]:
    return [make_site("contoso"), make_site("fabrikam")]


@pytest.fixture
def operator_config(operator_sites: list[OperatorSite]) -> OperatorAppConfig:
    return OperatorAppConfig(
        sites=operator_sites,
        public_base_url=BASE_URL,
        session_secret="test-session-secret-0123456789abcdef",
    )


@pytest.fixture
async def operator_app(
    operator_config: OperatorAppConfig, database_url: str, clock: FrozenClock
) -> AsyncIterator[OperatorApp]:
    """The app on the engine ``serve`` makes (on SQLite the on-loop driver), so the
    portal's steps run the driver kind of transaction on both databases (D297)."""
    engine = make_engine(database_url, process_name="tests-operator", sqlite_on_loop=True)
    yield create_app(operator_config, make_sessionmaker(engine), clock=clock)
    await engine.dispose()


@pytest.fixture
async def operator_client(operator_app: OperatorApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=operator_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
async def demo(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Demo:
    operators = ["contoso", "fabrikam"]
    await ensure_operator_demo(sessions, operators, clock.now())
    plans: dict[str, dict[str, PlanRead]] = {}
    async with session_scope(sessions) as session:
        for operator_id in operators:
            listed = await subscriber_service.list_plans(session, operator_id)
            plans[operator_id] = {plan.code: plan for plan in listed}
            assert set(plans[operator_id]) == {p.code for p in demo_plans(operator_id)}
    return Demo(plans=plans)
