"""What the incident engine reads of probe health (issue #8): only the operators with a
probe failing now or enough failures in the window, and the last runs of many probes at
once (recent ones in one query, a stalled probe's older runs on their own)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from tests.support import operator_data, valid_iccid

Sessions = async_sessionmaker[AsyncSession]
OPERATORS = {"alpha": "8901981", "bravo": "8901982", "charlie": "8901983"}


async def probes(sessions: Sessions, clock: FrozenClock) -> dict[str, Probe]:
    """alpha, bravo, charlie: a GetBalance probe each (30 s)."""
    async with session_scope(sessions) as session:
        for op, prefix in OPERATORS.items():
            data = operator_data(op, brand=op.title(), prefix=prefix)
            data["monitoringIccid"] = valid_iccid(prefix + "00000000009")
            spec = OperatorSpec.model_validate(data)
            await registry_service.put_operator(session, spec, actor="test", now=clock.now())
        await probe_service.sync_from_registry(session, now=clock.now())
    async with sessions() as session:
        rows = await session.scalars(select(Probe).where(Probe.kind == "getbalance"))
        return {p.operator_id: p for p in rows}


async def runs(
    sessions: Sessions, clock: FrozenClock, probe: Probe, ago: list[int], outcomes: str
) -> None:
    """One result ``ago[i]`` seconds before now; f = failed, o = ok."""
    start = clock.now()
    rows = [
        {
            "probe_id": probe.id, "operator_id": probe.operator_id,
            "environment": probe.environment, "kind": probe.kind,
            "scheduled_at": start - timedelta(seconds=s),
            "started_at": start - timedelta(seconds=s), "latency_ms": 10.0,
            "outcome": "timeout" if c == "f" else "ok", "status_code": None,
        }
        for s, c in zip(ago, outcomes, strict=True)
    ]  # fmt: skip
    async with session_scope(sessions) as session:
        await session.execute(insert(ProbeResult), rows)


async def test_only_operators_whose_failures_can_matter_are_read(
    sessions: Sessions, clock: FrozenClock
) -> None:
    by_op = await probes(sessions, clock)
    await runs(sessions, clock, by_op["alpha"], [240, 210, 180, 150, 120, 90, 60, 30], "oooooofo")
    await runs(sessions, clock, by_op["bravo"], [240, 210, 180, 150, 120, 90, 60, 30], "ofoofoof")
    async with session_scope(sessions) as session:
        await session.execute(
            update(Probe).where(Probe.id == by_op["charlie"].id).values(consecutive_failures=1)
        )
    async with sessions() as session:
        health = await probe_service.failing_watch(
            session, clock.now() - timedelta(minutes=5), window_seconds=300,
            min_window_percent=25.0,
        )  # fmt: skip
    seen = {h.operator_id for h in health}
    # alpha: 1 failure of the 10 runs the window holds (10 %) cannot reach 25 %: not read.
    # bravo: 3 of 10 can; charlie: failing now. Each with all its probes (portal too).
    assert seen == {"bravo", "charlie"}
    [bravo] = [h for h in health if h.id == by_op["bravo"].id]
    assert (bravo.window_results, bravo.window_failures) == (8, 3)
    assert {h.kind for h in health if h.operator_id == "charlie"} == {"portal", "getbalance"}


async def test_last_runs_of_many_probes_recent_or_stalled(
    sessions: Sessions, clock: FrozenClock
) -> None:
    by_op = await probes(sessions, clock)
    await runs(sessions, clock, by_op["alpha"], [150, 120, 90, 60, 30], "foooo")
    await runs(sessions, clock, by_op["bravo"], [120, 90, 60, 30], "ooof")
    # charlie: no run for the last 2 hours
    await runs(sessions, clock, by_op["charlie"], [7200, 7170, 7140, 7110], "oooo")
    ids = {op: p.id for op, p in by_op.items()}
    async with sessions() as session:
        latest = await probe_service.latest_outcomes(
            session, dict.fromkeys(ids.values(), 30), 4, now=clock.now()
        )
    assert latest[ids["alpha"]] == ["ok"] * 4
    assert latest[ids["bravo"]] == ["timeout", "ok", "ok", "ok"]
    assert latest[ids["charlie"]] == ["ok"] * 4  # found outside the recent span
