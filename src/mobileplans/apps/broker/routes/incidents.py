"""Incidents API shared by the platform and operators (spec 5.3-5.4; issue #5).

``Authorization: Bearer <token>``: the admin token or a platform credential acts for the
platform; an operator's credential for that operator only. An operator sees its own
incidents and the platform's global ones; another operator's incidents answer 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from mobileplans.apps.broker.deps import Caller, Session, State
from mobileplans.domains.access.service import Party
from mobileplans.domains.incident import lifecycle, profiles
from mobileplans.domains.incident import service as incidents
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import (
    BreachCount,
    DeclareIncident,
    IncidentDetail,
    IncidentRead,
    MessageIn,
    OpsSettingsPatch,
    OpsSettingsRead,
    OptionalMessageIn,
    SeverityIn,
)
from mobileplans.errors import Forbidden
from mobileplans.web.params import IsoDateTime, RowId
from mobileplans.web.problems import OPS_PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["incidents"], responses=OPS_PROBLEM_RESPONSES)
OptionalBody = Annotated[OptionalMessageIn | None, Body()]


def context(state: State) -> NotifyContext:
    return NotifyContext(platform_contacts=list(state.settings.platform_contacts))


def platform_only(party: Party, what: str) -> None:
    if not party.is_platform:
        raise Forbidden(f"only the platform side can {what}")


@router.get("/incidents", response_model=list[IncidentRead])
async def list_incidents(
    party: Caller,
    session: Session,
    operator_id: Annotated[str | None, Query(alias="operatorId")] = None,
    status: Annotated[str | None, Query(description="open, contacted, ... closed")] = None,
    open_only: Annotated[bool, Query(alias="open", description="only unresolved")] = False,
) -> list[IncidentRead]:
    """Incidents, newest first (spec 5.3)."""
    return await incidents.list_for(
        session, party, operator_id=operator_id, status=status, open_only=open_only
    )


@router.post("/incidents", response_model=IncidentDetail, status_code=201)
async def declare_incident(
    spec: Annotated[DeclareIncident, Body()], party: Caller, session: Session, state: State
) -> IncidentDetail:
    """Open an incident toward the other side (spec 5.4: an operator's core network outage,
    abnormally high call volume from the platform, a scenario down > 30 min). With
    ``outage: true`` the declaring side owes its first communication within 30 minutes."""
    return await incidents.declare(session, context(state), party, spec, now=state.clock.now())


@router.get("/incidents/breaches", response_model=list[BreachCount])
async def breaches(
    party: Caller,
    session: Session,
    start: Annotated[IsoDateTime, Query(alias="from")],
    end: Annotated[IsoDateTime, Query(alias="to")],
    operator_id: Annotated[str | None, Query(alias="operatorId")] = None,
) -> list[BreachCount]:
    """Clock breaches in ``[from, to)`` per operator, clock and owing side (reports)."""
    return await incidents.breach_report(session, party, start, end, operator_id)


async def _step(
    session: Session,
    state: State,
    party: Caller,
    incident_id: int,
    step: lifecycle.Step,
    body: OptionalMessageIn | None,
) -> IncidentDetail:
    """One lifecycle step by ``party`` with the body's optional message."""
    message = body.message if body else ""
    now = state.clock.now()
    return await incidents.apply_step(
        session, context(state), party, incident_id, step, message, now=now
    )


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
async def get_incident(incident_id: RowId, party: Caller, session: Session) -> IncidentDetail:
    """One incident with its timeline and clocks."""
    return await incidents.detail(session, await incidents.visible(session, party, incident_id))


@router.post("/incidents/{incident_id}/acknowledge", response_model=IncidentDetail)
async def acknowledge(
    incident_id: RowId, party: Caller, session: Session, state: State, body: OptionalBody = None
) -> IncidentDetail:
    """Acknowledge; from the responding side it meets the initial-response clock (5.3)."""
    return await _step(session, state, party, incident_id, lifecycle.acknowledge, body)


