"""A live-site stack on a controllable clock: an operator's portal and MO API on real
sockets, the prober, the incident engine, its clocks and notification delivery to a real
SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message as EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.models import Incident, IncidentClock, IncidentEvent
from mobileplans.db.session import session_scope
from mobileplans.db.transactions import Transactions
from mobileplans.domains.incident import clocks
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.notification.delivery import deliver_due
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from mobileplans.worker.loop import run_once
from tests.domains.probe.target import ControllableTarget
from tests.support import free_port, operator_data, valid_iccid

Sessions = async_sessionmaker[AsyncSession]
NOC = "noc@contoso.example"


@dataclass
class MailSink:
    """aiosmtpd handler keeping every accepted message."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content)
        parsed["X-Test-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Test-Rcpt"]]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]


class SmtpServer:
    def __init__(self) -> None:
        self.sink = MailSink()
        self.port = free_port()
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class Stack:
    sessions: Sessions
    clock: FrozenClock
    portal: ControllableTarget
    mo_api: ControllableTarget
    smtp: SmtpServer
    operator_id: str = "contoso"
    settings: Settings = field(init=False)
    engine: Engine = field(init=False)
    ctx: NotifyContext = field(init=False)

    def __post_init__(self) -> None:
        self.settings = Settings(smtp_host="127.0.0.1", smtp_port=self.smtp.port)
        self.ctx = NotifyContext(platform_contacts=list(self.settings.platform_contacts))
        self.engine = Engine(self.ctx)

    async def register(self, **extra: Any) -> None:
        data = operator_data(self.operator_id, brand="Contoso Cellular", prefix="8901999")
        data["monitoringIccid"] = valid_iccid("890199900000000009")
        data["environments"]["production"] = {
            "portalUrl": self.portal.portal_url(self.operator_id),
            "moBaseUrl": self.mo_api.mo_base_url(self.operator_id),
        }
        data["contacts"] = [{"name": "Contoso NOC", "email": NOC, "severity": "any"}]
        data.update(extra)
        spec = OperatorSpec.model_validate(data, context={"url_policy": "local"})
        async with session_scope(self.sessions) as session:
            await registry_service.put_operator(session, spec, actor="test", now=self.clock.now())
            await probe_service.sync_from_registry(session, now=self.clock.now())

    async def tick(self) -> None:
        """What the worker does at this instant: due probes, detection, clocks, delivery."""
        await run_once(self.sessions, self.clock, worker_id="w1")
        await self.evaluate()
        await self.deliver()

    async def evaluate(self) -> None:
        async with session_scope(self.sessions) as session:
            await self.engine.evaluate(session, self.clock.now())
        async with session_scope(self.sessions) as session:
            await clocks.process_due(session, self.ctx, self.clock.now())

    async def deliver(self) -> None:
        await deliver_due(
            Transactions(self.sessions), self.clock, worker_id="w1", settings=self.settings
        )

    async def run_for(self, seconds: float, step: float = 5.0) -> None:
        for _ in range(int(seconds / step)):
            self.clock.advance(timedelta(seconds=step))
            await self.tick()

    async def run_until(self, check: Any, limit_seconds: float, step: float = 5.0) -> float:
        """Tick until ``await check()`` holds; returns the clock seconds it took."""
        start = self.clock.now()
        for _ in range(int(limit_seconds / step)):
            self.clock.advance(timedelta(seconds=step))
            await self.tick()
            if await check():
                return (self.clock.now() - start).total_seconds()
        raise AssertionError(f"not within {limit_seconds} s of clock time")

    async def incidents(self) -> list[Incident]:
        async with self.sessions() as session:
            return list((await session.scalars(select(Incident).order_by(Incident.id))).all())

    async def clocks_of(self, incident_id: int) -> list[IncidentClock]:
        async with self.sessions() as session:
            query = select(IncidentClock).where(IncidentClock.incident_id == incident_id)
            return list((await session.scalars(query.order_by(IncidentClock.id))).all())

    async def events_of(self, incident_id: int) -> list[IncidentEvent]:
        async with self.sessions() as session:
            query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
            return list((await session.scalars(query.order_by(IncidentEvent.id))).all())
