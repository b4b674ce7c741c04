"""Issued statements: frozen, reproducible from raw evidence, unmoved by late rows."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Probe, ProbeResult, ProbeRollup, SlaStatement
from mobileplans.db.session import session_scope
from mobileplans.domains.sla import issuance, service
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.schemas import IssuedStatement
from mobileplans.errors import Conflict
from mobileplans.kit.clock import FrozenClock
from tests.domains.sla.support import (
    Result,
    add_operator,
    add_probe,
    brute_force,
    roll_up_all,
    store,
    synthetic,
    utc,
)

POLICY = SlaPolicy()


async def setup_day(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> tuple[Probe, list[Result]]:
    now = clock.now()
    await add_operator(sessions, "adelaide", "Australia/Adelaide", now=now)
    probe = await add_probe(sessions, "adelaide", interval=60, now=now)
    results = synthetic(
        probe.id, utc(2026, 10, 29), utc(2026, 11, 1), interval=60, seed=4, failure_rate=0.02
    )
    await store(sessions, probe, results)
    await roll_up_all(sessions, now)
    return probe, results


async def issue(sessions: async_sessionmaker[AsyncSession], now: datetime) -> IssuedStatement:
    async with session_scope(sessions) as session:
        [issued] = await issuance.issue(
            session, operator_id="adelaide", period="2026-10-30", now=now, policy=POLICY
        )
    return issued


def independent_digest(results: list[Result], issued: IssuedStatement) -> str:
    """The documented evidence format, recomputed without the service's code."""
    body = issued.statement
    lines = [
        f"mobileplans-sla-evidence-v1|adelaide|production|getbalance|"
        f"{body.period.start.isoformat()}|{body.period.end.isoformat()}"
    ]
    inside = sorted(
        (r for r in results if body.period.start <= r.started_at < body.period.end),
        key=lambda r: r.started_at,
    )
    for r in inside:
        code = "" if r.status_code is None else str(r.status_code)
        lines.append(
            f"{r.probe_id}|{r.scheduled_at.isoformat()}|{r.started_at.isoformat()}|{r.outcome}|"
            f"{round(r.latency_ms * 1000)}|{code}"
        )
    return hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()


async def test_issued_statement_is_reproducible_and_late_rows_do_not_move_it(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    probe, results = await setup_day(sessions, clock)
    issued = await issue(sessions, clock.now())
    body = issued.statement
    brute = brute_force(results, probe.id, body.period.start, body.period.end, [])
    assert not issued.already_issued
    assert (body.probes, body.failures) == (brute.probes, brute.failures)
    assert body.period.start == utc(2026, 10, 29, 13, 30)  # 00:00 ACDT
    assert issued.evidence.rows == brute.probes
    assert issued.evidence.digest == independent_digest(results, issued)

    async with session_scope(sessions) as session:
        check = await issuance.verify(session, "adelaide", issued.id)
    assert check.reproducible
    assert check.late_rows == 0

    late = [
        Result(
            probe.id,
            body.period.start + timedelta(seconds=s),
            body.period.start + timedelta(seconds=s, milliseconds=5),
            "timeout",
            5000.0,
        )
        for s in (7, 13, 17)
    ]
    await store(sessions, probe, late)
    await roll_up_all(sessions, clock.now())
    async with session_scope(sessions) as session:
        live = await service.report(session, operator_id="adelaide", period="2026-10-30")
        check = await issuance.verify(session, "adelaide", issued.id)
        [again] = await issuance.issue(
            session, operator_id="adelaide", period="2026-10-30", now=clock.now(), policy=POLICY
        )
        stored = (await session.scalars(select(SlaStatement))).all()
    assert live.statements[0].statement.failures == body.failures + 3
    assert check.reproducible
    assert check.late_rows == 3
    assert again.already_issued
    assert again.id == issued.id
    assert again.statement == body
    assert again.evidence == issued.evidence
    assert len(stored) == 1


async def test_tampered_evidence_is_detected(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await setup_day(sessions, clock)
    issued = await issue(sessions, clock.now())
    async with session_scope(sessions) as session:
        victim = await session.scalar(
            select(ProbeResult.id)
            .where(
                ProbeResult.started_at >= issued.statement.period.start, ProbeResult.outcome == "ok"
            )
            .limit(1)
        )
        await session.execute(
            update(ProbeResult).where(ProbeResult.id == victim).values(outcome="timeout")
        )
    async with session_scope(sessions) as session:
        check = await issuance.verify(session, "adelaide", issued.id)
    assert not check.reproducible
    assert not check.digest_matches
    assert not check.statement_matches


async def test_open_period_and_disagreeing_rollups_are_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await setup_day(sessions, clock)
    async with session_scope(sessions) as session:
        with pytest.raises(Conflict, match="can be issued from"):
            await issuance.issue(
                session, operator_id="adelaide", period="2026-11-02", now=clock.now(), policy=POLICY
            )
    async with session_scope(sessions) as session:
        await session.execute(
            update(ProbeRollup).where(ProbeRollup.granularity == "hour").values(probes=1000)
        )
    async with session_scope(sessions) as session:
        with pytest.raises(Conflict, match="disagree"):
            await issuance.issue(
                session, operator_id="adelaide", period="2026-10-30", now=clock.now(), policy=POLICY
            )


async def test_concurrent_issue_stores_one_statement(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await setup_day(sessions, clock)
    first, second = await asyncio.gather(issue(sessions, clock.now()), issue(sessions, clock.now()))
    assert first.id == second.id
    assert first.evidence.digest == second.evidence.digest
    assert sorted([first.already_issued, second.already_issued]) == [False, True]
    async with session_scope(sessions) as session:
        listed = await issuance.list_issued(session, "adelaide", None)
    assert [s.id for s in listed] == [first.id]
