"""Go/No-Go, promotion, launch and acceptance (spec 4.4 checkpoints, 4.5 launch).

Go/No-Go evaluates every launch criterion live: the mandatory manual milestones must be
recorded, the evidence rules must hold *now*. Go needs both parties; it is refused while a
mandatory criterion fails unless the platform records an override with a written
justification, kept on the project for good. Promotion to the full production range needs
Go (the test range may go first); launch needs the full range; acceptance is the operator's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import OnboardingProject
from mobileplans.domains.access.service import Party
from mobileplans.domains.onboarding import (
    criteria,
    promotion,
    repository,
    schedule,
    service,
    timeline,
)
from mobileplans.domains.onboarding.schemas import (
    CriterionRead,
    GoIn,
    GoNoGoRead,
    Kind,
    NoteIn,
    ProjectRead,
    PromoteIn,
    PromotionRead,
    RangeChoice,
)
from mobileplans.domains.onboarding.templates import ACCEPT, GO, LAUNCH
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.errors import BadRequest, Conflict, Forbidden


async def criteria_of(session: AsyncSession, operator_id: str) -> list[CriterionRead]:
    facts = await service._facts(session, operator_id)
    out: list[CriterionRead] = []
    for m in await repository.milestones(session, operator_id):
        if m.kind == Kind.GATE.value:
            continue
        if m.kind == Kind.EVIDENCE.value:
            finding = await criteria.evaluate(facts, m.key)
            since = (finding.at or m.done_at) if finding.met else None
            verdict, evidence = ("pass" if finding.met else "fail"), finding.summary
        else:
            done = m.done_at is not None
            verdict, since = ("pass" if done else "fail"), m.done_at
            notes = "; ".join(f"{side}: {s['note']}" for side, s in sorted(m.signoffs.items()))
            evidence = notes if notes else "not recorded"
        out.append(CriterionRead(
            key=m.key, title=m.title, mandatory=m.mandatory, verdict=verdict,
            evidence=evidence, since=since,
        ))  # fmt: skip
    return out


async def go_no_go(
    session: AsyncSession, party: Party, operator_id: str, *, now: datetime
) -> GoNoGoRead:
    project = await service.load(session, party, operator_id)
    await service.refresh(session, project, now=now)
    found = await criteria_of(session, operator_id)
    failing = [c for c in found if c.mandatory and c.verdict == "fail"]
    go = await service.milestone(session, operator_id, GO)
    return GoNoGoRead(
        operator_id=operator_id,
        verdict="go" if not failing else "no-go",
        criteria=found,
        go_signoffs=service.signoffs(go),
        go_override=project.go_override,
    )


async def go(
    session: AsyncSession, party: Party, operator_id: str, spec: GoIn, *, now: datetime
) -> ProjectRead:
    """One party's Go; the milestone completes when both parties have recorded it."""
    project = await service.load(session, party, operator_id, lock=True)
    await service.refresh(session, project, now=now)
    m = await service.milestone(session, operator_id, GO)
    if m.done_at is not None:
        raise Conflict(f"Go was already recorded on {m.done_at.isoformat()}")
    failing = [
        c.key
        for c in await criteria_of(session, operator_id)
        if c.mandatory and c.verdict == "fail"
    ]
    justification = (spec.override or "").strip()
    if spec.override is not None and not party.is_platform:
        raise Forbidden("only the platform can override a failing launch criterion")
    if spec.override is not None and not justification:
        raise BadRequest("override needs a written justification", field="override")
    if failing and not justification and project.go_override is None:
        raise Conflict(
            "Go refused: mandatory criteria fail: " + ", ".join(failing),
            failing=failing,
        )
    if justification:
        project.go_override = {
            "justification": justification,
            "actor": party.actor,
            "at": now.isoformat(),
            "failing": failing,
        }
        message = (
            f"Go override over {', '.join(failing) or 'no failing criterion'}: {justification}"
        )
        await timeline.note(
            session, operator_id, "override", party, message, now=now, after=project.go_override
        )
    note = (spec.note or "").strip() or "Go"
    if service.sign(m, party, note, now=now):
        m.done_at = now
    await session.flush()
    state = (
        "Go recorded by both parties" if m.done_at else "Go recorded (waiting for the other side)"
    )
    await timeline.note(session, operator_id, "go", party, f"{state}: {note}", now=now)
    return await service.show(session, party, operator_id, now=now)


