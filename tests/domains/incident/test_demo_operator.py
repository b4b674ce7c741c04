"""The Done-means scenario against the real reference operator: the demo's Contoso
Cellular (portal and MO API of ``apps/operator`` with the demo back office, monitoring
ICCID included) on a real socket. Stopping it opens exactly one Sev 1 within two probe
intervals, the NOC's email arrives on the SMTP server, and recovery auto-resolves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.operator.app import create_app as create_operator
from mobileplans.cli.demo import demo_document
from mobileplans.cli.demo_operator import ensure_operator_demo
from mobileplans.config import OperatorAppConfig
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import RegistryDocument
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import SECRET, _Server, site
from tests.domains.incident.harness import SmtpServer, Stack
from tests.domains.probe.target import ControllableTarget
from tests.support import free_port

Sessions = async_sessionmaker[AsyncSession]


class DemoOperator:
    """The reference operator app serving the demo Contoso, stoppable and restartable."""

    def __init__(self, sessions: Sessions, clock: FrozenClock) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = OperatorAppConfig(
            sites=[site("http://127.0.0.1:9/es2plus")],
            public_base_url=self.url,
            session_secret=SECRET,
        )
        self.app = create_operator(config, sessions, clock=clock)
        self.server: _Server | None = None

    async def start(self) -> None:
        self.server = _Server(self.app, self.port)
        await self.server.start()

    async def stop(self) -> None:
        assert self.server is not None
        await self.server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
async def demo(sessions: Sessions, clock: FrozenClock, smtp: SmtpServer) -> AsyncIterator[Stack]:
    operator = DemoOperator(sessions, clock)
    document = RegistryDocument.model_validate(
        demo_document(operator.url), context={"url_policy": "local"}
    )
    [contoso] = [spec for spec in document.operators if spec.id == "contoso"]
    # Production only: the demo also points staging at the same app (one incident each).
    contoso = contoso.model_copy(
        update={
            "environments": {
                e: v for e, v in contoso.environments.items() if e.value == "production"
            },
            "iccid_ranges": [
                r for r in contoso.iccid_ranges if r.environment.value == "production"
            ],
        }
    )
    async with session_scope(sessions) as session:
        await registry_service.put_operator(session, contoso, actor="test", now=clock.now())
        await probe_service.sync_from_registry(session, now=clock.now())
    await ensure_operator_demo(sessions, ["contoso"], clock.now())
    await operator.start()
    unused = ControllableTarget()  # the harness's targets are not used: the demo app is
    stack = Stack(sessions, clock, unused, unused, smtp)
    stack.demo = operator  # type: ignore[attr-defined]
    yield stack
    if operator.server is not None and operator.server.task is not None:
        if not operator.server.task.done():
            await operator.stop()


async def test_stopping_the_demo_operator_opens_one_sev1_and_recovery_resolves(
    demo: Stack,
) -> None:
    operator: DemoOperator = demo.demo  # type: ignore[attr-defined]
    await demo.run_for(90)
    assert await demo.incidents() == []  # the demo MO API answers GetBalance for its ICCID
    await operator.stop()

    async def opened() -> bool:
        return bool(await demo.incidents())

    took = await demo.run_until(opened, limit_seconds=300)
    assert took <= 60 + 5
    await demo.run_for(90)
    rows = await demo.incidents()
    [incident] = rows
    assert incident.severity == "sev1"
    assert incident.status == "contacted"
    noc = [c.email for c in (await _contacts(demo)) if c.email]
    assert noc
    assert any("[SEV1]" in s and "opened" in s for s in demo.smtp.sink.subjects(noc[0]))

    await operator.start()

    async def resolved() -> bool:
        return (await demo.incidents())[-1].status == "resolved"

    await demo.run_until(resolved, limit_seconds=600)
    assert len(await demo.incidents()) == 1


async def _contacts(stack: Stack) -> list:  # type: ignore[type-arg]
    async with stack.sessions() as session:
        operator = await registry_service.get_operator(session, "contoso")
    return list(operator.contacts)
