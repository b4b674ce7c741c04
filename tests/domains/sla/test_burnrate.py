"""Multi-window burn-rate alerts: each window pair, the failure floor, maintenance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.sla import maintenance
from mobileplans.domains.sla.burnrate import (
    DEFAULT_PAIRS,
    WindowCount,
    burn_rate,
    burn_rates,
    evaluate,
)
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.schemas import BurnReport, MaintenanceWindowIn
from mobileplans.kit.clock import FrozenClock
from tests.domains.sla.support import Result, add_operator, add_probe, roll_up_all, store

H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


def counts(**windows: tuple[int, int]) -> dict[timedelta, WindowCount]:
    names = {"m5": 5 * M, "m30": 30 * M, "h1": H, "h6": 6 * H, "d3": 3 * D}
    base = {"m5": (10, 0), "m30": (60, 0), "h1": (120, 0), "h6": (720, 0), "d3": (8640, 0)}
    base.update(windows)
    return {names[k]: WindowCount(*v) for k, v in base.items()}


def fired(result: list[object]) -> list[tuple[int, int]]:
    return [(a.long_window_seconds, a.short_window_seconds) for a in result]  # type: ignore[attr-defined]


def test_fast_burn_pages_on_the_1h_5m_pair_only() -> None:
    alerts = evaluate(
        counts(h1=(120, 3), m5=(10, 1), m30=(60, 1), h6=(720, 3), d3=(8640, 3)), target=99.9
    )
    assert fired(alerts) == [(3600, 300)]
    assert alerts[0].severity == "page"
    assert alerts[0].long_burn_rate == 25.0
    assert alerts[0].short_burn_rate == 100.0


def test_medium_burn_pages_on_the_6h_30m_pair_only() -> None:
    alerts = evaluate(
        counts(h6=(720, 5), m30=(60, 1), h1=(120, 1), m5=(10, 0), d3=(8640, 5)), target=99.9
    )
    assert fired(alerts) == [(21600, 1800)]
    assert alerts[0].factor == 6.0


def test_slow_burn_opens_a_ticket_on_the_3d_6h_pair() -> None:
    alerts = evaluate(counts(d3=(8640, 10), h6=(720, 1)), target=99.9)
    assert fired(alerts) == [(259200, 21600)]
    assert alerts[0].severity == "ticket"


def test_floor_keeps_two_failures_in_an_hour_from_paging() -> None:
    two = counts(h1=(120, 2), m5=(10, 1), m30=(60, 2), h6=(720, 2), d3=(8640, 2))
    assert burn_rate(two[H], 99.9) == pytest.approx(16.6667)
    assert evaluate(two, target=99.9) == []
    assert fired(evaluate(two, target=99.9, min_failures=2)) == [(3600, 300)]


def test_short_window_resets_the_alert_once_failures_stop() -> None:
    assert evaluate(counts(h1=(120, 10), m5=(10, 0), m30=(60, 0), h6=(720, 10)), target=99.9) == []


def test_exactly_at_the_factor_fires_and_no_probes_never_fires() -> None:
    at = counts(h1=(1250, 18), m5=(1250, 18))  # 18 / 1250 / 0.001 = 14.4 exactly
    assert fired(evaluate(at, target=99.9)) == [(3600, 300)]
    empty = {w: WindowCount(0, 0) for w in (5 * M, 30 * M, H, 6 * H, 3 * D)}
    assert evaluate(empty, target=99.9) == []
    assert burn_rate(WindowCount(0, 0), 99.9) == 0.0


def test_target_changes_the_budget() -> None:
    loose = counts(h1=(120, 3), m5=(10, 1))
    assert evaluate(loose, target=99.0) == []  # 2.5 % failed is 2.5x on a 1 % budget
    assert [p.factor for p in DEFAULT_PAIRS] == [14.4, 6.0, 1.0]


NOW = datetime.fromisoformat("2026-11-02T09:07:40+00:00")


async def series(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    failing: Callable[[datetime], bool],
) -> int:
    """A probe every 30 s for the last 3 days and 10 minutes, failing where asked."""
    clock.set(NOW)
    await add_operator(sessions, "contoso", "UTC", now=NOW)
    probe = await add_probe(sessions, "contoso", now=NOW)
    start = NOW.replace(second=0) - 3 * D - 10 * M
    results = []
    for i in range(int((NOW - start).total_seconds() // 30) + 1):
        at = start + timedelta(seconds=30 * i)
        if at < NOW:
            outcome = "timeout" if failing(at) else "ok"
            results.append(Result(probe.id, at, at, outcome, 80.0))
    await store(sessions, probe, results)
    return probe.id


async def report(sessions: async_sessionmaker[AsyncSession], *, roll: bool) -> BurnReport:
    if roll:
        await roll_up_all(sessions, NOW)
    async with session_scope(sessions) as session:
        return await burn_rates(session, now=NOW, policy=SlaPolicy())


def windows(report: BurnReport) -> dict[int, tuple[int, int]]:
    return {w.window_seconds: (w.probes, w.failures) for w in report.probes[0].windows}


@pytest.mark.parametrize("roll", [True, False])
async def test_outage_in_the_last_ten_minutes_pages(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, roll: bool
) -> None:
    await series(sessions, clock, lambda at: at >= NOW - 10 * M)
    result = await report(sessions, roll=roll)
    assert result.window_end == NOW.replace(second=0)
    assert windows(result) == {
        300: (10, 10),
        1800: (60, 18),
        3600: (120, 18),
        21600: (720, 18),
        259200: (8640, 18),
    }
    assert [a.severity for a in result.probes[0].alerts] == ["page", "page", "ticket"]


async def test_two_failures_in_an_hour_do_not_page(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await series(
        sessions,
        clock,
        lambda at: at in (NOW.replace(second=0) - 2 * M, NOW.replace(second=0) - 40 * M),
    )
    result = await report(sessions, roll=True)
    assert windows(result)[3600] == (120, 2)
    assert result.probes[0].alerts == []


async def test_announced_maintenance_is_left_out_of_every_window(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    down_from = NOW - 10 * M - timedelta(seconds=20)
    await series(sessions, clock, lambda at: at >= down_from)
    spec = MaintenanceWindowIn(
        starts_at=down_from,
        ends_at=NOW + H,
        impact="planned upgrade",
        announced_at=NOW - 10 * D,
    )
    async with session_scope(sessions) as session:
        await maintenance.create_window(session, "contoso", spec, actor="t", now=NOW)
    result = await report(sessions, roll=True)
    assert windows(result)[300] == (0, 0)
    assert windows(result)[3600] == (120 - 19, 0)
    assert result.probes[0].alerts == []
