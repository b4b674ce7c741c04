"""Onboarding use cases (spec 4.4-4.5, issue #9). Functions take the session, never commit.

``start`` lays out a project from a plan template; every read ``refresh``es it first:
scheduled promotions that are due are applied, evidence milestones whose rule is met
complete themselves (with the evidence), and the registry's ``onboardingPhase`` follows the
first open milestone. Manual milestones are recorded by their owner (both parties for a
joint one). An operator party sees only its own project; others answer 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import OnboardingEvidence, OnboardingMilestone, OnboardingProject
from mobileplans.domains.access.service import Party
from mobileplans.domains.incident import profiles
from mobileplans.domains.onboarding import criteria, promotion, repository, schedule, timeline
from mobileplans.domains.onboarding.schemas import (
    EvidenceDetail,
    EvidenceRead,
    Kind,
    MilestoneRead,
    OnboardingEventRead,
    Owner,
    ProjectRead,
    RangeChoice,
    RecordIn,
    SignoffRead,
    StartIn,
)
from mobileplans.domains.onboarding.templates import (
    PHASES,
    PLANS,
    POST_LAUNCH,
    ROLLOUT,
    Activity,
)
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OnboardingPhase
from mobileplans.errors import BadRequest, Conflict, Forbidden, NotFound
from mobileplans.kit.business_time import BusinessCalendar


async def calendar_of(session: AsyncSession, operator_id: str) -> BusinessCalendar:
    return (await profiles.profile_for(session, operator_id)).calendar


async def load(
    session: AsyncSession, party: Party, operator_id: str, *, lock: bool = False
) -> OnboardingProject:
    party.check_visible(operator_id, f"onboarding project of {operator_id!r}")
    row = await repository.project(session, operator_id, lock=lock)
    if row is None:
        raise NotFound(
            f"operator {operator_id!r} has no onboarding project "
            "(start one: mobileplans onboarding start)",
            operator=operator_id,
        )
    return row


async def start(
    session: AsyncSession, party: Party, operator_id: str, spec: StartIn, *, now: datetime
) -> ProjectRead:
    """Lay out the plan's milestones from ``spec.start`` (platform only)."""
    if not party.is_platform:
        raise Forbidden("only the platform starts an onboarding project")
    operator = await registry_service.get_operator(session, operator_id)
    if await repository.project(session, operator_id) is not None:
        raise Conflict(f"operator {operator_id!r} already has an onboarding project")
    calendar = await calendar_of(session, operator_id)
    activities = PLANS[spec.plan]
    dues = schedule.lay_out(calendar, spec.start, [a.days for a in activities])
    project = OnboardingProject(
        operator_id=operator_id,
        plan=spec.plan.value,
        start_date=spec.start,
        production_stage="none",
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, project)
    session.add_all(_milestones(operator_id, activities, dues))
    await session.flush()
    message = f"{spec.plan.value} plan from {spec.start.isoformat()}, launch due {dues[-2]}"
    await timeline.note(session, operator_id, "started", party, message, now=now)
    await _set_phase(session, operator.id, OnboardingPhase.FEASIBILITY, now=now)
    return await show(session, party, operator_id, now=now)


def _milestones(
    operator_id: str, activities: Sequence[Activity], dues: Sequence[date], **done: Any
) -> list[OnboardingMilestone]:
    """The plan's milestones, in order, with their due dates (``done``: for adopted ones)."""
    return [
        OnboardingMilestone(
            operator_id=operator_id,
            position=position,
            key=activity.key,
            phase=activity.phase,
            title=activity.title,
            owner=activity.owner.value,
            kind=activity.kind.value,
            estimate_days=activity.days,
            mandatory=activity.mandatory,
            due_date=due,
            signoffs={},
            **done,
        )
        for position, (activity, due) in enumerate(zip(activities, dues, strict=True))
    ]


async def adopt_live(
    session: AsyncSession, party: Party, operator_id: str, spec: StartIn, *, now: datetime
) -> ProjectRead:
    """A project for an operator that was live before onboarding was tracked: every
    milestone done (evidence ``adopted``), launched and accepted; its phase stays live."""
    if not party.is_platform:
        raise Forbidden("only the platform starts an onboarding project")
    await registry_service.get_operator(session, operator_id)
    if await repository.project(session, operator_id) is not None:
        raise Conflict(f"operator {operator_id!r} already has an onboarding project")
    activities = PLANS[spec.plan]
    dues = schedule.lay_out(
        await calendar_of(session, operator_id), spec.start, [a.days for a in activities]
    )
    project = OnboardingProject(
        operator_id=operator_id,
        plan=spec.plan.value,
        start_date=spec.start,
        production_stage="full",
        launched_at=now,
        accepted_at=now,
        created_at=now,
        updated_at=now,
    )
    await repository.add(session, project)
    evidence = {"source": "adopted", "summary": "live before onboarding was tracked"}
    session.add_all(_milestones(operator_id, activities, dues, done_at=now, evidence=evidence))
    await session.flush()
    message = f"adopted as live and accepted ({spec.plan.value} plan from {spec.start})"
    await timeline.note(session, operator_id, "adopted", party, message, now=now)
    await _set_phase(session, operator_id, OnboardingPhase.LAUNCHED, now=now)
    return await show(session, party, operator_id, now=now)


