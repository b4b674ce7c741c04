"""Issuing frozen statements for closed periods, and checking them against raw evidence.

Issuing computes the statement twice, from rollups and from every raw row of the period,
and refuses (409) when they disagree (rollups needing a rebuild). The stored statement
carries the SHA-256 digest of its evidence and the highest result id it used. Results that
arrive later for the period (ids above that) never change it; verification recomputes from
the rows up to that id and reports the late ones as ``lateRows``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import SlaStatement
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OnboardingPhase
from mobileplans.domains.sla import repository, service
from mobileplans.domains.sla.maintenance import IntervalSet
from mobileplans.domains.sla.periods import Period, parse_period
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.schemas import (
    Evidence,
    IssuedStatement,
    SlaStatementBody,
    Verification,
)
from mobileplans.domains.sla.statements import (
    EvidenceHasher,
    ProbeRef,
    StatementInput,
    build_statement,
)
from mobileplans.domains.sla.tally import Tally
from mobileplans.errors import Conflict, NotFound


async def from_evidence(
    session: AsyncSession, inp: StatementInput, *, max_id: int | None = None
) -> tuple[SlaStatementBody, EvidenceHasher, int]:
    """The statement from raw rows alone (brute force), its evidence digest, late rows."""
    hasher = EvidenceHasher(inp)
    excluded = IntervalSet(inp.excluded)
    tally, skipped, late = Tally(), 0, 0
    async for row in repository.evidence_rows(
        session, inp.probe.id, inp.period.start, inp.period.end
    ):
        result_id, probe_id, scheduled_at, started_at, outcome, latency, status = row
        if max_id is not None and result_id > max_id:
            late += 1
            continue
        hasher.add(result_id, probe_id, scheduled_at, started_at, outcome, latency, status)
        if started_at in excluded:
            skipped += 1
        else:
            tally.add_result(outcome, latency)
    return build_statement(inp, tally, excluded_probes=skipped), hasher, late


def _stored(row: SlaStatement, *, already: bool) -> IssuedStatement:
    data = row.statement
    return IssuedStatement(
        id=row.id,
        issued_at=row.issued_at,
        already_issued=already,
        evidence=Evidence.model_validate(data["evidence"]),
        statement=SlaStatementBody.model_validate(data["statement"]),
    )


async def _issue_one(
    session: AsyncSession, inp: StatementInput, *, now: datetime
) -> IssuedStatement:
    probe, period = inp.probe, inp.period
    existing = await repository.find_statement(
        session, probe.operator_id, probe.environment, probe.kind, period.start, period.end
    )
    if existing is not None:
        return _stored(existing, already=True)
    [computed] = await service.compute(session, [inp])
    body, hasher, _ = await from_evidence(session, inp)
    if body.figures() != computed.statement.figures():
        raise Conflict(
            f"rollups of {probe.operator_id}/{probe.environment}/{probe.kind} disagree with the "
            f"raw results for {period.label}; rebuild them (mobileplans sla rebuild) and retry",
            probeId=probe.id,
        )
    evidence = Evidence(
        digest=hasher.hexdigest(),
        rows=hasher.rows,
        max_result_id=hasher.max_id,
        excluded=list(inp.excluded),
    )
    return await _store(session, inp, body, evidence, now=now)


async def _store(
    session: AsyncSession,
    inp: StatementInput,
    body: SlaStatementBody,
    evidence: Evidence,
    *,
    now: datetime,
) -> IssuedStatement:
    probe, period = inp.probe, inp.period
    row = SlaStatement(
        operator_id=probe.operator_id,
        environment=probe.environment,
        kind=probe.kind,
        period_label=period.label,
        period_start=period.start,
        period_end=period.end,
        timezone=period.timezone,
        issued_at=now,
        statement={"statement": body.figures(), "evidence": evidence.wire()},
        evidence_digest=evidence.digest,
    )
    try:
        await repository.add_statement(session, row)
    except IntegrityError:  # issued concurrently: the first one stands
        found = await repository.find_statement(
            session, probe.operator_id, probe.environment, probe.kind, period.start, period.end
        )
        assert found is not None
        return _stored(found, already=True)
    return _stored(row, already=False)


async def issue(
    session: AsyncSession,
    *,
    operator_id: str,
    environment: str = "production",
    kind: str | None = None,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    now: datetime,
    policy: SlaPolicy,
) -> list[IssuedStatement]:
    """Freeze the statements of a closed period (idempotent: an issued one is returned)."""
    operator = await registry_service.get_operator(session, operator_id)
    if environment == "production" and operator.onboarding_phase is not OnboardingPhase.LAUNCHED:
        raise Conflict(
            f"{operator_id} is in {operator.onboarding_phase.value}: production SLA statements "
            "count from Post launch (issue #9)",
            phase=operator.onboarding_phase.value,
        )
    chosen = parse_period(period, start=start, end=end, timezone=operator.timezone)
    closes = chosen.end + timedelta(seconds=policy.issue_grace_seconds)
    if closes > now:
        raise Conflict(
            f"period {chosen.label} can be issued from {closes.isoformat()} "
            f"(its end plus {policy.issue_grace_seconds:g} s for late results)",
            field="period",
        )
    probes = await service.operator_probes(session, operator_id, environment, kind)
    inputs = await service.statement_inputs(session, probes, lambda _op: chosen)
    return [await _issue_one(session, inp, now=now) for inp in inputs]


async def list_issued(
    session: AsyncSession, operator_id: str, environment: str | None
) -> list[IssuedStatement]:
    rows = await repository.list_statements(session, operator_id, environment)
    return [_stored(r, already=True) for r in rows]


async def get_issued(session: AsyncSession, operator_id: str, statement_id: int) -> IssuedStatement:
    row = await repository.get_statement(session, statement_id)
    if row is None or row.operator_id != operator_id:
        raise NotFound(f"no issued statement {statement_id} for operator {operator_id!r}")
    return _stored(row, already=True)


def _input_of(issued: IssuedStatement) -> StatementInput:
    body = issued.statement
    evidence_input = StatementInput(
        probe=ProbeRef(
            id=body.probe_id,
            operator_id=body.operator_id,
            environment=body.environment,
            kind=body.kind,
            interval_seconds=None,
        ),
        period=Period(
            body.period.label,
            body.period.start.astimezone(UTC),
            body.period.end.astimezone(UTC),
            body.period.timezone,
        ),
        contract=body.contract,
        excluded=[(a.astimezone(UTC), b.astimezone(UTC)) for a, b in issued.evidence.excluded],
        window_ids=list(body.maintenance_window_ids),
    )
    return evidence_input


async def verify(session: AsyncSession, operator_id: str, statement_id: int) -> Verification:
    """Recompute an issued statement from its raw evidence (rows up to ``maxResultId``)."""
    issued = await get_issued(session, operator_id, statement_id)
    inp = _input_of(issued)
    body, hasher, late = await from_evidence(session, inp, max_id=issued.evidence.max_result_id)
    stored = issued.statement.figures()
    recomputed = body.figures()
    # the expected-probes figure depends on the probe interval at issue time: keep it
    recomputed["expectedProbes"] = stored["expectedProbes"]
    digest_ok = hasher.hexdigest() == issued.evidence.digest
    same = recomputed == stored
    return Verification(
        id=statement_id,
        reproducible=digest_ok and same,
        digest_matches=digest_ok,
        statement_matches=same,
        recomputed_digest=hasher.hexdigest(),
        late_rows=late,
    )
