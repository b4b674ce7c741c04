"""Wire models of SLA statements, contracts, maintenance windows and burn rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from mobileplans.config import Environment
from mobileplans.kit.schema import ApiModel

LatencyStatistic = Literal["avg", "p50", "p95", "p99"]
Verdict = Literal["met", "missed", "no_data"]
ProbeKind = Literal["portal", "getbalance", "microbalance"]


class ContractTerms(ApiModel):
    """An operator's SLA targets (spec 5.2 defaults: 99.9 % and 400 ms, 7.2 #33: average)."""

    availability_target: float = Field(default=99.9, gt=0, lt=100)
    latency_target_ms: float = Field(default=400.0, gt=0, le=60_000)
    latency_statistic: LatencyStatistic = "avg"


class ContractRead(ContractTerms):
    operator_id: str
    is_default: bool
    updated_at: datetime | None = None


class MaintenanceWindowIn(ApiModel):
    environment: Environment | None = None
    side: Literal["platform", "operator"] = "operator"
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    impact: str = Field(min_length=1, max_length=2000)
    announced_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindowIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("endsAt must be after startsAt")
        if self.ends_at - self.starts_at > timedelta(days=7):
            raise ValueError("a maintenance window lasts at most 7 days")
        return self


class MaintenanceWindowRead(ApiModel):
    id: int
    operator_id: str
    environment: str | None
    side: str
    starts_at: datetime
    ends_at: datetime
    impact: str
    announced_at: datetime
    notice_business_days: float
    late_notice: bool
    created_by: str
    cancelled_at: datetime | None
    excluded_from_sla: bool


class PeriodRead(ApiModel):
    """A statement's period; ``inProgress`` when it had not ended at ``generatedAt`` (its
    figures then cover ``start`` to ``generatedAt`` only, see docs/monitoring.md);
    ``status`` says so in words (every report format shows it)."""

    label: str
    start: datetime
    end: datetime
    timezone: str
    in_progress: bool = False
    generated_at: datetime | None = None
    status: str = "complete"

    @classmethod
    def of(
        cls, label: str, start: datetime, end: datetime, timezone: str, now: datetime | None
    ) -> PeriodRead:
        """The period as generated at ``now`` (``None``: as a complete period)."""
        if now is None or now >= end:
            return cls(label=label, start=start, end=end, timezone=timezone)
        return cls(
            label=label,
            start=start,
            end=end,
            timezone=timezone,
            in_progress=True,
            generated_at=now,
            status=f"in progress, generated at {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
        )


class LatencyStats(ApiModel):
    """Over successful probes; percentiles are bucket upper bounds (≤ 2.19 % high)."""

    samples: int
    average_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class ErrorBudget(ApiModel):
    allowed_failures: float
    remaining_failures: float
    remaining_percent: float | None
    allowed_minutes: float
    remaining_minutes: float


class Verdicts(ApiModel):
    availability: Verdict
    latency: Verdict
    overall: Verdict


class StatementSource(ApiModel):
    """How the figures were read: rollup buckets per grain and raw rows."""

    rollup_rows: dict[str, int]
    raw_rows: int


class SlaStatementBody(ApiModel):
    operator_id: str
    environment: str
    kind: str
    probe_id: int
    period: PeriodRead
    contract: ContractTerms
    probes: int
    successes: int
    failures: int
    degraded: int
    excluded_probes: int
    expected_probes: int | None
    availability_percent: float | None
    latency: LatencyStats
    measured_minutes: float
    maintenance_minutes: float
    downtime_minutes: float
    error_budget: ErrorBudget
    verdict: Verdicts
    maintenance_window_ids: list[int]

    def figures(self) -> dict[str, Any]:
        """Everything but how it was read (for comparing two computations)."""
        return self.model_dump(mode="json", by_alias=True)


class SlaStatementRead(ApiModel):
    """A statement and where its figures came from."""

    statement: SlaStatementBody
    source: StatementSource


class SlaReport(ApiModel):
    operator_id: str | None
    environment: str
    period: PeriodRead | None
    statements: list[SlaStatementRead]


class Evidence(ApiModel):
    """What an issued statement was computed from: raw rows up to ``maxResultId``."""

    digest: str
    rows: int
    max_result_id: int
    excluded: list[tuple[datetime, datetime]] = Field(default_factory=list)
    algorithm: str = "sha256/mobileplans-sla-evidence-v1"


class IssuedStatement(ApiModel):
    id: int
    issued_at: datetime
    already_issued: bool
    evidence: Evidence
    statement: SlaStatementBody


class Verification(ApiModel):
    """Recomputing an issued statement from the raw rows it was issued from."""

    id: int
    reproducible: bool
    digest_matches: bool
    statement_matches: bool
    recomputed_digest: str
    late_rows: int
    """Rows for the period that arrived after issuance; they never change the statement."""


class WindowBurn(ApiModel):
    window_seconds: int
    probes: int
    failures: int
    burn_rate: float


class BurnAlert(ApiModel):
    severity: Literal["page", "ticket"]
    long_window_seconds: int
    short_window_seconds: int
    factor: float
    long_burn_rate: float
    short_burn_rate: float
    long_failures: int


class ProbeBurn(ApiModel):
    probe_id: int
    operator_id: str
    environment: str
    kind: str
    availability_target: float
    windows: list[WindowBurn]
    alerts: list[BurnAlert]


class BurnReport(ApiModel):
    at: datetime
    window_end: datetime
    min_failures: int
    probes: list[ProbeBurn]
