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
  (percentiles judged on the bucket's upper bound, so a "met" is never optimistic).
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

    @property
    def maintenance_seconds(self) -> float:
        return sum((b - a).total_seconds() for a, b in self.excluded)


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


def _budget(tally: Tally, target: float, measured_minutes: float, downtime: float) -> ErrorBudget:
    share = 1 - target / 100
    allowed = share * tally.probes
    remaining = allowed - tally.failures
    allowed_minutes = share * measured_minutes
    return ErrorBudget(
        allowed_failures=round(allowed, 3),
        remaining_failures=round(remaining, 3),
        remaining_percent=round(remaining / allowed * 100, 2) if allowed > 0 else None,
        allowed_minutes=round(allowed_minutes, 2),
        remaining_minutes=round(allowed_minutes - downtime, 2),
    )


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
    measured_seconds = (inp.period.end - inp.period.start).total_seconds()
    measured_seconds -= inp.maintenance_seconds
    measured_minutes = measured_seconds / 60
    downtime = tally.failures / tally.probes * measured_minutes if tally.probes else 0.0
    availability = _availability_verdict(tally, contract.availability_target)
    latency = _latency_verdict(tally, contract)
    interval = inp.probe.interval_seconds
    return SlaStatementBody(
        operator_id=inp.probe.operator_id,
        environment=inp.probe.environment,
        kind=inp.probe.kind,
        probe_id=inp.probe.id,
        period=PeriodRead(**inp.period.__dict__),
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
        maintenance_minutes=round(inp.maintenance_seconds / 60, 2),
        downtime_minutes=round(downtime, 2),
        error_budget=_budget(tally, contract.availability_target, measured_minutes, downtime),
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