async def _set_phase(
    session: AsyncSession, operator_id: str, phase: OnboardingPhase, *, now: datetime
) -> None:
    spec = await registry_service.get_operator(session, operator_id)
    if spec.onboarding_phase is not phase:
        updated = spec.model_copy(update={"onboarding_phase": phase})
        await registry_service.put_operator(session, updated, actor="onboarding", now=now)
        await timeline.note(
            session, operator_id, "phase", timeline.SYSTEM, f"phase is now {phase.value}", now=now
        )


def phase_of(project: OnboardingProject, milestones: list[OnboardingMilestone]) -> str:
    if project.launched_at is not None:
        return POST_LAUNCH
    open_phases = [m.phase for m in milestones if m.done_at is None and m.phase != POST_LAUNCH]
    return min(open_phases, key=PHASES.index) if open_phases else ROLLOUT


def registry_phase(phase: str) -> OnboardingPhase:
    return OnboardingPhase.LAUNCHED if phase == POST_LAUNCH else OnboardingPhase(phase)


async def refresh(session: AsyncSession, project: OnboardingProject, *, now: datetime) -> None:
    """Apply a due scheduled promotion, complete milestones whose evidence is there, and
    make the registry's phase follow the project."""
    pending = project.scheduled_promotion
    if pending and datetime.fromisoformat(pending["at"]) <= now:
        choice = RangeChoice(pending["range"])
        await promotion.apply(session, project, choice, timeline.SYSTEM, now=now)
    milestones = list(await repository.milestones(session, project.operator_id))
    facts = await _facts(session, project.operator_id)
    while await _complete_evidenced(session, project, milestones, facts, now=now):
        pass
    await session.flush()
    await _set_phase(
        session, project.operator_id, registry_phase(phase_of(project, milestones)), now=now
    )


async def _complete_evidenced(
    session: AsyncSession,
    project: OnboardingProject,
    milestones: list[OnboardingMilestone],
    facts: criteria.Facts,
    *,
    now: datetime,
) -> bool:
    """Complete the open evidence milestones of the phases reached whose rule holds (a
    later phase's evidence counts once the project gets there, D143)."""
    reached = PHASES.index(phase_of(project, milestones))
    completed = False
    for m in milestones:
        if m.kind != Kind.EVIDENCE.value or m.done_at is not None:
            continue
        if PHASES.index(m.phase) > reached:
            continue
        finding = await criteria.evaluate(facts, m.key)
        if finding.met:
            m.done_at, m.evidence, completed = now, finding.evidence, True
            await timeline.note(
                session,
                project.operator_id,
                "evidence",
                timeline.SYSTEM,
                f"{m.title}: {finding.summary}",
                now=now,
                after={"milestone": m.key, "evidence": finding.evidence},
            )
    return completed


async def _facts(session: AsyncSession, operator_id: str) -> criteria.Facts:
    operator = await registry_service.get_operator(session, operator_id)
    return criteria.Facts(operator, await repository.evidence(session, operator_id), session)


async def show(
    session: AsyncSession, party: Party, operator_id: str, *, now: datetime
) -> ProjectRead:
    project = await load(session, party, operator_id)
    await refresh(session, project, now=now)
    return await read(session, project, now=now)


async def read(session: AsyncSession, project: OnboardingProject, *, now: datetime) -> ProjectRead:
    operator_id = project.operator_id
    calendar = await calendar_of(session, operator_id)
    milestones = list(await repository.milestones(session, operator_id))
    steps = [schedule.Step(m.estimate_days, m.due_date, m.done_at) for m in milestones]
    projected = schedule.project(calendar, project.start_date, steps, now)
    reads = [
        _milestone_read(m, p, schedule.slipping(calendar, s, now))
        for m, s, p in zip(milestones, steps, projected, strict=True)
    ]
    launch = next(i for i, m in enumerate(milestones) if m.key == "launch")
    return ProjectRead(
        operator_id=operator_id,
        plan=project.plan,
        phase=phase_of(project, milestones),
        start_date=project.start_date,
        planned_launch=milestones[launch].due_date,
        projected_launch=projected[launch],
        slipping=[r.key for r in reads if r.slipping],
        production_stage=project.production_stage,
        scheduled_promotion=project.scheduled_promotion,
        go_override=project.go_override,
        launched_at=project.launched_at,
        accepted_at=project.accepted_at,
        milestones=reads,
        evidence=[evidence_read(e) for e in await repository.evidence(session, operator_id)],
        timeline=[
            OnboardingEventRead(at=e.at, kind=e.kind, side=e.side, actor=e.actor, message=e.message)
            for e in await repository.events(session, operator_id)
        ],
    )


