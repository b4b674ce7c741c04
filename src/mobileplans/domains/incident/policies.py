"""Severity policies as data: the three generations' tables of spec 5.3, as the documents
state them, with the overlaps resolved as spec 7.2 #31 suggests.

Each operator follows one policy (``operator_ops_settings.policy``, default Mobile Plans).
A policy lists its severities, most severe first; each severity has its detection
thresholds and its clocks. ``None`` for a clock means the documents give none ("best
effort", "as needed").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from mobileplans.kit.business_time import BusinessCalendar


class PolicyName(StrEnum):
    MOBILE_PLANS = "mobile_plans"
    DYNAMO = "dynamo"
    DATA_MARKETPLACE = "data_marketplace"


class ClockUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    BUSINESS_DAYS = "business_days"


@dataclass(frozen=True)
class Span:
    """A deadline length: wall-clock minutes, hours or days, or business days (business
    hours of the operator's calendar)."""

    amount: float
    unit: ClockUnit

    def after(self, start: datetime, calendar: BusinessCalendar) -> datetime:
        if self.unit is ClockUnit.BUSINESS_DAYS:
            return calendar.add_business_days(start, self.amount)
        hours = {ClockUnit.MINUTES: 1 / 60, ClockUnit.HOURS: 1.0, ClockUnit.DAYS: 24.0}
        return start + timedelta(hours=self.amount * hours[self.unit])

    def describe(self) -> str:
        unit = self.unit.value.replace("_", " ")
        amount = f"{self.amount:g}"
        return f"{amount} {unit[:-1] if self.amount == 1 else unit}"


def _h(n: float) -> Span:
    return Span(n, ClockUnit.HOURS)


@dataclass(frozen=True)
class SeverityRule:
    """One row of a severity table (spec 5.3)."""

    name: str
    rank: int
    """1 is the most severe; used to compare severities across policies."""
    label: str
    response: Span | None
    update: Span | None
    resolution: Span | None
    partner_failure_percent: float | None = None
    """Detected when a partner endpoint's failure % reaches this (Mobile Plans)."""
    failing_minutes: float | None = None
    """Detected when an endpoint has failed continuously for longer (DYNAMO, DM)."""


@dataclass(frozen=True)
class Policy:
    name: PolicyName
    title: str
    severities: tuple[SeverityRule, ...]
    consecutive_getbalance_failures: int | None = None
    """Mobile Plans Sev 3: this many consecutive failed GetBalance probes."""
    consecutive_severity: str | None = None

    def severity(self, name: str) -> SeverityRule:
        for rule in self.severities:
            if rule.name == name:
                return rule
        names = ", ".join(r.name for r in self.severities)
        raise KeyError(f"policy {self.name.value} has no severity {name!r} (it has {names})")

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.severities]


MOBILE_PLANS = Policy(
    PolicyName.MOBILE_PLANS,
    "Mobile Plans 2019 onwards (three levels; spec 5.3)",
    (
        SeverityRule("sev1", 1, "Outage / Disaster", None, _h(2), _h(8), 100.0),
        SeverityRule("sev2", 2, "Service Disruption", None, _h(6), _h(24), 75.0),
        SeverityRule("sev3", 3, "Standard Escalation", None, None, None, 25.0),
    ),
    consecutive_getbalance_failures=12,
    consecutive_severity="sev3",
)

_TWO_LEVELS = (
    SeverityRule(
        "high",
        1,
        "High customer or business impact",
        _h(1),
        Span(1, ClockUnit.BUSINESS_DAYS),
        None,
        failing_minutes=30.0,
    ),
    SeverityRule(
        "low",
        3,
        "Low: non-critical impact",
        Span(1, ClockUnit.BUSINESS_DAYS),
        Span(7, ClockUnit.DAYS),
        None,
    ),
)

DYNAMO = Policy(PolicyName.DYNAMO, "DYNAMO and early Mobile Plans (two levels)", _TWO_LEVELS)
DATA_MARKETPLACE = Policy(
    PolicyName.DATA_MARKETPLACE, "Data Marketplace (two levels, three probes)", _TWO_LEVELS
)

POLICIES: dict[str, Policy] = {p.name.value: p for p in (MOBILE_PLANS, DYNAMO, DATA_MARKETPLACE)}

GLOBAL_SEV1_PERCENT = 5.0
"""Mobile Plans: global failure % above this is Sev 1 (spec 5.3)."""
GLOBAL_SEV2_PERCENT = 1.0
"""Global failure % from this up to 5 % is Sev 2; below 1 % opens no global incident."""


def policy_named(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}; policies: {', '.join(POLICIES)}") from None


def reminder_lead(start: datetime, due: datetime) -> timedelta:
    """How long before a deadline its reminder goes: an eighth of the span, at most 1 h
    (2 h update -> 15 min before; 8 h resolution -> 1 h; 30 min communication -> 3 min 45 s)."""
    return min((due - start) / 8, timedelta(hours=1))
