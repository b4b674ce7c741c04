"""Seed the demo operators into the registry (``mobileplans up``) and name the local ports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.cli.demo import demo_document
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec, RegistryDocument
from mobileplans.errors import NotFound
from mobileplans.kit.clock import SystemClock


@dataclass(frozen=True)
class Ports:
    host: str
    base: int
    scheme: str = "http"

    def url(self, offset: int) -> str:
        return f"{self.scheme}://{self.host}:{self.base + offset}"

    @property
    def broker(self) -> str:
        return self.url(0)

    @property
    def operator(self) -> str:
        return self.url(1)

    @property
    def smdp(self) -> str:
        return self.url(2)

    @property
    def console(self) -> str:
        return self.url(3)

    @property
    def smdp_address(self) -> str:
        """The SM-DP+ address written into activation codes (``1$<address>$<matchingId>``)."""
        return f"{self.host}:{self.base + 2}"


async def ensure_demo(sessions: async_sessionmaker[AsyncSession], ports: Ports) -> list[str]:
    """Seed the demo operators into a database never configured before; on later runs
    only point the demo operators that still exist at this run's loopback ports.

    Operators the user created, changed or deleted stay as the user left them.
    """
    wanted = RegistryDocument.model_validate(
        demo_document(ports.operator), context={"url_policy": "local"}
    )
    touched: list[str] = []
    now = SystemClock().now()
    async with session_scope(sessions) as session:
        first_start = await registry_service.config_version(session) == 0
        for spec in wanted.operators:
            try:
                current = await registry_service.get_operator(session, spec.id)
            except NotFound:
                current = None
            if current is None and not first_start:
                continue
            target = spec if current is None else _with_urls(current, spec)
            if target != current:
                await registry_service.put_operator(session, target, actor="up", now=now)
                touched.append(spec.id)
    return touched


def _with_urls(current: OperatorSpec, demo: OperatorSpec) -> OperatorSpec:
    data = current.wire()
    for env, settings in demo.environments.items():
        if env.value in data["environments"]:
            data["environments"][env.value].update(
                {k: v for k, v in settings.wire().items() if k != "enabled"}
            )
    return OperatorSpec.model_validate(data, context={"url_policy": "local"})
