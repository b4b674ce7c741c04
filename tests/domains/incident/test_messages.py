"""What incident mails say (issue #8, "first hour" 5 and 6): a declaration's message is
kept; each side reads what it now owes and its next step, in its own time zone and UTC, to
the minute; incidents the engine opens get a title a person understands."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.models import IncidentEvent, Notification, Probe
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import Party
from mobileplans.domains.incident import service
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import DeclareIncident
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from tests.support import operator_data, valid_iccid

Sessions = async_sessionmaker[AsyncSession]
NOC = "noc@northwind.example"
PLATFORM = "mp-operations@platform.example"
MICROSECONDS = re.compile(r"\d:\d\d\.\d{6}|\+00:00")


async def northwind(sessions: Sessions, clock: FrozenClock) -> None:
    data = operator_data("northwind", brand="Northwind Mobile", prefix="8901997")
    data["monitoringIccid"] = valid_iccid("890199700000000009")
    data["timezone"] = "Europe/Paris"
    data["contacts"] = [{"name": "Northwind NOC", "email": NOC}]
    async with session_scope(sessions) as session:
        spec = OperatorSpec.model_validate(data)
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())
        await probe_service.sync_from_registry(session, now=clock.now())


async def mails(sessions: Sessions, address: str) -> list[Notification]:
    async with sessions() as session:
        query = select(Notification).where(Notification.recipient == address)
        return list((await session.scalars(query.order_by(Notification.id))).all())


def ctx() -> NotifyContext:
    return NotifyContext(list(Settings().platform_contacts))


async def test_a_declarations_message_is_the_first_entry_and_in_the_mails(
    sessions: Sessions, clock: FrozenClock
) -> None:
    await northwind(sessions, clock)
    text = "Our Lyon core is down since 08:50; next news at 10:30."
    spec = DeclareIncident(title="Core network outage", severity="sev2", message=text, outage=False)
    party = Party("operator", "northwind", "noc-bob")
    async with session_scope(sessions) as session:
        detail = await service.declare(session, ctx(), party, spec, now=clock.now())
    async with sessions() as session:
        query = select(IncidentEvent).where(IncidentEvent.incident_id == detail.id)
        first = (await session.scalars(query.order_by(IncidentEvent.id))).first()
    assert first is not None
    assert first.message == text
    [opened] = await mails(sessions, PLATFORM)  # the platform responds: it is paged
    assert text in opened.body


async def test_mails_say_what_each_side_owes_next_in_its_time_zone_and_utc(
    sessions: Sessions, clock: FrozenClock
) -> None:
    """09:00 UTC on 2 Nov 2026 is 10:00 in Paris (CET); a Sev 1 asks for a response."""
    await northwind(sessions, clock)
    async with session_scope(sessions) as session:
        await session.execute(
            update(Probe).where(Probe.kind == "getbalance").values(consecutive_failures=2)
        )
    async with session_scope(sessions) as session:
        await Engine(ctx()).evaluate(session, clock.now())
    [to_operator] = await mails(sessions, NOC)
    [to_platform] = await mails(sessions, PLATFORM)

    title = "Northwind Mobile production: GetBalance failing (100 % of probes in the last 5 min)"
    assert title in to_operator.subject
    body = to_operator.body
    assert "Detected: 2026-11-02 10:00 CET (2026-11-02 09:00 UTC)" in body
    owed = body.split("What you owe now (operator side):\n", 1)[1]
    assert owed.startswith(  # Sev 1 (Mobile Plans): an update every 2 h, resolved in 8 h
        "- an update by 2026-11-02 12:00 CET (2026-11-02 11:00 UTC)\n"
        "- resolution by 2026-11-02 18:00 CET (2026-11-02 17:00 UTC)\n"
    )
    assert "Next step: acknowledge the incident: POST /v1/incidents/" in body
    assert not MICROSECONDS.search(body)
    assert to_operator.payload["deadlines"][0] == {
        "clock": "update", "owner": "operator", "dueAt": "2026-11-02T11:00:00+00:00"
    }  # fmt: skip

    assert "Your side (platform) owes nothing now." in to_platform.body
    assert "The operator side owes:" in to_platform.body
    assert "Next step: nothing for now: the operator side owes the deadlines" in to_platform.body
    assert "Detected: 2026-11-02 09:00 UTC" in to_platform.body
    assert not MICROSECONDS.search(to_platform.body)