@router.post("/incidents/{incident_id}/updates", response_model=IncidentDetail)
async def post_update(
    incident_id: RowId,
    body: Annotated[MessageIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> IncidentDetail:
    """Post an update; from the responding side it meets the update-cadence clock and
    starts the next one (Sev 1 every 2 h, Sev 2 every 6 h, High every business day)."""
    return await incidents.apply_step(
        session,
        context(state),
        party,
        incident_id,
        lifecycle.post_update,
        body.message,
        now=state.clock.now(),
    )


@router.post("/incidents/{incident_id}/communications", response_model=IncidentDetail)
async def communicate(
    incident_id: RowId,
    body: Annotated[MessageIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> IncidentDetail:
    """Send an outage communication to the other side; the declaring side's first one meets
    its 30-minute clock (spec 5.4)."""
    return await incidents.apply_step(
        session,
        context(state),
        party,
        incident_id,
        lifecycle.communicate,
        body.message,
        now=state.clock.now(),
    )


@router.post("/incidents/{incident_id}/severity", response_model=IncidentDetail)
async def set_severity(
    incident_id: RowId,
    body: Annotated[SeverityIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> IncidentDetail:
    """Raise or lower the severity (platform); the clocks follow the new severity."""
    platform_only(party, "change an incident's severity")
    row = await incidents.acting_on(session, party, incident_id)
    await lifecycle.change_severity(
        session,
        context(state),
        row,
        body.severity,
        state.clock.now(),
        side=party.side,
        actor=party.actor,
        reason=body.message or "set by hand",
    )
    return await incidents.detail(session, row)


# One route per transition, not ``/incidents/{incident_id}/{transition}``: that template
# also matched ``.../calls`` (the call tasks' GET), so a 405 there allowed POST (D263).


@router.post("/incidents/{incident_id}/mitigate", response_model=IncidentDetail)
async def mitigate(
    incident_id: RowId, party: Caller, session: Session, state: State, body: OptionalBody = None
) -> IncidentDetail:
    """Mitigated: the impact is contained, the fix may still be to come (spec 5.3)."""
    return await _step(session, state, party, incident_id, lifecycle.mitigate, body)


@router.post("/incidents/{incident_id}/resolve", response_model=IncidentDetail)
async def resolve(
    incident_id: RowId, party: Caller, session: Session, state: State, body: OptionalBody = None
) -> IncidentDetail:
    """Resolved: meets the resolution clock, stops the update cadence and cancels the open
    call tasks (spec 5.3)."""
    return await _step(session, state, party, incident_id, lifecycle.resolve, body)


@router.post("/incidents/{incident_id}/close", response_model=IncidentDetail)
async def close(
    incident_id: RowId, party: Caller, session: Session, state: State, body: OptionalBody = None
) -> IncidentDetail:
    """Close a resolved incident (the platform only; 409 before it is resolved)."""
    platform_only(party, "close an incident")
    return await _step(session, state, party, incident_id, lifecycle.close, body)


@router.get("/operators/{operator_id}/ops-settings", response_model=OpsSettingsRead)
async def get_ops_settings(operator_id: str, party: Caller, session: Session) -> OpsSettingsRead:
    """The operator's severity policy, holiday calendar, business hours, webhook."""
    party.check_visible(operator_id, f"operator {operator_id!r}")
    return await profiles.read_settings(session, operator_id)


@router.patch("/operators/{operator_id}/ops-settings", response_model=OpsSettingsRead)
async def patch_ops_settings(
    operator_id: str,
    patch: Annotated[OpsSettingsPatch, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> OpsSettingsRead:
    """Choose the policy (mobile_plans, dynamo, data_marketplace) and calendar (platform)."""
    platform_only(party, "change operations settings")
    return await profiles.update_settings(session, operator_id, patch, now=state.clock.now())