async def _gone(session: AsyncSession, operator_id: str) -> bool:
    return (await service.milestone(session, operator_id, GO)).done_at is not None


async def promote(
    session: AsyncSession, party: Party, operator_id: str, spec: PromoteIn, *, now: datetime
) -> PromotionRead:
    """Show the staging -> production difference and apply it (platform), now or later."""
    project = await service.load(session, party, operator_id, lock=True)
    operator = await registry_service.get_operator(session, operator_id)
    differences = promotion.differences(operator, spec.range)
    at = spec.at
    if spec.next_release:
        at = schedule.next_release(await service.calendar_of(session, operator_id), now)
    if at is not None and at.tzinfo is None:
        raise BadRequest("at needs an offset, e.g. Z", field="at")
    if at is not None and at <= now and not spec.next_release:
        raise BadRequest(f"at {at.isoformat()} is not in the future", field="at")
    read = PromotionRead(
        operator_id=operator_id, range=spec.range, applied=False, at=at,
        differences=differences, production_stage=project.production_stage,
    )  # fmt: skip
    if spec.dry_run:
        return read
    if not party.is_platform:
        raise Forbidden("only the platform configures production (spec 4.4)")
    if spec.range is RangeChoice.FULL and not await _gone(session, operator_id):
        raise Conflict("the full production range needs Go first (onboarding go-no-go)")
    if at is not None:
        project.scheduled_promotion = {"range": spec.range.value, "at": at.isoformat()}
        project.updated_at = now
        message = f"promotion to the {spec.range.value} range scheduled for {at.isoformat()}"
        await timeline.note(session, operator_id, "scheduled", party, message, now=now)
        return read.model_copy(update={"production_stage": project.production_stage})
    await promotion.apply(session, project, spec.range, party, now=now)
    await service.refresh(session, project, now=now)
    return read.model_copy(update={"applied": True, "production_stage": project.production_stage})


async def launch(
    session: AsyncSession, party: Party, operator_id: str, spec: NoteIn, *, now: datetime
) -> ProjectRead:
    """The agreed launch: the operator goes live in the production catalog (platform)."""
    if not party.is_platform:
        raise Forbidden("only the platform launches (spec 4.5: it moves the portal to production)")
    project = await service.load(session, party, operator_id, lock=True)
    if not await _gone(session, operator_id):
        raise Conflict("launch needs Go first (onboarding go)")
    if project.production_stage != "full":
        raise Conflict("launch needs the full production range (onboarding promote --range full)")
    if project.launched_at is not None:
        raise Conflict(f"already launched on {project.launched_at.isoformat()}")
    await _complete(session, project, LAUNCH, party, spec.note or "launched", now=now)
    project.launched_at = now
    await service.refresh(session, project, now=now)
    return await service.show(session, party, operator_id, now=now)


async def accept(
    session: AsyncSession, party: Party, operator_id: str, spec: NoteIn, *, now: datetime
) -> ProjectRead:
    """The operator's formal acceptance after its launch-day validation (spec 4.5)."""
    if party.is_platform:
        raise Forbidden("the operator accepts the live service (use its credentials)")
    project = await service.load(session, party, operator_id, lock=True)
    if project.launched_at is None:
        raise Conflict("nothing to accept before the launch")
    if project.accepted_at is not None:
        raise Conflict(f"already accepted on {project.accepted_at.isoformat()}")
    await _complete(session, project, ACCEPT, party, spec.note or "accepted", now=now)
    project.accepted_at = now
    await session.flush()
    return await service.show(session, party, operator_id, now=now)


async def _complete(
    session: AsyncSession,
    project: OnboardingProject,
    key: str,
    party: Party,
    note: str,
    *,
    now: datetime,
) -> None:
    m = await service.milestone(session, project.operator_id, key)
    service.sign(m, party, note, now=now)
    m.done_at = now
    project.updated_at = now
    await session.flush()
    await timeline.note(session, project.operator_id, key, party, f"{m.title}: {note}", now=now)
