from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.console.app import ConsoleApp, create_app
from mobileplans.config import Settings
from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access_service
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from tests.support import operator_data, valid_iccid

TOKEN = "console-admin-token"
SECRET = "console-test-secret"
OPERATORS = {"alpha": "8901991", "bravo": "8901992", "charlie": "8901993"}
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
def console(settings: Settings, sessions: Sessions, clock: FrozenClock) -> ConsoleApp:
    return create_app(settings, sessions, admin_token=TOKEN, session_secret=SECRET, clock=clock)


@pytest.fixture
async def client(console: ConsoleApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=console)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as http:
        yield http


async def seed_operators(sessions: Sessions, clock: FrozenClock) -> None:
    """Three operators with probes, an hour of successful runs, contacts."""
    async with session_scope(sessions) as session:
        for op, prefix in OPERATORS.items():
            data = operator_data(op, brand=op.title() + " Mobile", prefix=prefix)
            data["monitoringIccid"] = valid_iccid(prefix + "00000000009")
            data["contacts"] = [{"name": "NOC", "email": f"noc@{op}.example"}]
            spec = OperatorSpec.model_validate(data)
            await registry_service.put_operator(session, spec, actor="test", now=clock.now())
        await probe_service.sync_from_registry(session, now=clock.now())
        probes = (await session.scalars(select(Probe))).all()
        rows = [
            {
                "probe_id": p.id,
                "operator_id": p.operator_id,
                "environment": p.environment,
                "kind": p.kind,
                "scheduled_at": clock.now() - timedelta(seconds=30 * i),
                "started_at": clock.now() - timedelta(seconds=30 * i),
                "latency_ms": 120.0,
                "outcome": "ok",
                "status_code": 200,
            }
            for p in probes
            for i in range(1, 120)
        ]
        await session.execute(insert(ProbeResult), rows)
        await session.execute(update(Probe).values(last_outcome="ok", last_run_at=clock.now()))


async def open_global_incident(sessions: Sessions, clock: FrozenClock) -> None:
    """Every partner's probe failing: the incident engine opens a global incident."""
    async with session_scope(sessions) as session:
        await session.execute(update(Probe).values(consecutive_failures=2))
    engine = Engine(NotifyContext(list(Settings().platform_contacts)))
    async with session_scope(sessions) as session:
        await engine.evaluate(session, clock.now())


async def operator_token(sessions: Sessions, clock: FrozenClock, operator_id: str) -> str:
    async with session_scope(sessions) as session:
        issued = await access_service.create_credential(
            session, operator_id=operator_id, name="noc", now=clock.now()
        )
    return issued.token


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/signin")
    csrf = form.cookies.get("mp_console_csrf") or client.cookies.get("mp_console_csrf")
    return await client.post("/signin", data={"token": token, "csrf": csrf})
