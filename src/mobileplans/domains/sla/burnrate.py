"""Multi-window burn-rate alerts against the availability target's error budget.

Burn rate = failure ratio ÷ (1 − target): at 1× a budget lasts exactly its period. A pair
fires when both its long and its short window burn at least ``factor`` times (the SRE
workbook's tiers: 1 h / 5 min at 14.4×, 6 h / 30 min at 6×, both pages; 3 d / 6 h at 1×, a
ticket) *and* the long window holds at least ``min_failures`` failed probes. At two probes
a minute, 14.4× on a 99.9 % target is two failures in an hour; the floor (default 3) keeps
two stray failures from paging anyone. Probes inside excluded maintenance windows count in
neither the numerator nor the denominator. Windows end at the last whole minute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MaintenanceWindow, Probe
from mobileplans.domains.sla import contracts as contracts_mod
from mobileplans.domains.sla import engine, maintenance, repository
from mobileplans.domains.sla.periods import floor_to
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.schemas import BurnAlert, BurnReport, ProbeBurn, WindowBurn


@dataclass(frozen=True)
class WindowPair:
    long: timedelta
    short: timedelta
    factor: float
    severity: Literal["page", "ticket"]


DEFAULT_PAIRS = (
    WindowPair(timedelta(hours=1), timedelta(minutes=5), 14.4, "page"),
    WindowPair(timedelta(hours=6), timedelta(minutes=30), 6.0, "page"),
    WindowPair(timedelta(days=3), timedelta(hours=6), 1.0, "ticket"),
)


@dataclass(frozen=True)
class WindowCount:
    probes: int
    failures: int


def burn_rate(count: WindowCount, target: float) -> float:
    if count.probes == 0:
        return 0.0
    budget = 1 - Fraction(str(target)) / 100
    return round(float(Fraction(count.failures, count.probes) / budget), 4)


def _burns_at_least(count: WindowCount, target: float, factor: float) -> bool:
    """``failures / probes / (1 − target) >= factor``, exactly."""
    if count.probes == 0:
        return False
    budget = 1 - Fraction(str(target)) / 100
    return Fraction(count.failures, count.probes) >= Fraction(str(factor)) * budget


def evaluate(
    counts: Mapping[timedelta, WindowCount],
    *,
    target: float,
    pairs: Sequence[WindowPair] = DEFAULT_PAIRS,
    min_failures: int = 3,
) -> list[BurnAlert]:
    """The pairs that fire, given the counts of every window the pairs name."""
    fired = []
    for pair in pairs:
        long, short = counts[pair.long], counts[pair.short]
        if long.failures < min_failures:
            continue
        if _burns_at_least(long, target, pair.factor) and _burns_at_least(
            short, target, pair.factor
        ):
            fired.append(
                BurnAlert(
                    severity=pair.severity,
                    long_window_seconds=int(pair.long.total_seconds()),
                    short_window_seconds=int(pair.short.total_seconds()),
                    factor=pair.factor,
                    long_burn_rate=burn_rate(long, target),
                    short_burn_rate=burn_rate(short, target),
                    long_failures=long.failures,
                )
            )
    return fired


def windows_of(pairs: Sequence[WindowPair]) -> list[timedelta]:
    return sorted({p.long for p in pairs} | {p.short for p in pairs})


async def window_counts(
    session: AsyncSession,
    probes: Sequence[Probe],
    windows: Sequence[MaintenanceWindow],
    lengths: Sequence[timedelta],
    *,
    end: datetime,
    policy: SlaPolicy,
) -> dict[tuple[int, timedelta], WindowCount]:
    """Probes and failures per (probe, window length) over ``[end − length, end)``.

    Windows within the minute-rollup retention read hour and minute rollups; longer ones
    read hour rollups and raw rows at their edges."""
    minute_reach = timedelta(hours=policy.minute_rollup_hours - 1)
    counts: dict[tuple[int, timedelta], WindowCount] = {}
    for fine in (True, False):
        requests, keys = [], []
        for probe in probes:
            own = [w for w in windows if w.operator_id == probe.operator_id]
            for length in (w for w in lengths if (w <= minute_reach) == fine):
                excluded = maintenance.excluded_intervals(own, probe.environment, end - length, end)
                included = maintenance.subtract(end - length, end, excluded)
                requests.append(engine.CountRequest(probe.id, included, excluded))
                keys.append((probe.id, length))
        grains = ("hour", "minute") if fine else ("hour",)
        for key, result in zip(keys, await engine.count(session, requests, grains), strict=True):
            counts[key] = WindowCount(result.tally.probes, result.tally.failures)
    return counts


def _probe_burn(
    probe: Probe,
    mine: dict[timedelta, WindowCount],
    target: float,
    pairs: Sequence[WindowPair],
    min_failures: int,
) -> ProbeBurn:
    return ProbeBurn(
        probe_id=probe.id,
        operator_id=probe.operator_id,
        environment=probe.environment,
        kind=probe.kind,
        availability_target=target,
        windows=[
            WindowBurn(
                window_seconds=int(length.total_seconds()),
                probes=count.probes,
                failures=count.failures,
                burn_rate=burn_rate(count, target),
            )
            for length, count in mine.items()
        ],
        alerts=evaluate(mine, target=target, pairs=pairs, min_failures=min_failures),
    )


async def burn_rates(
    session: AsyncSession,
    *,
    now: datetime,
    policy: SlaPolicy,
    operator_id: str | None = None,
    environment: str | None = None,
    pairs: Sequence[WindowPair] = DEFAULT_PAIRS,
) -> BurnReport:
    """Burn rates and firing alerts for every probe (optionally of one operator)."""
    end = floor_to(now, "minute")
    lengths = windows_of(pairs)
    probes = list(
        await repository.probes(session, operator_id=operator_id, environment=environment)
    )
    operators = sorted({p.operator_id for p in probes})
    terms = await contracts_mod.contracts_for(session, operators)
    windows = await repository.windows_overlapping(session, operators, end - lengths[-1], end)
    counts = await window_counts(session, probes, windows, lengths, end=end, policy=policy)
    report = [
        _probe_burn(
            probe,
            {length: counts[(probe.id, length)] for length in lengths},
            terms.get(probe.operator_id, contracts_mod.DEFAULT_TERMS).availability_target,
            pairs,
            policy.burn_min_failures,
        )
        for probe in probes
    ]
    return BurnReport(at=now, window_end=end, min_failures=policy.burn_min_failures, probes=report)
