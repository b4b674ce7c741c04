"""An SLA statement from a tally: availability, latency, downtime, error budget, verdicts.

Definitions (``docs/monitoring.md``):

- *measured minutes*: the period's minutes minus the excluded maintenance minutes;
- *availability*: successful probes ÷ counted probes (probes in excluded maintenance are
  not counted at all);
- *downtime minutes*: the failed share of the counted probes times the measured minutes,
  ``failures / probes × measured minutes``; with probes on schedule that is the failed
  probes times the probe interval, and it always agrees with the availability figure;
- *error budget*: ``(1 − target) × probes`` failures (and the same share of the measured
  minutes); *remaining* is what is left of it, negative when overspent;
- *verdicts*: availability met when ``availability ≥ target``, compared exactly (fractions,
  no float rounding); latency met when the contract's statistic is ``≤`` the target
  (percentiles judged on the bucket's upper bound, so a "met" is never optimistic);
- *a period in progress* (not ended when the statement is generated): measured minutes run
  from its start to the generation time; downtime is the failed probes times the probe
  interval (at most the elapsed minutes); the error budget is the whole period's
  (``(1 − target) ×`` its expected probes and minutes). Such statements are never issued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from mobileplans.domains.sla.histogram import to_us
from mobileplans.domains.sla.periods import Interval, Period
from mobileplans.domains.sla.schemas import (
    ContractTerms,
    ErrorBudget,
    LatencyStats,
    PeriodRead,
    SlaStatementBody,
    Verdict,
    Verdicts,
)
from mobileplans.domains.sla.tally import Tally

EVIDENCE_VERSION = "mobileplans-sla-evidence-v1"


@dataclass(frozen=True)
class ProbeRef:
    id: int
    operator_id: str
    environment: str
    kind: str
    interval_seconds: int | None


@dataclass
class StatementInput:
    probe: ProbeRef
    period: Period
    contract: ContractTerms
    excluded: list[Interval] = field(default_factory=list)
    window_ids: list[int] = field(default_factory=list)
    now: datetime | None = None
    """When the statement is generated; a period that has not ended by then is in progress."""

    @property
    def maintenance_seconds(self) -> float:
        return sum((b - a).total_seconds() for a, b in self.excluded)

    @property
    def in_progress(self) -> bool:
        return self.now is not None and self.now < self.period.end

    @property
    def until(self) -> datetime:
        """The end of the measured part: the period's end, or ``now`` while in progress."""
        if self.now is None or not self.in_progress:
            return self.period.end
        return max(self.period.start, self.now)

    def maintenance_seconds_until(self, until: datetime) -> float:
        return sum(
            max(0.0, (min(b, until) - a).total_seconds()) for a, b in self.excluded if a < until
        )


def _availability_verdict(tally: Tally, target: float) -> Verdict:
    if tally.probes == 0:
        return "no_data"
    achieved = Fraction(tally.successes * 100, tally.probes)
    return "met" if achieved >= Fraction(str(target)) else "missed"


def _latency_verdict(tally: Tally, contract: ContractTerms) -> Verdict:
    if tally.successes == 0:
        return "no_data"
    limit = Fraction(str(contract.latency_target_ms))
    if contract.latency_statistic == "avg":
        value = Fraction(tally.latency_us, 1000 * tally.successes)
    else:
        reported = tally.percentile_ms(int(contract.latency_statistic[1:]))
        assert reported is not None
        value = Fraction(str(reported))
    return "met" if value <= limit else "missed"


def _overall(availability: Verdict, latency: Verdict) -> Verdict:
    if "missed" in (availability, latency):
        return "missed"
    if availability == "no_data":
        return "no_data"
    return "met"


def _budget(
    tally: Tally, target: float, measured_minutes: float, downtime: float, whole: _Whole | None
) -> ErrorBudget:
    """``(1 − target)`` of the probes and minutes; a period in progress has the whole
    period's budget (``whole``), of which the elapsed part spent some."""
    share = 1 - target / 100
    allowed = share * (whole.expected_probes if whole and whole.expected_probes else tally.probes)
    remaining = allowed - tally.failures
    allowed_minutes = share * (whole.minutes if whole else measured_minutes)
    return ErrorBudget(
        allowed_failures=round(allowed, 3),
        remaining_failures=round(remaining, 3),
        remaining_percent=round(remaining / allowed * 100, 2) if allowed > 0 else None,
        allowed_minutes=round(allowed_minutes, 2),
        remaining_minutes=round(allowed_minutes - downtime, 2),
    )


