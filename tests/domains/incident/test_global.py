"""A global incident (many partners failing at once) inhibits the partner pages it
explains; when it resolves, partners still failing are paged then."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db.models import Incident, IncidentEvent, Notification, Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.incident.engine import Engine
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from tests.support import operator_data, valid_iccid

Sessions = async_sessionmaker[AsyncSession]
OPERATORS = {"alpha": "8901991", "bravo": "8901992", "charlie": "8901993"}


async def setup(sessions: Sessions, clock: FrozenClock) -> None:
    async with session_scope(sessions) as session:
        for op, prefix in OPERATORS.items():
            data = operator_data(op, brand=op.title(), prefix=prefix)
            data["monitoringIccid"] = valid_iccid(prefix + "00000000009")
            data["contacts"] = [{"name": "NOC", "email": f"noc@{op}.example"}]
            spec = OperatorSpec.model_validate(data)
            await registry_service.put_operator(session, spec, actor="test", now=clock.now())
        await probe_service.sync_from_registry(session, now=clock.now())


async def set_failing(sessions: Sessions, operators: list[str], failures: int) -> None:
    async with session_scope(sessions) as session:
        await session.execute(
            update(Probe)
            .where(Probe.operator_id.in_(operators), Probe.kind == "getbalance")
            .values(consecutive_failures=failures)
        )


async def succeed(sessions: Sessions, clock: FrozenClock, operators: list[str], runs: int) -> None:
    async with session_scope(sessions) as session:
        probes = (
            await session.scalars(select(Probe).where(Probe.operator_id.in_(operators)))
        ).all()
        rows = [
            {
                "probe_id": p.id,
                "operator_id": p.operator_id,
                "environment": p.environment,
                "kind": p.kind,
                "scheduled_at": clock.now() - timedelta(seconds=30 * i),
                "started_at": clock.now() - timedelta(seconds=30 * i),
                "latency_ms": 12.0,
                "outcome": "ok",
                "status_code": 200,
            }
            for p in probes
            for i in range(runs)
        ]
        await session.execute(insert(ProbeResult), rows)


async def evaluate(sessions: Sessions, engine: Engine, clock: FrozenClock) -> None:
    async with session_scope(sessions) as session:
        await engine.evaluate(session, clock.now())


async def recipients(sessions: Sessions, incident_id: int) -> set[str]:
    async with sessions() as session:
        query = select(Notification.recipient).where(Notification.incident_id == incident_id)
        return set((await session.scalars(query)).all())


async def test_global_incident_inhibits_partner_pages_until_it_resolves(
    sessions: Sessions, clock: FrozenClock
) -> None:
    engine = Engine(NotifyContext(list(Settings().platform_contacts)))
    await setup(sessions, clock)
    await set_failing(sessions, list(OPERATORS), 2)
    await evaluate(sessions, engine, clock)
    async with sessions() as session:
        rows = list((await session.scalars(select(Incident).order_by(Incident.id))).all())
    [global_incident] = [r for r in rows if r.scope == "global"]
    partners = [r for r in rows if r.scope == "partner"]
    assert global_incident.severity == "sev1"
    assert "3 of 3 partners" in global_incident.title
    assert len(partners) == 3
    assert {p.parent_id for p in partners} == {global_incident.id}
    assert all(p.status == "open" and p.contacted_at is None for p in partners)
    for partner in partners:  # the platform hears of it, the operator is not paged
        assert await recipients(sessions, partner.id) == {"mp-operations@platform.example"}

    clock.advance(timedelta(minutes=1))
    await set_failing(sessions, ["alpha", "bravo"], 0)
    await succeed(sessions, clock, ["alpha", "bravo"], 4)
    await evaluate(sessions, engine, clock)  # 1 of 3 failing: global healthy from now
    clock.advance(timedelta(minutes=2))
    await evaluate(sessions, engine, clock)
    async with sessions() as session:
        rows = {r.id: r for r in (await session.scalars(select(Incident))).all()}
        events = (await session.scalars(select(IncidentEvent.kind))).all()
    assert rows[global_incident.id].status == "resolved"
    by_operator = {r.operator_id: r for r in rows.values() if r.scope == "partner"}
    assert by_operator["alpha"].status == by_operator["bravo"].status == "resolved"
    charlie = by_operator["charlie"]
    assert charlie.status == "contacted"
    assert charlie.parent_id is None
    assert "noc@charlie.example" in await recipients(sessions, charlie.id)
    assert "noc@alpha.example" not in await recipients(sessions, by_operator["alpha"].id)
    assert events.count("inhibited") == 3
