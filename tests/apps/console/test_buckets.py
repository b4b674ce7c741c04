"""The console's availability bars count exactly what the probes recorded, hour by hour
(``sla.service.probe_buckets`` over raw rows and rollups)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import insert, select

from mobileplans.apps.console.pages import bars_24h
from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.session import session_scope
from mobileplans.domains.sla import service as sla_service
from mobileplans.kit.clock import FrozenClock
from tests.apps.console.conftest import TOKEN, Sessions, seed_operators, sign_in


async def test_failures_three_hours_ago_show_in_that_hour_only(
    sessions: Sessions, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    await seed_operators(sessions, clock)
    three_hours_ago = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    async with session_scope(sessions) as session:
        probe = (
            await session.scalars(
                select(Probe).where(Probe.operator_id == "alpha", Probe.kind == "portal")
            )
        ).one()
        await session.execute(
            insert(ProbeResult),
            [
                {
                    "probe_id": probe.id,
                    "operator_id": "alpha",
                    "environment": probe.environment,
                    "kind": probe.kind,
                    "scheduled_at": three_hours_ago + timedelta(minutes=i),
                    "started_at": three_hours_ago + timedelta(minutes=i),
                    "latency_ms": 0.0 if i < 3 else 250.0,
                    "outcome": "timeout" if i < 3 else "ok",
                    "status_code": None if i < 3 else 200,
                    "detail": "read timed out after 5 s" if i < 3 else None,
                }
                for i in range(10)
            ],
        )
    async with sessions() as session:
        found = await sla_service.probe_buckets(
            session, [probe.id], end=clock.now(), grain="hour", count=24
        )
    hours = found[probe.id]
    assert len(hours) == 24
    by_start = {b.start: b for b in hours}
    bad = by_start[three_hours_ago]
    assert (bad.probes, bad.failures) == (10, 3)
    assert bad.availability_percent == 70.0
    assert bad.average_ms == 250.0
    assert by_start[three_hours_ago - timedelta(hours=1)].probes == 0
    svg = bars_24h("Availability", hours)
    assert f"{three_hours_ago:%d %b %H:00} UTC: 70.000 %" in svg
    assert svg.count('class="bar bad"') == 1
    await sign_in(client, TOKEN)
    page = await client.get("/operators/alpha")
    assert page.text.count("read timed out after 5 s") == 3  # the recent failures table
    assert page.text.count('<td class="bad">timeout</td>') == 3
