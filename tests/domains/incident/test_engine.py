"""The engine re-grades an open incident as the evidence changes, keeps one incident per
scope across passes, and ignores probes of operators no longer in the registry."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.models import Incident, IncidentEvent, Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.kit.clock import FrozenClock
from tests.domains.incident.test_global import evaluate, setup

Sessions = async_sessionmaker[AsyncSession]


async def balance_probe(sessions: Sessions, operator_id: str) -> Probe:
    async with sessions() as session:
        query = select(Probe).where(Probe.operator_id == operator_id, Probe.kind == "getbalance")
        return (await session.scalars(query)).one()


async def results(sessions: Sessions, probe: Probe, end: datetime, outcomes: str) -> None:
    """One result per 30 s up to ``end``; ``outcomes`` like "oof": f = failed, o = ok."""
    rows = [
        {
            "probe_id": probe.id, "operator_id": probe.operator_id,
            "environment": probe.environment, "kind": probe.kind,
            "scheduled_at": end - timedelta(seconds=30 * (len(outcomes) - 1 - i)),
            "started_at": end - timedelta(seconds=30 * (len(outcomes) - 1 - i)),
            "latency_ms": 10.0, "outcome": "connect_error" if c == "f" else "ok",
            "status_code": None if c == "f" else 200,
        }
        for i, c in enumerate(outcomes)
    ]  # fmt: skip
    async with session_scope(sessions) as session:
        await session.execute(insert(ProbeResult), rows)
        await session.execute(
            update(Probe)
            .where(Probe.id == probe.id)
            .values(consecutive_failures=len(outcomes) - len(outcomes.rstrip("f")))
        )


async def incidents(sessions: Sessions) -> list[Incident]:
    async with sessions() as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


async def test_severity_follows_the_evidence_down_and_up(
    sessions: Sessions, clock: FrozenClock
) -> None:
    engine = Engine(NotifyContext(list(Settings().platform_contacts)))
    await setup(sessions, clock)
    probe = await balance_probe(sessions, "alpha")
    await results(sessions, probe, clock.now(), "ooooooooff")  # hard down: two in a row
    await evaluate(sessions, engine, clock)
    [incident] = await incidents(sessions)
    assert incident.severity == "sev1"
    # A title a person understands: brand, environment, interface name, what and how much.
    assert incident.title == (
        "Alpha production: GetBalance failing (100 % of probes in the last 5 min)"
    )

    clock.advance(timedelta(seconds=90))
    await results(sessions, probe, clock.now(), "oof")  # back; 3 failures in the window now
    await evaluate(sessions, engine, clock)
    [incident] = await incidents(sessions)  # still one incident: re-graded, not reopened
    assert incident.severity == "sev3"
    [endpoint] = [e for e in incident.evidence["endpoints"] if e["kind"] == "getbalance"]
    assert endpoint["windowFailures"] == 3
    assert 25 <= endpoint["failurePercent"] < 75
    assert incident.title == (
        f"Alpha production: GetBalance failing ({endpoint['failurePercent']:g} % of probes "
        "in the last 5 min)"
    )

    clock.advance(timedelta(seconds=60))
    await results(sessions, probe, clock.now(), "ff")
    await evaluate(sessions, engine, clock)
    [incident] = await incidents(sessions)
    assert incident.severity == "sev1"
    async with sessions() as session:
        query = select(IncidentEvent).where(IncidentEvent.kind == "severity_changed")
        changes = [e.data for e in (await session.scalars(query.order_by(IncidentEvent.id)))]
    assert changes == [{"from": "sev1", "to": "sev3"}, {"from": "sev3", "to": "sev1"}]


async def test_a_deleted_operators_probes_open_nothing(
    sessions: Sessions, clock: FrozenClock
) -> None:
    engine = Engine(NotifyContext())
    await setup(sessions, clock)
    async with session_scope(sessions) as session:
        await session.execute(
            update(Probe)
            .where(Probe.kind == "getbalance", Probe.operator_id == "alpha")
            .values(operator_id="gone")
        )
        await session.execute(update(Probe).values(consecutive_failures=5))
    await evaluate(sessions, engine, clock)
    opened = {i.operator_id for i in await incidents(sessions)}
    assert opened == {"alpha", "bravo", "charlie", None}  # None: the global incident
