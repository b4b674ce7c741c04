"""From evidence to a severity: the detection rules of spec 5.3 with 7.2 #31's resolution.

Evidence per operator and environment (a *scope*):

- each enabled probe's health: its consecutive failures and its failures over the rolling
  window (default 5 min);
- the partner's traffic failure % through the broker over the same window, when it has at
  least ``min_traffic_requests`` requests (a tiny denominator decides nothing).

An endpoint's failure % is its window's failed share (of at least the results the window
should hold, ``window / interval``), or **100 %** once it has failed
``confirm_failures`` (2) times in a row: a hard-down endpoint fails all of its traffic now,
and waiting for the window to fill would page five minutes late. The partner failure % is
the worst endpoint's or the traffic's, whichever is higher.

Mobile Plans: the most severe row whose threshold the partner % reaches (100 -> Sev 1,
>= 75 -> Sev 2, >= 25 -> Sev 3: the "= 75 %" of Sev 2 is read as a lower bound, which also
removes its overlap with Sev 3's 25-75 %), and at least Sev 3 after 12 consecutive failed
GetBalance probes. DYNAMO / Data Marketplace: High once an endpoint has failed continuously
for more than 30 minutes (consecutive failures x interval); Low is never detected, only
declared (reporting failures and information requests are not probed).

Global (per environment): Sev 1 when the global traffic failure % is above 5 % or when at
least ``quorum`` of the probed partners (and at least ``min_partners``) are at Sev 1/2 or
High at once (many partners failing together is likely the platform's side); Sev 2 for
1-5 %. Below 1 % the partner rules cover it: a global Sev 3 on any failure would never close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mobileplans.domains.incident.policies import (
    GLOBAL_SEV1_PERCENT,
    GLOBAL_SEV2_PERCENT,
    Policy,
)


@dataclass(frozen=True)
class Thresholds:
    window_seconds: int = 300
    confirm_failures: int = 2
    min_traffic_requests: int = 20
    global_min_requests: int = 100
    global_quorum: float = 0.5
    global_min_partners: int = 3


@dataclass(frozen=True)
class EndpointHealth:
    probe_id: int
    kind: str
    interval_seconds: int
    consecutive_failures: int
    window_results: int
    window_failures: int

    def failure_percent(self, confirm_failures: int, window_seconds: int = 300) -> float:
        """100 after ``confirm_failures`` in a row; else failures over the results the
        window should hold (at least ``window / interval``: right after a start, one
        failure among two results is not 50 % of a 5-minute window)."""
        if self.consecutive_failures >= confirm_failures:
            return 100.0
        expected = window_seconds // max(self.interval_seconds, 1)
        denominator = max(self.window_results, expected, 1)
        return round(100.0 * self.window_failures / denominator, 2)

    @property
    def failing_minutes(self) -> float:
        return self.consecutive_failures * self.interval_seconds / 60


@dataclass(frozen=True)
class TrafficShare:
    requests: int
    failures: int

    @property
    def percent(self) -> float | None:
        return None if self.requests == 0 else round(100.0 * self.failures / self.requests, 2)


@dataclass(frozen=True)
class ScopeEvidence:
    operator_id: str
    environment: str
    endpoints: tuple[EndpointHealth, ...]
    traffic: TrafficShare | None = None

    def as_json(self, thresholds: Thresholds) -> dict[str, Any]:
        return {
            "windowSeconds": thresholds.window_seconds,
            "endpoints": [
                {
                    "probeId": e.probe_id,
                    "kind": e.kind,
                    "consecutiveFailures": e.consecutive_failures,
                    "windowResults": e.window_results,
                    "windowFailures": e.window_failures,
                    "failurePercent": e.failure_percent(
                        thresholds.confirm_failures, thresholds.window_seconds
                    ),
                }
                for e in self.endpoints
            ],
            "traffic": None
            if self.traffic is None
            else {
                "requests": self.traffic.requests,
                "failures": self.traffic.failures,
                "failurePercent": self.traffic.percent,
            },
        }


@dataclass(frozen=True)
class Assessment:
    severity: str | None
    reasons: list[str] = field(default_factory=list)
    partner_failure_percent: float = 0.0

    @property
    def failing(self) -> bool:
        return self.severity is not None


def partner_percent(evidence: ScopeEvidence, thresholds: Thresholds) -> tuple[float, list[str]]:
    worst, reasons = 0.0, []
    for endpoint in evidence.endpoints:
        pct = endpoint.failure_percent(thresholds.confirm_failures, thresholds.window_seconds)
        if pct > 0:
            reasons.append(
                f"{endpoint.kind} probe {endpoint.probe_id}: {pct:g} % failing "
                f"({endpoint.consecutive_failures} in a row, {endpoint.window_failures}/"
                f"{endpoint.window_results} in {thresholds.window_seconds} s)"
            )
        worst = max(worst, pct)
    traffic = evidence.traffic
    if traffic is not None and traffic.requests >= thresholds.min_traffic_requests:
        pct = traffic.percent or 0.0
        if pct > 0:
            reasons.append(f"traffic: {pct:g} % of {traffic.requests} requests failed")
        worst = max(worst, pct)
    return worst, reasons


def assess(policy: Policy, evidence: ScopeEvidence, thresholds: Thresholds) -> Assessment:
    """The severity the evidence calls for under ``policy`` (None: healthy)."""
    percent, reasons = partner_percent(evidence, thresholds)
    for rule in policy.severities:
        if rule.partner_failure_percent is not None and percent >= rule.partner_failure_percent:
            return Assessment(rule.name, reasons, percent)
        if rule.failing_minutes is not None:
            longest = max((e.failing_minutes for e in evidence.endpoints), default=0.0)
            if longest > rule.failing_minutes:
                why = f"an endpoint has failed continuously for {longest:g} min"
                return Assessment(rule.name, [why, *reasons], percent)
    limit = policy.consecutive_getbalance_failures
    if limit is not None and policy.consecutive_severity is not None:
        balance = [e for e in evidence.endpoints if e.kind == "getbalance"]
        if any(e.consecutive_failures >= limit for e in balance):
            why = f"{limit} consecutive GetBalance probe failures"
            return Assessment(policy.consecutive_severity, [why, *reasons], percent)
    return Assessment(None, reasons, percent)


def assess_global(
    failing_partners: int,
    probed_partners: int,
    traffic: TrafficShare | None,
    thresholds: Thresholds,
) -> Assessment:
    """The global severity (Mobile Plans' global column) for one environment."""
    reasons: list[str] = []
    severity: str | None = None
    if (
        failing_partners >= thresholds.global_min_partners
        and probed_partners > 0
        and failing_partners / probed_partners >= thresholds.global_quorum
    ):
        severity = "sev1"
        reasons.append(
            f"{failing_partners} of {probed_partners} partners failing at once: "
            "likely the platform's side"
        )
    pct = None if traffic is None else traffic.percent
    if (
        traffic is not None
        and pct is not None
        and traffic.requests >= thresholds.global_min_requests
    ):
        if pct > GLOBAL_SEV1_PERCENT:
            severity = "sev1"
        elif pct >= GLOBAL_SEV2_PERCENT and severity is None:
            severity = "sev2"
        if pct >= GLOBAL_SEV2_PERCENT:
            reasons.append(f"global traffic: {pct:g} % of {traffic.requests} requests failed")
    return Assessment(severity, reasons, pct or 0.0)
