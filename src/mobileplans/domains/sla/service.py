"""SLA statements (spec 5.2, 7.2 #33): one per probe (operator, environment, endpoint kind)
and period, computed from hour and day rollups plus raw rows at the edges.

Periods are read in the operator's time zone (``timezone`` in the operator registry).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MaintenanceWindow, Probe
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.sla import contracts as contracts_mod
from mobileplans.domains.sla import engine, histogram, maintenance, repository, rollups
from mobileplans.domains.sla.periods import Period, floor_to, parse_period
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.schemas import (
    PeriodRead,
    SlaReport,
    SlaStatementRead,
    StatementSource,
)
from mobileplans.domains.sla.statements import ProbeRef, StatementInput, build_statement
from mobileplans.domains.sla.tally import Tally
from mobileplans.errors import BadRequest, NotFound

STATEMENT_GRAINS = ("day", "hour")
KINDS = ("portal", "getbalance", "microbalance")


def probe_ref(probe: Probe) -> ProbeRef:
    return ProbeRef(
        id=probe.id,
        operator_id=probe.operator_id,
        environment=probe.environment,
        kind=probe.kind,
        interval_seconds=probe.interval_seconds,
    )


def period_read(period: Period, now: datetime | None = None) -> PeriodRead:
    return PeriodRead.of(period.label, period.start, period.end, period.timezone, now)


async def statement_inputs(
    session: AsyncSession,
    probes: Sequence[Probe],
    period_of: Callable[[str], Period],
    *,
    now: datetime | None = None,
) -> list[StatementInput]:
    """Period, contract and applicable maintenance for each probe (``period_of(operator)``);
    ``now``: the generation time, which makes a period that has not ended in progress."""
    operator_ids = sorted({p.operator_id for p in probes})
    periods = {op: period_of(op) for op in operator_ids}
    terms = await contracts_mod.contracts_for(session, operator_ids)
    windows: dict[str, list[MaintenanceWindow]] = defaultdict(list)
    if periods:
        start = min(p.start for p in periods.values())
        end = max(p.end for p in periods.values())
        for window in await repository.windows_overlapping(session, operator_ids, start, end):
            windows[window.operator_id].append(window)
    inputs = []
    for probe in probes:
        period = periods[probe.operator_id]
        own = windows[probe.operator_id]
        excluded = maintenance.excluded_intervals(own, probe.environment, period.start, period.end)
        applied = [
            w.id
            for w in own
            if maintenance.is_excluded(w)
            and w.environment in (None, probe.environment)
            and w.starts_at < period.end
            and w.ends_at > period.start
        ]
        inputs.append(
            StatementInput(
                probe=probe_ref(probe),
                period=period,
                contract=terms.get(probe.operator_id, contracts_mod.DEFAULT_TERMS),
                excluded=excluded,
                window_ids=applied,
                now=now,
            )
        )
    return inputs


async def compute(
    session: AsyncSession, inputs: Sequence[StatementInput]
) -> list[SlaStatementRead]:
    """Statements from rollups (whole clean hours and days) and raw rows (the rest)."""
    requests = [
        engine.CountRequest(
            probe_id=inp.probe.id,
            included=maintenance.subtract(inp.period.start, inp.period.end, inp.excluded),
            excluded=inp.excluded,
        )
        for inp in inputs
    ]
    counted = await engine.count(session, requests, STATEMENT_GRAINS)
    return [
        SlaStatementRead(
            statement=build_statement(inp, result.tally, excluded_probes=result.excluded_probes),
            source=StatementSource(rollup_rows=result.rollup_rows, raw_rows=result.raw_rows),
        )
        for inp, result in zip(inputs, counted, strict=True)
    ]


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise BadRequest(f"kind is one of {', '.join(KINDS)}", field="kind")


async def operator_probes(
    session: AsyncSession, operator_id: str, environment: str, kind: str | None
) -> list[Probe]:
    _check_kind(kind)
    probes = await repository.probes(
        session, operator_id=operator_id, environment=environment, kind=kind
    )
    if not probes:
        what = f"{kind} " if kind else ""
        raise NotFound(
            f"operator {operator_id!r} has no {what}probe in {environment}",
            operator=operator_id,
        )
    return list(probes)


async def report(
    session: AsyncSession,
    *,
    operator_id: str,
    environment: str = "production",
    kind: str | None = None,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    now: datetime | None = None,
) -> SlaReport:
    """``mobileplans sla report`` / ``GET /v1/sla/{operatorId}``: one statement per probe.

    No period: the current month of the operator's time zone. ``now`` (default: the
    current time) is the generation time: a period that has not ended is in progress."""
    now = now or datetime.now(UTC)
    operator = await registry_service.get_operator(session, operator_id)
    chosen = parse_period(period, start=start, end=end, timezone=operator.timezone, now=now)
    probes = await operator_probes(session, operator_id, environment, kind)
    inputs = await statement_inputs(session, probes, lambda _op: chosen, now=now)
    return SlaReport(
        operator_id=operator_id,
        environment=environment,
        period=period_read(chosen, now),
        statements=await compute(session, inputs),
    )


async def report_all(
    session: AsyncSession,
    *,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    environment: str = "production",
    kind: str | None = None,
    now: datetime | None = None,
    operator_id: str | None = None,
    operator_ids: Collection[str] | None = None,
    zones: Mapping[str, str] | None = None,
) -> SlaReport:
    """Statements for every probe of every operator (``operator_id``: of that operator
    only, none when it has no probe; ``operator_ids``: of those operators only, e.g. one
    page of the console's overview), each period in its operator's zone (``zones``: the
    operators' time zones when the caller has them; operators missing from the registry are
    read in UTC); see :func:`report`."""
    now = now or datetime.now(UTC)
    _check_kind(kind)
    if zones is None:
        zones = await _zones(session, operator_id)
    probes = list(
        await repository.probes(
            session, operator_id=operator_id, environment=environment, kind=kind
        )
    )
    if operator_ids is not None:
        probes = [p for p in probes if p.operator_id in operator_ids]
    cache: dict[str, Period] = {}

    def period_of(operator_id: str) -> Period:
        zone = zones.get(operator_id, "UTC")
        if zone not in cache:
            cache[zone] = parse_period(period, start=start, end=end, timezone=zone, now=now)
        return cache[zone]

    inputs = await statement_inputs(session, probes, period_of, now=now)
    return SlaReport(
        operator_id=None,
        environment=environment,
        period=None,
        statements=await compute(session, inputs),
    )


async def _zones(session: AsyncSession, operator_id: str | None) -> dict[str, str]:
    if operator_id is None:
        return {op.id: op.timezone for op in await registry_service.list_operators(session)}
    try:
        return {operator_id: (await registry_service.get_operator(session, operator_id)).timezone}
    except NotFound:
        return {}


async def rebuild_rollups(
    session: AsyncSession,
    *,
    operator_id: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> int:
    """Recompute hour and day rollups of whole UTC days ``[start, end)`` from raw rows."""
    if start != floor_to(start, "day") or end != floor_to(end, "day") or end <= start:
        raise BadRequest("a rebuild covers whole UTC days: from < to, both at 00:00", field="from")
    probes = await repository.probes(session, operator_id=operator_id)
    return await rollups.rebuild(session, [p.id for p in probes], start, end, now=now)


async def roll_up(session: AsyncSession, *, now: datetime, policy: SlaPolicy) -> int:
    """One rollup batch (the worker's ``sla.rollup`` job calls this in a loop)."""
    return await rollups.roll_up_batch(session, now=now, policy=policy)


@dataclass(frozen=True)
class BucketRead:
    """Counts of one probe over one bucket (console charts): results, failures and the
    latency of the successes (average, p50, p99 from the histogram; None without any)."""

    start: datetime
    probes: int
    failures: int
    average_ms: float | None
    p50_ms: float | None
    p99_ms: float | None

    @property
    def availability_percent(self) -> float | None:
        return None if self.probes == 0 else 100.0 * (self.probes - self.failures) / self.probes


async def probe_buckets(
    session: AsyncSession,
    probe_ids: Sequence[int],
    *,
    end: datetime,
    grain: str,
    count: int,
    percentiles: bool = True,
) -> dict[int, list[BucketRead]]:
    """The last ``count`` ``grain`` buckets (``hour`` or ``day``, UTC) of each probe, oldest
    first, the last one holding ``end`` (in progress, counted up to ``end``) or ending at
    it: exact counts from rollups, raw rows at the edges and the un-rolled tail (the rollups
    of all buckets in one statement per 5,000 probes: :func:`engine.count_buckets`).
    ``percentiles=False``: p50 and p99 are None and no histogram is read (bars and
    averages only, much cheaper over many probes)."""
    if grain not in ("hour", "day"):
        raise BadRequest("grain is hour or day", field="grain")
    step = timedelta(hours=1) if grain == "hour" else timedelta(days=1)
    last = floor_to(end, grain)
    if last == end:  # ``end`` on a boundary: the last bucket is the one ending there
        last -= step
    starts = [last - step * (count - 1 - i) for i in range(count)]
    grains = STATEMENT_GRAINS if grain == "day" else STATEMENT_GRAINS[1:]
    counted = await engine.count_buckets(
        session, probe_ids, starts, step, end, grains, histograms=percentiles
    )
    return {
        pid: [_bucket(s, t, percentiles) for s, t in zip(starts, counted[pid], strict=True)]
        for pid in probe_ids
    }


def _bucket(start: datetime, tally: Tally, percentiles: bool = True) -> BucketRead:
    successes = tally.probes - tally.failures
    return BucketRead(
        start=start,
        probes=tally.probes,
        failures=tally.failures,
        average_ms=tally.latency_us / 1000 / successes if successes else None,
        p50_ms=histogram.percentile_ms(tally.histogram, 50) if percentiles else None,
        p99_ms=histogram.percentile_ms(tally.histogram, 99) if percentiles else None,
    )