@dataclass(frozen=True)
class _Whole:
    """A period in progress, whole: its measured minutes and expected probes."""

    minutes: float
    expected_probes: float | None


def _downtime(tally: Tally, measured_minutes: float, inp: StatementInput) -> float:
    """The failed share of the measured minutes; while in progress, each failed probe
    counts one probe interval (at most the elapsed minutes), so the few probes of a stack
    started mid-period do not stand for the whole elapsed part."""
    if not tally.probes:
        return 0.0
    interval = inp.probe.interval_seconds
    if inp.in_progress and interval:
        return min(tally.failures * interval / 60, measured_minutes)
    return tally.failures / tally.probes * measured_minutes


def _latency(tally: Tally) -> LatencyStats:
    return LatencyStats(
        samples=tally.successes,
        average_ms=tally.average_ms(),
        p50_ms=tally.percentile_ms(50),
        p95_ms=tally.percentile_ms(95),
        p99_ms=tally.percentile_ms(99),
    )


def build_statement(inp: StatementInput, tally: Tally, *, excluded_probes: int) -> SlaStatementBody:
    contract = inp.contract
    until = inp.until
    maintenance_seconds = inp.maintenance_seconds_until(until)
    measured_seconds = (until - inp.period.start).total_seconds() - maintenance_seconds
    measured_minutes = measured_seconds / 60
    downtime = _downtime(tally, measured_minutes, inp)
    availability = _availability_verdict(tally, contract.availability_target)
    latency = _latency_verdict(tally, contract)
    interval = inp.probe.interval_seconds
    whole = None
    if inp.in_progress:
        whole_seconds = inp.period.minutes * 60 - inp.maintenance_seconds
        whole = _Whole(whole_seconds / 60, whole_seconds / interval if interval else None)
    return SlaStatementBody(
        operator_id=inp.probe.operator_id,
        environment=inp.probe.environment,
        kind=inp.probe.kind,
        probe_id=inp.probe.id,
        period=PeriodRead.of(**inp.period.__dict__, now=inp.now),
        contract=contract,
        probes=tally.probes,
        successes=tally.successes,
        failures=tally.failures,
        degraded=tally.degraded,
        excluded_probes=excluded_probes,
        expected_probes=round(measured_seconds / interval) if interval else None,
        availability_percent=(
            round(tally.successes * 100 / tally.probes, 4) if tally.probes else None
        ),
        latency=_latency(tally),
        measured_minutes=round(measured_minutes, 2),
        maintenance_minutes=round(maintenance_seconds / 60, 2),
        downtime_minutes=round(downtime, 2),
        error_budget=_budget(
            tally, contract.availability_target, measured_minutes, downtime, whole
        ),
        verdict=Verdicts(
            availability=availability, latency=latency, overall=_overall(availability, latency)
        ),
        maintenance_window_ids=sorted(inp.window_ids),
    )


class EvidenceHasher:
    """SHA-256 over a canonical text of the raw evidence (``docs/monitoring.md``).

    One header line, one line per maintenance window applied, then one line per raw result
    of the period in ``(started_at, id)`` order:
    ``probe_id|scheduled_at|started_at|outcome|latency_us|status_code``.
    """

    def __init__(self, inp: StatementInput) -> None:
        self._hash = hashlib.sha256()
        self.rows = 0
        self.max_id = 0
        period = inp.period
        self._line(
            f"{EVIDENCE_VERSION}|{inp.probe.operator_id}|{inp.probe.environment}|"
            f"{inp.probe.kind}|{period.start.isoformat()}|{period.end.isoformat()}"
        )
        for start, end in inp.excluded:
            self._line(f"excluded|{start.isoformat()}|{end.isoformat()}")

    def _line(self, text: str) -> None:
        self._hash.update(text.encode())
        self._hash.update(b"\n")

    def add(
        self,
        result_id: int,
        probe_id: int,
        scheduled_at: datetime,
        started_at: datetime,
        outcome: str,
        latency_ms: float,
        status_code: int | None,
    ) -> None:
        self.rows += 1
        self.max_id = max(self.max_id, result_id)
        code = "" if status_code is None else str(status_code)
        self._line(
            f"{probe_id}|{scheduled_at.isoformat()}|{started_at.isoformat()}|{outcome}|"
            f"{to_us(latency_ms)}|{code}"
        )

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
