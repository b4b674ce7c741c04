"""SLA statements: a month from rollups equals brute force over raw rows; verdicts, budget,
downtime minutes and percentiles against exact computations."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.sla import contracts, maintenance, service
from mobileplans.domains.sla import histogram as hist
from mobileplans.domains.sla.periods import Interval, month_period, parse_period
from mobileplans.domains.sla.schemas import ContractTerms, MaintenanceWindowIn, SlaStatementBody
from mobileplans.domains.sla.statements import ProbeRef, StatementInput, build_statement
from mobileplans.domains.sla.tally import Tally
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

ANNOUNCED = utc(2026, 9, 1)


async def window(
    sessions: async_sessionmaker[AsyncSession],
    operator_id: str,
    start: datetime,
    end: datetime,
    *,
    announced: datetime = ANNOUNCED,
    environment: str | None = None,
    now: datetime,
) -> int:
    spec = MaintenanceWindowIn.model_validate(
        {
            "startsAt": start.isoformat(),
            "endsAt": end.isoformat(),
            "impact": "planned work",
            "announcedAt": announced.isoformat(),
            "environment": environment,
        }
    )
    async with session_scope(sessions) as session:
        read = await maintenance.create_window(session, operator_id, spec, actor="t", now=now)
    return read.id


def whole_clean_hour(hour: datetime, start: datetime, end: datetime, holes: list[Interval]) -> bool:
    after = hour + timedelta(hours=1)
    return start <= hour and after <= end and not any(a < after and b > hour for a, b in holes)


@pytest.mark.parametrize(("zone", "seed"), [("Asia/Kolkata", 11), ("Australia/Adelaide", 12)])
async def test_month_from_rollups_equals_brute_force_over_raw_rows(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, zone: str, seed: int
) -> None:
    now = clock.now()
    await add_operator(sessions, "op", zone, now=now)
    probe = await add_probe(sessions, "op", interval=120, now=now)
    other = await add_probe(sessions, "op", kind="portal", interval=120, now=now)
    period = parse_period("2026-10", start=None, end=None, timezone=zone)
    planned = (utc(2026, 10, 14, 1, 17, 23), utc(2026, 10, 14, 3, 41, 7))
    straddle = (period.start - timedelta(hours=5), period.start + timedelta(minutes=45))
    ids = [
        await window(sessions, "op", *planned, now=now),
        await window(sessions, "op", *straddle, now=now),
    ]
    # late notice and another environment's window: both count as ordinary time
    await window(
        sessions,
        "op",
        utc(2026, 10, 20, 2),
        utc(2026, 10, 20, 4),
        announced=utc(2026, 10, 19),
        now=now,
    )
    await window(
        sessions, "op", utc(2026, 10, 21, 2), utc(2026, 10, 21, 4), environment="staging", now=now
    )
    outages = [
        (utc(2026, 10, 10, 5), utc(2026, 10, 10, 6, 10)),
        planned,
        (utc(2026, 10, 20, 2, 30), utc(2026, 10, 20, 3)),
    ]
    span = (period.start - timedelta(hours=7), period.end + timedelta(hours=7))
    results = synthetic(probe.id, *span, interval=120, seed=seed, outages=outages)
    await store(sessions, probe, results)
    await store(
        sessions, other, synthetic(other.id, *span, interval=120, seed=seed + 100, failure_rate=0.2)
    )
    await roll_up_all(sessions, now)

    async with session_scope(sessions) as session:
        report = await service.report(
            session, operator_id="op", period="2026-10", kind="getbalance"
        )
    [item] = report.statements
    statement = item.statement
    holes = maintenance.clip([planned, straddle], period.start, period.end)
    brute = brute_force(results, probe.id, period.start, period.end, holes)

    assert statement.period.start == period.start
    assert statement.period.timezone == zone
    assert statement.probes == brute.probes > 21_000
    assert (statement.successes, statement.failures) == (brute.successes, brute.failures)
    assert statement.degraded == brute.degraded
    assert statement.excluded_probes == brute.excluded > 0
    assert statement.failures > 35  # the unannounced outage and the late-notice one count
    assert statement.availability_percent == round(brute.successes * 100 / brute.probes, 4)
    total_us = sum(brute.latencies_us)
    assert statement.latency.average_ms == round(total_us / len(brute.latencies_us) / 1000, 3)
    for percent, value in (
        (50, statement.latency.p50_ms),
        (95, statement.latency.p95_ms),
        (99, statement.latency.p99_ms),
    ):
        assert value == hist.upper_bound_ms(hist.bucket_of(brute.rank(percent)))
    maintenance_minutes = sum((b - a).total_seconds() for a, b in holes) / 60
    measured = period.minutes - maintenance_minutes
    assert statement.maintenance_minutes == round(maintenance_minutes, 2)
    assert statement.measured_minutes == round(measured, 2)
    assert statement.downtime_minutes == round(brute.failures / brute.probes * measured, 2)
    assert statement.maintenance_window_ids == sorted(ids)

    # whole clean hours came from rollups; raw rows only for the partial hours
    expected_raw = sum(
        1
        for r in results
        if r.probe_id == probe.id
        and period.start <= r.started_at < period.end
        and not any(a <= r.started_at < b for a, b in holes)
        and not whole_clean_hour(
            r.started_at.replace(minute=0, second=0, microsecond=0),
            period.start,
            period.end,
            holes,
        )
    )
    assert item.source.raw_rows == expected_raw < 200
    assert item.source.rollup_rows["day"] >= 29
    assert item.source.rollup_rows["hour"] > 0


async def day_of(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    outcomes: list[tuple[str, float]],
) -> int:
    """A UTC operator with ``outcomes`` spread evenly over 2026-10-05."""
    now = clock.now()
    await add_operator(sessions, "utcop", "UTC", now=now)
    probe = await add_probe(sessions, "utcop", interval=86, now=now)
    start = utc(2026, 10, 5)
    step = timedelta(days=1) / len(outcomes)
    results = [
        Result(probe.id, start + i * step, start + i * step, outcome, latency)
        for i, (outcome, latency) in enumerate(outcomes)
    ]
    await store(sessions, probe, results)
    return probe.id


async def statement_of(
    sessions: async_sessionmaker[AsyncSession], **kwargs: str
) -> SlaStatementBody:
    async with session_scope(sessions) as session:
        report = await service.report(session, operator_id="utcop", period="2026-10-05", **kwargs)
    return report.statements[0].statement


@pytest.mark.parametrize(
    ("failures", "verdict", "remaining", "remaining_percent"),
    [(1, "met", 0.0, 0.0), (2, "missed", -1.0, -100.0), (0, "met", 1.0, 100.0)],
)
async def test_availability_verdict_and_error_budget_at_the_boundary(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    failures: int,
    verdict: str,
    remaining: float,
    remaining_percent: float,
) -> None:
    outcomes = [("timeout", 5000.0)] * failures + [("ok", 100.0)] * (1000 - failures)
    await day_of(sessions, clock, outcomes)
    statement = await statement_of(sessions)
    assert statement.probes == 1000
    assert statement.availability_percent == 100 - failures / 10
    assert statement.verdict.availability == verdict
    budget = statement.error_budget
    assert (budget.allowed_failures, budget.remaining_failures) == (1.0, remaining)
    assert budget.remaining_percent == remaining_percent
    assert budget.allowed_minutes == 1.44
    assert statement.downtime_minutes == round(failures * 1.44, 2)
    assert budget.remaining_minutes == round(1.44 - failures * 1.44, 2)
    assert statement.expected_probes == 1005  # 86,400 s at 86 s


@pytest.mark.parametrize(
    ("latency", "statistic", "target", "verdict"),
    [
        (400.0, "avg", 400.0, "met"),
        (400.001, "avg", 400.0, "missed"),
        (390.0, "p95", 400.0, "met"),  # bucket upper bound 394.8 ms
        (398.0, "p95", 400.0, "missed"),  # bucket upper bound 403.451 ms > 400: conservative
        (398.0, "p95", 410.0, "met"),
    ],
)
async def test_latency_verdict_per_contract_statistic(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    latency: float,
    statistic: str,
    target: float,
    verdict: str,
) -> None:
    await day_of(sessions, clock, [("ok", latency)] * 200 + [("degraded", latency)] * 10)
    async with session_scope(sessions) as session:
        await contracts.put_contract(
            session,
            "utcop",
            ContractTerms(latency_target_ms=target, latency_statistic=statistic),  # type: ignore[arg-type]
            now=clock.now(),
        )
    statement = await statement_of(sessions)
    assert statement.verdict.latency == verdict
    assert statement.contract.latency_statistic == statistic
    assert statement.degraded == 10
    expected_overall = "missed" if verdict == "missed" else "met"
    assert statement.verdict.overall == expected_overall


async def test_no_probes_is_no_data_not_a_breach(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await day_of(sessions, clock, [("ok", 100.0)])
    async with session_scope(sessions) as session:
        report = await service.report(session, operator_id="utcop", period="2026-10-07")
    statement = report.statements[0].statement
    assert statement.probes == 0
    assert statement.availability_percent is None
    assert statement.latency.average_ms is None
    assert statement.verdict.overall == "no_data"
    assert statement.error_budget.remaining_percent is None


async def test_failures_only_give_no_latency_but_a_missed_availability(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await day_of(sessions, clock, [("connect_error", 0.4)] * 10)
    statement = await statement_of(sessions)
    assert statement.verdict.availability == "missed"
    assert statement.verdict.latency == "no_data"
    assert statement.verdict.overall == "missed"
    assert statement.downtime_minutes == 1440.0


async def test_default_contract_and_stored_contract(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await add_operator(sessions, "utcop", "UTC", now=clock.now())
    async with session_scope(sessions) as session:
        default = await contracts.get_contract(session, "utcop")
        assert default.is_default
        assert (default.availability_target, default.latency_target_ms) == (99.9, 400.0)
        assert default.latency_statistic == "avg"
        await contracts.put_contract(
            session, "utcop", ContractTerms(availability_target=99.5), now=clock.now()
        )
    async with session_scope(sessions) as session:
        stored = await contracts.get_contract(session, "utcop")
    assert not stored.is_default
    assert stored.availability_target == 99.5


def test_a_period_in_progress_counts_the_elapsed_part_only() -> None:
    """Issue #8: one failed probe four days into December is 0.5 minutes down out of the
    elapsed minutes, with the whole month's error budget nearly intact (not 44,640 minutes
    down and a -99,900 % budget)."""
    december = month_period(2026, 12, "UTC")
    now = utc(2026, 12, 5)
    probe = ProbeRef(1, "contoso", "production", "getbalance", 30)
    tally = Tally()
    tally.add_result("timeout", 10_000.0)
    inp = StatementInput(probe=probe, period=december, contract=ContractTerms(), now=now)
    body = build_statement(inp, tally, excluded_probes=0)
    assert body.period.in_progress is True
    assert body.period.status == "in progress, generated at 2026-12-05 00:00:00 UTC"
    assert body.measured_minutes == 4 * 24 * 60
    assert body.downtime_minutes == 0.5
    assert body.expected_probes == 4 * 24 * 120
    month_probes = 31 * 24 * 120
    assert body.error_budget.allowed_failures == round(0.001 * month_probes, 3)
    assert body.error_budget.remaining_percent == round(
        (0.001 * month_probes - 1) / (0.001 * month_probes) * 100, 2
    )
    assert body.error_budget.allowed_minutes == round(0.001 * 31 * 24 * 60, 2)

    complete = build_statement(
        StatementInput(probe=probe, period=december, contract=ContractTerms(), now=utc(2027, 1, 2)),
        tally,
        excluded_probes=0,
    )
    assert complete.period.in_progress is False
    assert complete.period.status == "complete"
    assert complete.downtime_minutes == 31 * 24 * 60  # a closed period: the failed share


def test_no_period_means_the_current_month_of_the_operators_zone() -> None:
    now = utc(2026, 11, 30, 20)  # already December 1st in Kolkata
    kolkata = parse_period(None, start=None, end=None, timezone="Asia/Kolkata", now=now)
    assert kolkata.label == "2026-12"
    assert parse_period(None, start=None, end=None, timezone="UTC", now=now).label == "2026-11"