def signoffs(m: OnboardingMilestone) -> list[SignoffRead]:
    return [
        SignoffRead(side=side, actor=s["actor"], at=datetime.fromisoformat(s["at"]), note=s["note"])
        for side, s in sorted(m.signoffs.items())
    ]


def _milestone_read(m: OnboardingMilestone, projected: Any, slipping: bool) -> MilestoneRead:
    return MilestoneRead(
        key=m.key,
        phase=m.phase,
        title=m.title,
        owner=Owner(m.owner),
        kind=Kind(m.kind),
        mandatory=m.mandatory,
        estimate_days=m.estimate_days,
        due_date=m.due_date,
        projected_date=projected,
        done_at=m.done_at,
        slipping=slipping,
        signoffs=signoffs(m),
        evidence=m.evidence,
    )


def evidence_read(row: OnboardingEvidence) -> EvidenceRead:
    return EvidenceRead(
        id=row.id,
        run_id=criteria.run_id(row),
        kind=row.kind,
        environment=row.environment,
        verdict=row.verdict,
        sha256=row.sha256,
        finished_at=row.finished_at,
        received_at=row.received_at,
        actor=row.actor,
    )


async def evidence_detail(
    session: AsyncSession, party: Party, operator_id: str, evidence_id: int
) -> EvidenceDetail:
    """One filed report of ``operator_id`` with its case outcomes (404 if not visible)."""
    party.check_visible(operator_id, f"evidence {evidence_id} of {operator_id!r}")
    for row in await repository.evidence(session, operator_id):
        if row.id == evidence_id:
            outcomes = row.outcomes or {}
            return EvidenceDetail(
                **evidence_read(row).model_dump(),
                cases=dict(outcomes.get("cases") or {}),
                mandatory_failures=list(outcomes.get("mandatoryFailures") or []),
                report=outcomes.get("report"),
            )
    raise NotFound(f"evidence {evidence_id} of {operator_id!r} does not exist")


async def milestone(session: AsyncSession, operator_id: str, key: str) -> OnboardingMilestone:
    for m in await repository.milestones(session, operator_id):
        if m.key == key:
            return m
    raise NotFound(f"operator {operator_id!r} has no milestone {key!r}", field="milestone")


def sign(m: OnboardingMilestone, party: Party, note: str, *, now: datetime) -> bool:
    """Add ``party``'s sign-off; True once every owning side has signed."""
    entry = {"actor": party.actor, "at": now.isoformat(), "note": note}
    m.signoffs = {**m.signoffs, party.side: entry}
    needed = {"operator", "platform"} if m.owner == Owner.JOINT.value else {m.owner}
    return needed <= set(m.signoffs)


async def record(
    session: AsyncSession,
    party: Party,
    operator_id: str,
    key: str,
    spec: RecordIn,
    *,
    now: datetime,
) -> ProjectRead:
    """A manual milestone, recorded by its owning party with a note (joint: both)."""
    await load(session, party, operator_id, lock=True)
    m = await milestone(session, operator_id, key)
    note = spec.note.strip()
    if not note:
        raise BadRequest("note is required", field="note")
    if m.kind != Kind.MANUAL.value:
        how = "its evidence appears" if m.kind == Kind.EVIDENCE.value else "its command runs"
        raise Conflict(f"{m.title!r} completes itself when {how}; it cannot be ticked by hand")
    if m.owner not in (Owner.JOINT.value, party.side):
        raise Forbidden(f"{m.title!r} is recorded by the {m.owner} side")
    if m.done_at is not None:
        raise Conflict(f"{m.title!r} was already completed on {m.done_at.isoformat()}")
    if party.side in m.signoffs:
        raise Conflict(f"the {party.side} side already recorded {m.title!r}")
    complete = sign(m, party, note, now=now)
    if complete:
        m.done_at = now
    await session.flush()
    state = "completed" if complete else "recorded (waiting for the other side)"
    message = f"{m.title} {state}: {note}"
    await timeline.note(session, operator_id, "recorded", party, message, now=now)
    return await show(session, party, operator_id, now=now)
