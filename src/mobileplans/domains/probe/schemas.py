"""Probe kinds, outcomes, per-probe settings and the records a run produces (spec 5.1, 7.2 #31-#33).

Wire models (``ProbeRead``, ``ProbeSettings``, ``SyncSummary``) use the project's camelCase
aliases; the run-time records (``ClaimedRun``, ``Observation``, ``RunResult``) are slotted, unfrozen
dataclasses (cheapest to build) because the worker makes thousands of them a second; treat
them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import Field, model_validator

from mobileplans.kit.schema import ApiModel

MIN_INTERVAL_SECONDS: Final = 30
"""Spec 5.1: "twice per minute"."""
MAX_INTERVAL_SECONDS: Final = 300
"""Spec 5.3 / 7.2 #31: "one xPing per 5 minutes" is the slowest cadence we allow."""
DEFAULT_INTERVAL_SECONDS: Final = 30
DEFAULT_TIMEOUT_SECONDS: Final = 5.0
MAX_TIMEOUT_SECONDS: Final = 10.0
"""Keeps a claim's lease (2 x timeout + 5 s) under the shortest interval (30 s)."""
DEFAULT_LATENCY_TARGET_MS: Final = 400.0
"""Spec 5.2: 400 ms for the portal, GetBalance and the provisioning API."""


class ProbeKindName(StrEnum):
    """What a probe exercises (spec 5.1)."""

    PORTAL = "portal"
    """HTTPS GET of the portal URL with dummy launch parameters (7.2 #32)."""
    GETBALANCE = "getbalance"
    """GetBalance with ``fieldsTemplate=basic`` for the monitoring ICCID (2.3)."""
    MICROBALANCE = "microbalance"
    """DM microbalance provision then release (2.4); created explicitly."""


class Outcome(StrEnum):
    """How one run ended. ``ok`` and ``degraded`` count as available."""

    OK = "ok"
    DEGRADED = "degraded"
    """Answered correctly but slower than the probe's latency target."""
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"
    TLS_ERROR = "tls_error"
    BAD_BODY = "bad_body"

    @property
    def is_failure(self) -> bool:
        return self not in (Outcome.OK, Outcome.DEGRADED)


class ProbeSettings(ApiModel):
    """A probe's cadence, timeout and latency target (spec 7.2 #31, #33)."""

    interval_seconds: int = Field(
        default=DEFAULT_INTERVAL_SECONDS, ge=MIN_INTERVAL_SECONDS, le=MAX_INTERVAL_SECONDS
    )
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=MAX_TIMEOUT_SECONDS)
    latency_target_ms: float = Field(default=DEFAULT_LATENCY_TARGET_MS, gt=0)

    @model_validator(mode="after")
    def _target_within_timeout(self) -> ProbeSettings:
        if self.latency_target_ms > self.timeout_seconds * 1000:
            raise ValueError("latencyTargetMs must not exceed the timeout")
        return self


class ProbeSettingsPatch(ApiModel):
    """A partial change of :class:`ProbeSettings` plus the enabled flag."""

    interval_seconds: int | None = None
    timeout_seconds: float | None = None
    latency_target_ms: float | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class ProbeHealth:
    """An enabled probe's live health, as the incident engine reads it every few seconds:
    its consecutive failures and its results and failures since the window's start (both 0
    when it has no failure in the window)."""

    id: int
    operator_id: str
    environment: str
    kind: str
    interval_seconds: int
    consecutive_failures: int
    window_results: int = 0
    window_failures: int = 0


@dataclass(frozen=True, slots=True)
class ProbeDefinition:
    """A probe the operator registry implies (or an operator asked for): what and where."""

    operator_id: str
    environment: str
    kind: ProbeKindName
    target_url: str

    @property
    def label(self) -> str:
        return f"{self.operator_id}/{self.environment}/{self.kind.value}"


class ProbeRead(ApiModel):
    id: int
    operator_id: str
    environment: str
    kind: str
    target_url: str
    interval_seconds: int
    timeout_seconds: float
    latency_target_ms: float
    jitter_ms: int
    enabled: bool
    next_run_at: datetime
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    consecutive_failures: int
    last_outcome: str | None = None
    last_run_at: datetime | None = None


class SyncSummary(ApiModel):
    """What a sync from the registry changed; entries are ``operator/environment/kind``."""

    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    enabled: list[str] = Field(default_factory=list)
    disabled: list[str] = Field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.enabled or self.disabled)


@dataclass(slots=True)
class ClaimedRun:
    """One due run a worker holds a lease on.

    ``due_at`` is the row's ``next_run_at`` when claimed (the compare-and-set key of the
    completion); ``scheduled_at`` is the grid slot actually run: the same instant, unless
    the row was more than one interval overdue, in which case the latest due slot is run
    and the ``missed`` slots before it are counted.
    """

    probe_id: int
    operator_id: str
    environment: str
    kind: str
    target_url: str
    due_at: datetime
    scheduled_at: datetime
    interval_seconds: int
    timeout_seconds: float
    latency_target_ms: float
    missed: int = 0


@dataclass(slots=True)
class Observation:
    """What a probe kind saw: outcome (never ``degraded``), HTTP status, latency, detail."""

    outcome: Outcome
    status: int | None
    latency_ms: float
    detail: str | None = None


@dataclass(slots=True)
class RunResult:
    """A finished run, waiting in the worker's buffer for the next batch write."""

    run: ClaimedRun
    started_at: datetime
    outcome: Outcome
    status: int | None
    latency_ms: float
    detail: str | None
    worker: str


@dataclass(frozen=True, slots=True)
class CompletionSummary:
    """What one batch write did: results stored, late duplicates dropped, slots skipped."""

    stored: int
    duplicates: int
    missed: int


@dataclass(frozen=True)
class FailureRead:
    """One failed probe run: when, how it failed and the error text the run recorded."""

    probe_id: int
    started_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: float
    detail: str | None
