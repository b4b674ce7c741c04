"""Incident operations for the API and CLI, with the caller's side checked (spec 5.3-5.4).

An operator party sees its own incidents and the global ones of the platform (they
concern it), and acts only on its own; the platform sees and acts on all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import Incident
from mobileplans.domains.access.service import Party
from mobileplans.domains.incident import calls, clocks, lifecycle, notify, repository
from mobileplans.domains.incident.profiles import profile_for
from mobileplans.domains.incident.schemas import (
    BreachCount,
    ClockRead,
    DeclareIncident,
    EventRead,
    IncidentDetail,
    IncidentRead,
    Status,
)
from mobileplans.errors import BadRequest, NotFound


def to_read(row: Incident) -> IncidentRead:
    return IncidentRead.model_validate(row, from_attributes=True)


async def detail(session: AsyncSession, row: Incident) -> IncidentDetail:
    events = [
        EventRead.model_validate(e, from_attributes=True)
        for e in await repository.events(session, row.id)
    ]
    clock_rows = [
        ClockRead.model_validate(c, from_attributes=True)
        for c in await repository.clocks(session, row.id)
    ]
    return IncidentDetail.model_validate(
        {**to_read(row).model_dump(), "events": events, "clocks": clock_rows}
    )


async def visible(session: AsyncSession, party: Party, incident_id: int) -> Incident:
    row = await repository.get(session, incident_id)
    if row is None or not (party.is_platform or row.operator_id in (None, party.operator_id)):
        raise NotFound(f"incident {incident_id} does not exist")
    return row


async def acting_on(session: AsyncSession, party: Party, incident_id: int) -> Incident:
    """The incident, if ``party`` may change it: global ones only by the platform."""
    row = await visible(session, party, incident_id)
    if not party.is_platform and row.operator_id is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return row


async def apply_step(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    party: Party,
    incident_id: int,
    step: lifecycle.Step,
    message: str,
    *,
    now: datetime,
) -> IncidentDetail:
    """One lifecycle step (acknowledge, update, communicate, mitigate, resolve, close) by
    ``party`` on an incident it may change; the incident as it is afterwards."""
    row = await acting_on(session, party, incident_id)
    await step(session, ctx, row, now, side=party.side, actor=party.actor, message=message)
    return await detail(session, row)


async def list_for(
    session: AsyncSession,
    party: Party,
    *,
    operator_id: str | None,
    status: str | None,
    open_only: bool,
    limit: int = 200,
) -> list[IncidentRead]:
    if not party.is_platform:
        operator_id = party.acting_for(operator_id)
    rows = await repository.list_incidents(
        session,
        operator_id=operator_id,
        include_global=not party.is_platform,
        status=status,
        open_only=open_only,
        limit=limit,
    )
    return [to_read(r) for r in rows]


def _declared(
    party: Party, spec: DeclareIncident, operator_id: str, policy: str, now: datetime
) -> Incident:
    env = spec.environment.value
    source = f"declared-{party.side}-{spec.category}"
    reasons = [spec.description] if spec.description else []
    return Incident(
        open_key=lifecycle.open_key("partner", operator_id, env, source), scope="partner",
        operator_id=operator_id, environment=env, opened_by=party.side,
        responder="platform" if party.side == "operator" else "operator", source="declared",
        category=spec.category, title=spec.title, policy=policy, severity=spec.severity,
        status=Status.OPEN, outage=spec.outage, parent_id=None,
        evidence={"reasons": reasons, "declaredBy": party.actor}, detected_at=now,
        updated_at=now,
    )  # fmt: skip


async def declare(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    party: Party,
    spec: DeclareIncident,
    *,
    now: datetime,
) -> IncidentDetail:
    """Open an incident toward the other side; an outage declaration starts the declaring
    side's 30-minute first-communication clock (spec 5.4)."""
    operator_id = party.acting_for(spec.operator_id)
    policy = (await profile_for(session, operator_id)).policy.name.value
    lifecycle.check_severity(policy, spec.severity)
    incident = _declared(party, spec, operator_id, policy, now)
    if await lifecycle.create(session, incident, now, message=spec.message) is None:
        raise BadRequest(
            f"an incident of category {spec.category!r} declared by the {party.side} side "
            f"is already open for {operator_id} {incident.environment}",
            field="category",
        )
    if spec.outage:
        clocks.start_communication(session, incident, party.side, now)
        await calls.on_outage_declared(session, ctx, incident, party.side, now)
    # The declaration's message is the first timeline entry and goes in the "opened" mail;
    # an outage's message is also its first communication (meets the 30-minute clock).
    await lifecycle.contact(session, ctx, incident, now, note=spec.message or "")
    if spec.outage and spec.message:
        await lifecycle.communicate(
            session, ctx, incident, now, side=party.side, actor=party.actor, message=spec.message
        )
    await session.flush()
    return await detail(session, incident)


async def breach_report(
    session: AsyncSession, party: Party, start: datetime, end: datetime, operator_id: str | None
) -> list[BreachCount]:
    if not party.is_platform:
        operator_id = party.acting_for(operator_id)
    rows = await repository.breach_counts(session, start, end, operator_id)
    return [BreachCount(operator_id=o, clock=c, owner=w, breaches=n) for o, c, w, n in rows]
