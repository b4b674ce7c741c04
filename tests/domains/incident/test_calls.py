"""Phone escalation: which incidents get a call task, the numbers it names, and what a
recorded call counts for (decisions D195, D196)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Environment, PlatformContact, Settings
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import Party
from mobileplans.domains.incident import call_records, lifecycle, profiles
from mobileplans.domains.incident import service as incidents
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import (
    CallAttemptIn,
    CallTaskRead,
    DeclareIncident,
    IncidentDetail,
    OpsSettingsPatch,
)
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.errors import AppError, BadRequest, Conflict, Forbidden, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.domains.incident.test_engine import balance_probe, results
from tests.domains.incident.test_engine import incidents as incidents_of
from tests.domains.incident.test_global import evaluate, setup
from tests.support import operator_data

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
PLATFORM = Party("platform", None, "osoc")
CONTOSO = Party("operator", "contoso", "contoso:noc")
FABRIKAM = Party("operator", "fabrikam", "fabrikam:noc")
CTX = NotifyContext(
    [
        PlatformContact(
            name="Operations centre", email="ops@platform.example", phone="+14255550100",
            environment=Environment.PRODUCTION,
        ),
        PlatformContact(name="No phone", email="other@platform.example"),
    ]
)  # fmt: skip
CONTOSO_PHONES = [
    {"name": "Duty manager", "phone": "+14255550151"},
    {"name": "Contoso NOC", "email": "noc@contoso.example", "phone": "+14255550150",
     "severity": "sev1"},
    {"name": "Mail only", "email": "mail@contoso.example", "severity": "sev1"},
    {"name": "Sev 2 desk", "phone": "+14255550152", "severity": "sev2"},
]  # fmt: skip
FABRIKAM_PHONES = [{"name": "Fabrikam NOC", "phone": "+33142000000", "severity": "high"}]


@pytest.fixture
async def world(sessions: Sessions) -> Sessions:
    """Contoso under Mobile Plans (Sev 1-3), Fabrikam under DYNAMO (High/Low)."""
    async with session_scope(sessions) as session:
        for data in (
            operator_data(contacts=CONTOSO_PHONES),
            operator_data("fabrikam", brand="Fabrikam", prefix="8944999",
                          contacts=FABRIKAM_PHONES),
        ):  # fmt: skip
            spec = OperatorSpec.model_validate(data)
            await registry_service.put_operator(session, spec, actor="test", now=NOW)
        await profiles.update_settings(
            session, "fabrikam", OpsSettingsPatch(policy="dynamo"), now=NOW
        )
    return sessions


async def declare(
    sessions: Sessions, party: Party, operator: str | None, severity: str, **extra: object
) -> IncidentDetail:
    spec = DeclareIncident.model_validate(
        {"operatorId": operator, "title": "portal down", "severity": severity, **extra}
    )
    async with session_scope(sessions) as session:
        return await incidents.declare(session, CTX, party, spec, now=NOW)


async def record(
    sessions: Sessions, party: Party, incident_id: int, task_id: int, now: datetime = NOW,
    **values: Any,
) -> CallTaskRead:  # fmt: skip
    attempt = CallAttemptIn.model_validate(values)
    async with session_scope(sessions) as session:
        return await call_records.record_call(
            session, CTX, party, incident_id, task_id, attempt, now=now
        )


async def tasks(sessions: Sessions, party: Party, incident_id: int) -> list[CallTaskRead]:
    async with session_scope(sessions) as session:
        return await call_records.tasks_of(session, party, incident_id)


async def detail(sessions: Sessions, incident_id: int) -> IncidentDetail:
    async with session_scope(sessions) as session:
        return await incidents.detail(
            session, await incidents.visible(session, PLATFORM, incident_id)
        )


async def test_sev1_platform_calls_the_operator_down_its_numbers(world: Sessions) -> None:
    incident = await declare(world, PLATFORM, "contoso", "sev1")
    [task] = await tasks(world, CONTOSO, incident.id)
    assert (task.purpose, task.caller, task.callee, task.status) == (
        "escalation", "platform", "operator", "open",
    )  # fmt: skip
    # Severity-specific contacts with a phone first, then "any"; mail-only and sev2 left out.
    assert [n.phone for n in task.numbers] == ["+14255550150", "+14255550151"]
    assert task.next_number.name == "Contoso NOC"
    assert "call_task" in [e.kind for e in incident.events]

    later = NOW + timedelta(minutes=3)
    after = await record(world, PLATFORM, incident.id, task.id, later, outcome="no_answer")
    assert after.status == "open"
    assert after.next_number.name == "Duty manager"
    assert [(a.number, a.outcome) for a in after.attempts] == [("+14255550150", "no_answer")]

    done = await record(
        world, PLATFORM, incident.id, task.id, later, outcome="reached", reached="Ana (duty)",
        notes="will call back",
    )  # fmt: skip
    assert (done.status, done.outcome, done.reached, done.next_number) == (
        "done", "reached", "Ana (duty)", None,
    )  # fmt: skip
    assert done.attempts[-1].number == "+14255550151"
    shown = await detail(world, incident.id)
    calls = [e for e in shown.events if e.kind == "call"]
    assert [e.message for e in calls] == [
        "called Contoso NOC (+14255550150): no answer; next: Duty manager (+14255550151)",
        "called Duty manager (+14255550151): reached Ana (duty). will call back",
    ]
    assert shown.status == "contacted"  # reached, not acknowledged: no clock changes


async def test_an_acknowledged_call_meets_the_response_clock_as_the_api_would(
    world: Sessions,
) -> None:
    incident = await declare(world, PLATFORM, "fabrikam", "high")
    response = [c for c in incident.clocks if c.clock == "response"]
    assert response[0].owner == "operator"
    assert response[0].met_at is None
    [task] = await tasks(world, PLATFORM, incident.id)
    at = NOW + timedelta(minutes=20)
    await record(
        world, PLATFORM, incident.id, task.id, at + timedelta(minutes=5), at=at,
        outcome="acknowledged", reached="Jean",
    )  # fmt: skip
    shown = await detail(world, incident.id)
    assert shown.status == "acknowledged"
    assert shown.acknowledged_at == at  # when the call happened, not when it was typed
    [met] = [c for c in shown.clocks if c.clock == "response"]
    assert met.met_at == at
    [ack] = [e for e in shown.events if e.kind == "acknowledged"]
    assert (ack.side, ack.actor) == ("operator", "Jean (by phone)")


async def test_who_calls_on_each_path(world: Sessions) -> None:
    # Mobile Plans: an operator's Sev 1 goes to the platform by mail only.
    mail_only = await declare(world, CONTOSO, None, "sev1")
    assert await tasks(world, CONTOSO, mail_only.id) == []
    # Mobile Plans Sev 2 is not a phone path.
    sev2 = await declare(world, PLATFORM, "contoso", "sev2", category="scenario_down")
    assert await tasks(world, PLATFORM, sev2.id) == []
    # DYNAMO: the operator phones the platform's operations centre for a High.
    high = await declare(world, FABRIKAM, None, "high")
    [task] = await tasks(world, FABRIKAM, high.id)
    assert (task.caller, task.callee) == ("operator", "platform")
    assert [n.phone for n in task.numbers] == ["+14255550100"]


async def test_a_dynamo_outage_is_phoned_and_the_call_is_the_communication(
    world: Sessions,
) -> None:
    incident = await declare(
        world, FABRIKAM, None, "high", outage=True, category="core_network_outage"
    )
    [task] = await tasks(world, FABRIKAM, incident.id)  # one call carries the escalation too
    assert (task.purpose, task.caller) == ("outage", "operator")
    await record(world, FABRIKAM, incident.id, task.id, outcome="reached", reached="OSOC desk")
    shown = await detail(world, incident.id)
    [comms] = [c for c in shown.clocks if c.clock == "communication"]
    assert comms.met_at == NOW
    assert [e.kind for e in shown.events][-2:] == ["call", "communication"]


async def test_bad_calls_are_refused_naming_the_field(world: Sessions) -> None:
    incident = await declare(world, PLATFORM, "contoso", "sev1")
    [task] = await tasks(world, PLATFORM, incident.id)
    cases: list[tuple[Party, dict[str, Any], type[AppError], str | None]] = [
        (PLATFORM, {"outcome": "reached"}, BadRequest, "reached"),
        (PLATFORM, {"outcome": "no_answer", "reached": "Ana"}, BadRequest, "reached"),
        (PLATFORM, {"outcome": "no_answer", "number": "12"}, BadRequest, "number"),
        (PLATFORM, {"outcome": "no_answer", "at": NOW + timedelta(hours=1)}, BadRequest, "at"),
        (PLATFORM, {"outcome": "no_answer", "at": NOW - timedelta(hours=1)}, BadRequest, "at"),
        (CONTOSO, {"outcome": "no_answer"}, Forbidden, None),
        (FABRIKAM, {"outcome": "no_answer"}, NotFound, None),
    ]
    for party, values, error, field in cases:
        with pytest.raises(error) as caught:
            await record(world, party, incident.id, task.id, **values)
        assert caught.value.extra.get("field") == field, values
    with pytest.raises(NotFound):
        await record(world, PLATFORM, incident.id, task.id + 99, outcome="no_answer")
    await record(world, PLATFORM, incident.id, task.id, outcome="reached", reached="Ana")
    with pytest.raises(Conflict):
        await record(world, PLATFORM, incident.id, task.id, outcome="reached", reached="Ana")
    [after] = await tasks(world, PLATFORM, incident.id)
    assert after.attempts[0].outcome == "reached"
    assert len(after.attempts) == 1


async def test_acknowledgement_supersedes_resolution_cancels_severity_follows(
    world: Sessions,
) -> None:
    first = await declare(world, PLATFORM, "contoso", "sev1")
    async with session_scope(world) as session:
        await incidents.apply_step(
            session, CTX, CONTOSO, first.id, lifecycle.acknowledge, "", now=NOW
        )
    assert [t.status for t in await tasks(world, PLATFORM, first.id)] == ["superseded"]

    second = await declare(world, PLATFORM, "contoso", "sev2", category="scenario_down")
    async with session_scope(world) as session:
        row = await incidents.acting_on(session, PLATFORM, second.id)
        await lifecycle.change_severity(
            session, CTX, row, "sev1", NOW, side="platform", actor="osoc", reason="worse"
        )
    assert [t.status for t in await tasks(world, PLATFORM, second.id)] == ["open"]
    async with session_scope(world) as session:
        row = await incidents.acting_on(session, PLATFORM, second.id)
        await lifecycle.change_severity(
            session, CTX, row, "sev2", NOW, side="platform", actor="osoc", reason="better"
        )
        await lifecycle.change_severity(
            session, CTX, row, "sev1", NOW, side="platform", actor="osoc", reason="worse again"
        )
    statuses = [t.status for t in await tasks(world, PLATFORM, second.id)]
    assert statuses == ["cancelled", "open"]
    async with session_scope(world) as session:
        await incidents.apply_step(
            session, CTX, PLATFORM, second.id, lifecycle.resolve, "", now=NOW
        )
    assert [t.status for t in await tasks(world, PLATFORM, second.id)] == [
        "cancelled", "cancelled",
    ]  # fmt: skip


async def test_owed_calls_are_listed_for_the_side_that_must_call(world: Sessions) -> None:
    sev1 = await declare(world, PLATFORM, "contoso", "sev1")
    high = await declare(world, FABRIKAM, None, "high")
    async with session_scope(world) as session:
        platform = await call_records.owed_by(session, PLATFORM, None)
        fabrikam = await call_records.owed_by(session, FABRIKAM, None)
        contoso = await call_records.owed_by(session, CONTOSO, None)
    assert [o.incident.id for o in platform] == [sev1.id]
    assert [o.incident.id for o in fabrikam] == [high.id]
    assert contoso == []


async def test_a_detected_sev1_pages_by_phone_and_follows_regrading(
    sessions: Sessions, clock: FrozenClock
) -> None:
    engine = Engine(NotifyContext(list(Settings().platform_contacts)))
    await setup(sessions, clock)
    probe = await balance_probe(sessions, "alpha")
    await results(sessions, probe, clock.now(), "ooooooooff")  # Sev 1: the engine opens it
    await evaluate(sessions, engine, clock)
    [incident] = await incidents_of(sessions)
    [task] = await tasks(sessions, PLATFORM, incident.id)
    assert (task.purpose, task.caller, task.status) == ("escalation", "platform", "open")
    clock.advance(timedelta(seconds=90))
    await results(sessions, probe, clock.now(), "oof")  # re-graded to Sev 3: no call owed
    await evaluate(sessions, engine, clock)
    clock.advance(timedelta(seconds=60))
    await results(sessions, probe, clock.now(), "ff")  # Sev 1 again: a new task
    await evaluate(sessions, engine, clock)
    statuses = [t.status for t in await tasks(sessions, PLATFORM, incident.id)]
    assert statuses == ["cancelled", "open"]
