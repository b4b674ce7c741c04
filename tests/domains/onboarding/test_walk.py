"""An operator's whole way, Feasibility to accepted launch, on a frozen clock: due dates
from the business calendar, slipping, evidence that completes milestones, manual sign-offs,
Go refused then overridden or earned, promotion, launch and acceptance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.audit import service as audit_service
from mobileplans.domains.onboarding import evidence as intake
from mobileplans.domains.onboarding import gates, service
from mobileplans.domains.onboarding.schemas import (
    GoIn,
    NoteIn,
    Plan,
    PromoteIn,
    RangeChoice,
    RecordIn,
    StartIn,
)
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OnboardingPhase, OperatorSpec
from mobileplans.errors import BadRequest, Conflict, Forbidden, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.domains.onboarding.support import (
    DEVICES_OK,
    GETBALANCE_OK,
    NORTHWIND,
    PLATFORM,
    green_probes,
    northwind,
    report,
)

Sessions = async_sessionmaker[AsyncSession]
MANUAL = [
    ("assess-scenarios", "joint"),
    ("commit", "joint"),
    ("cosa-update", "operator"),
    ("code-complete", "operator"),
    ("test-sign-off", "platform"),
    ("customer-support", "joint"),
    ("commercial-agreement", "operator"),
]


@pytest.fixture
async def started(sessions: Sessions, clock: FrozenClock) -> None:
    async with session_scope(sessions) as session:
        spec = OperatorSpec.model_validate(northwind())
        await registry_service.put_operator(session, spec, actor="test", now=clock.now())
        await service.start(
            session,
            PLATFORM,
            "northwind",
            StartIn(plan=Plan.MOBILE_PLANS, start=date(2026, 11, 2)),
            now=clock.now(),
        )


async def phase(session: AsyncSession) -> OnboardingPhase:
    return (await registry_service.get_operator(session, "northwind")).onboarding_phase


async def test_due_dates_skip_weekends_and_holidays(
    sessions: Sessions, clock: FrozenClock, started: None
) -> None:
    async with session_scope(sessions) as session:
        project = await service.show(session, PLATFORM, "northwind", now=clock.now())
        assert await phase(session) is OnboardingPhase.FEASIBILITY
    due = {m.key: m.due_date for m in project.milestones}
    # 5 business days from Monday 2 Nov 2026 09:00 Paris: Friday 6 Nov; 5 more skip the
    # weekend and 11 Nov (Armistice, France's calendar: the operator's first country).
    assert due["assess-scenarios"] == date(2026, 11, 6)
    assert due["commit"] == date(2026, 11, 16)
    assert project.projected_launch == project.planned_launch
    assert project.slipping == []


async def test_slipping_moves_the_projected_launch(
    sessions: Sessions, clock: FrozenClock, started: None
) -> None:
    clock.advance(timedelta(days=9))  # Wednesday 11 Nov: assess-scenarios is past due
    async with session_scope(sessions) as session:
        project = await service.show(session, PLATFORM, "northwind", now=clock.now())
    assert project.slipping == ["assess-scenarios"]
    assert project.phase == "feasibility"  # later evidence waits for its phase
    assert project.projected_launch > project.planned_launch


async def test_walk_from_feasibility_to_acceptance(
    sessions: Sessions, clock: FrozenClock, started: None
) -> None:
    now = clock.now
    async with session_scope(sessions) as session:
        with pytest.raises(Conflict, match="cannot be ticked by hand"):
            await service.record(
                session,
                PLATFORM,
                "northwind",
                "getbalance-validated",
                RecordIn(note="looks fine"),
                now=now(),
            )
        with pytest.raises(Forbidden, match="operator side"):
            await service.record(
                session, PLATFORM, "northwind", "cosa-update", RecordIn(note="x"), now=now()
            )
    for key, owner in MANUAL:
        async with session_scope(sessions) as session:
            for party in {
                "joint": (PLATFORM, NORTHWIND),
                "operator": (NORTHWIND,),
                "platform": (PLATFORM,),
            }[owner]:
                await service.record(
                    session, party, "northwind", key, RecordIn(note=f"{key} ok"), now=now()
                )
    async with session_scope(sessions) as session:
        # service configuration is evidenced by the registry; the phase moved on
        project = await service.show(session, PLATFORM, "northwind", now=now())
        done = {m.key for m in project.milestones if m.done_at}
        assert "service-configuration" in done
        assert await phase(session) is OnboardingPhase.INTEGRATION
        verdict = await gates.go_no_go(session, PLATFORM, "northwind", now=now())
        assert verdict.verdict == "no-go"
        with pytest.raises(Conflict, match="mandatory criteria fail"):
            await gates.go(session, PLATFORM, "northwind", GoIn(), now=now())
        with pytest.raises(Conflict, match="needs Go first"):
            await gates.promote(
                session, PLATFORM, "northwind", PromoteIn(range=RangeChoice.FULL), now=now()
            )

    clock.advance(timedelta(hours=1))
    async with session_scope(sessions) as session:
        filed = await intake.file_evidence(
            session,
            NORTHWIND,
            "northwind",
            report("staging", {**GETBALANCE_OK, **DEVICES_OK}, finished=now()),
            now=now(),
        )
        project = await service.show(session, PLATFORM, "northwind", now=now())
        gb = next(m for m in project.milestones if m.key == "getbalance-validated")
        assert gb.done_at == now()
        assert gb.evidence is not None
        assert gb.evidence["runId"] == filed.run_id
        assert gb.evidence["verdict"] == "pass"
        # production test range before Go (spec 4.3 / DYNAMO "small test SIM range")
        promoted = await gates.promote(
            session, PLATFORM, "northwind", PromoteIn(range=RangeChoice.TEST), now=now()
        )
        assert promoted.applied
        assert promoted.production_stage == "test"
        assert (
            (await registry_service.get_operator(session, "northwind"))
            .environments["production"]
            .enabled
        )  # type: ignore[index]
        await intake.file_evidence(
            session,
            NORTHWIND,
            "northwind",
            report("production", DEVICES_OK, finished=now()),
            now=now(),
        )
        await intake.file_evidence(
            session,
            NORTHWIND,
            "northwind",
            report("production", {"LOAD-001": "pass"}, finished=now(), kind="conformance-load"),
            now=now(),
        )
        await green_probes(session, "northwind", now=now())
        verdict = await gates.go_no_go(session, PLATFORM, "northwind", now=now())
        assert verdict.verdict == "go", [c for c in verdict.criteria if c.verdict == "fail"]
        await gates.go(session, NORTHWIND, "northwind", GoIn(note="ready"), now=now())
        project = await gates.go(session, PLATFORM, "northwind", GoIn(note="ready"), now=now())
        assert next(m for m in project.milestones if m.key == "go-no-go").done_at == now()
        await gates.promote(
            session, PLATFORM, "northwind", PromoteIn(range=RangeChoice.FULL), now=now()
        )
        with pytest.raises(Forbidden):
            await gates.launch(session, NORTHWIND, "northwind", NoteIn(), now=now())
        await gates.launch(session, PLATFORM, "northwind", NoteIn(note="agreed 09:00"), now=now())
        assert await phase(session) is OnboardingPhase.LAUNCHED
        with pytest.raises(Forbidden):
            await gates.accept(session, PLATFORM, "northwind", NoteIn(), now=now())
        project = await gates.accept(
            session, NORTHWIND, "northwind", NoteIn(note="E2E ok"), now=now()
        )
        assert project.accepted_at == now()
        assert project.phase == "post-launch"
        entries = await audit_service.list_entries(session, entity_id="northwind", limit=500)
        assert any(e.action == "onboarding.acceptance" for e in entries)
        assert [e.kind for e in project.timeline][-1] == "acceptance"


async def test_override_is_platform_only_and_kept(
    sessions: Sessions, clock: FrozenClock, started: None
) -> None:
    async with session_scope(sessions) as session:
        with pytest.raises(Forbidden):
            await gates.go(
                session, NORTHWIND, "northwind", GoIn(override="trust me"), now=clock.now()
            )
        with pytest.raises(BadRequest) as bad:
            await gates.go(session, PLATFORM, "northwind", GoIn(override="  "), now=clock.now())
        assert bad.value.extra["field"] == "override"
        project = await gates.go(
            session,
            PLATFORM,
            "northwind",
            GoIn(override="launch window fixed by the regulator"),
            now=clock.now(),
        )
    assert project.go_override is not None
    assert "commit" in project.go_override["failing"]
    assert any(e.kind == "override" for e in project.timeline)


async def test_evidence_intake_refuses_bad_reports(
    sessions: Sessions, clock: FrozenClock, started: None
) -> None:
    good = report("staging", GETBALANCE_OK, finished=clock.now())
    cases = [
        ({**good, "verdict": "pass", "counts": {"pass": 99}}, "sha256"),
        (
            report("staging", GETBALANCE_OK, finished=clock.now(), operator="contoso"),
            "evidence.operator",
        ),
        ({**good, "kind": "other"}, "kind"),
    ]
    for document, field in cases:
        async with session_scope(sessions) as session:
            with pytest.raises(BadRequest) as bad:
                await intake.file_evidence(
                    session, PLATFORM, "northwind", document, now=clock.now()
                )
            assert bad.value.extra["field"] == field
    async with session_scope(sessions) as session:
        assert (await service.show(session, PLATFORM, "northwind", now=clock.now())).evidence == []
        with pytest.raises(NotFound):
            await service.show(
                session,
                NORTHWIND.__class__("operator", "contoso", "c"),
                "northwind",
                now=clock.now(),
            )
