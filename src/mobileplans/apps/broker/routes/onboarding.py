"""Onboarding API (spec 4.4-4.5; issue #9), shared by the platform and the operator.

``Authorization: Bearer <token>``: the admin token or a platform credential acts for the
platform; an operator's credential for that operator only (another operator's project
answers 404). Manual milestones are recorded by their owning side (joint ones by both);
evidence milestones complete themselves from filed conformance reports, the registry,
probes, incidents and bugs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from mobileplans.apps.broker.deps import Caller, Session, State
from mobileplans.domains.onboarding import evidence as intake
from mobileplans.domains.onboarding import gates, service
from mobileplans.domains.onboarding.schemas import (
    EvidenceRead,
    GoIn,
    GoNoGoRead,
    NoteIn,
    ProjectRead,
    PromoteIn,
    PromotionRead,
    RecordIn,
    StartIn,
)
from mobileplans.web.problems import OPS_PROBLEM_RESPONSES

router = APIRouter(
    prefix="/v1/operators/{operator_id}/onboarding",
    tags=["onboarding"],
    responses=OPS_PROBLEM_RESPONSES,
)


@router.post("", response_model=ProjectRead, status_code=201)
async def start(
    operator_id: str,
    spec: Annotated[StartIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> ProjectRead:
    """Start the project from a plan template (spec 4.4); due dates from the estimates in
    business days of the operator's calendar. Platform only."""
    return await service.start(session, party, operator_id, spec, now=state.clock.now())


@router.get("", response_model=ProjectRead)
async def show(operator_id: str, party: Caller, session: Session, state: State) -> ProjectRead:
    """Phases, milestones (owner, due, projected, slipping, evidence) and the timeline."""
    return await service.show(session, party, operator_id, now=state.clock.now())


@router.post("/milestones/{key}", response_model=ProjectRead)
async def record(
    operator_id: str,
    key: str,
    spec: Annotated[RecordIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> ProjectRead:
    """Record a manual milestone with a note (its owning side; a joint one needs both)."""
    return await service.record(session, party, operator_id, key, spec, now=state.clock.now())


@router.post("/evidence", response_model=EvidenceRead, status_code=201)
async def evidence(
    operator_id: str,
    document: Annotated[dict[str, Any], Body()],
    party: Caller,
    session: Session,
    state: State,
) -> EvidenceRead:
    """File a sealed conformance report (the kit's ``--json``); its SHA-256 is checked."""
    return await intake.file_evidence(session, party, operator_id, document, now=state.clock.now())


@router.get("/go-no-go", response_model=GoNoGoRead)
async def go_no_go(operator_id: str, party: Caller, session: Session, state: State) -> GoNoGoRead:
    """Every launch criterion, evaluated now (spec 4.4 final checkpoint)."""
    return await gates.go_no_go(session, party, operator_id, now=state.clock.now())


@router.post("/go", response_model=ProjectRead)
async def go(
    operator_id: str, spec: Annotated[GoIn, Body()], party: Caller, session: Session, state: State
) -> ProjectRead:
    """One side's Go; refused (409) while a mandatory criterion fails, unless the platform
    gives an ``override`` justification."""
    return await gates.go(session, party, operator_id, spec, now=state.clock.now())


@router.post("/promote", response_model=PromotionRead)
async def promote(
    operator_id: str,
    spec: Annotated[PromoteIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> PromotionRead:
    """Staging -> production (spec 4.3, 4.5): ``range`` test (before Go) or full (after)."""
    return await gates.promote(session, party, operator_id, spec, now=state.clock.now())


@router.post("/launch", response_model=ProjectRead)
async def launch(
    operator_id: str, spec: Annotated[NoteIn, Body()], party: Caller, session: Session, state: State
) -> ProjectRead:
    """The agreed launch (spec 4.5): the phase becomes live. Platform only."""
    return await gates.launch(session, party, operator_id, spec, now=state.clock.now())


@router.post("/accept", response_model=ProjectRead)
async def accept(
    operator_id: str, spec: Annotated[NoteIn, Body()], party: Caller, session: Session, state: State
) -> ProjectRead:
    """The operator's formal acceptance after its launch-day validation (spec 4.5)."""
    return await gates.accept(session, party, operator_id, spec, now=state.clock.now())
