"""Wire models of the incidents API (camelCase on the wire)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from mobileplans.config import Environment
from mobileplans.kit.schema import ApiModel


class Status(StrEnum):
    """detected -> open -> contacted -> acknowledged -> mitigated -> resolved -> closed."""

    OPEN = "open"
    CONTACTED = "contacted"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"


ORDER = [s.value for s in Status]

Category = Literal[
    "endpoint_failure",
    "global_failure",
    "core_network_outage",
    "abnormal_call_volume",
    "scenario_down",
    "platform_outage",
    "reporting_failure",
    "information_request",
    "other",
]


class DeclareIncident(ApiModel):
    """An incident opened by hand toward the other side (spec 5.4): by an operator (core
    network outage, abnormally high call volume from the platform, scenario down > 30 min)
    or by the platform."""

    operator_id: str | None = None
    environment: Environment = Environment.PRODUCTION
    category: Category = "other"
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    severity: str = Field(min_length=1, max_length=8)
    outage: bool = False
    """An outage declaration starts the 30-minute first-communication clock (spec 5.4)."""
    message: str | None = Field(default=None, max_length=5000)
    """When given, the first communication is sent with the declaration."""


class MessageIn(ApiModel):
    message: str = Field(min_length=1, max_length=5000)


class OptionalMessageIn(ApiModel):
    message: str = Field(default="", max_length=5000)


class SeverityIn(ApiModel):
    severity: str = Field(min_length=1, max_length=8)
    message: str = Field(default="", max_length=5000)


class EventRead(ApiModel):
    at: datetime
    kind: str
    side: str
    actor: str
    message: str
    data: dict[str, Any]


class ClockRead(ApiModel):
    clock: str
    owner: str
    rule: str
    started_at: datetime
    due_at: datetime
    remind_at: datetime | None
    reminded_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    cancelled_at: datetime | None


class IncidentRead(ApiModel):
    id: int
    scope: str
    operator_id: str | None
    environment: str | None
    opened_by: str
    responder: str
    source: str
    category: str
    title: str
    policy: str
    severity: str
    status: str
    outage: bool
    parent_id: int | None
    evidence: dict[str, Any]
    detected_at: datetime
    contacted_at: datetime | None
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    last_update_at: datetime | None


class IncidentDetail(IncidentRead):
    events: list[EventRead]
    clocks: list[ClockRead]


class OpsSettingsPatch(ApiModel):
    policy: Literal["mobile_plans", "dynamo", "data_marketplace"] | None = None
    holiday_country: str | None = Field(default=None, min_length=2, max_length=2)
    holiday_subdivision: str | None = Field(default=None, max_length=8)
    business_day_start_hour: int | None = Field(default=None, ge=0, le=23)
    business_day_end_hour: int | None = Field(default=None, ge=1, le=24)
    healthy_probes_to_resolve: int | None = Field(default=None, ge=1, le=100)
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=128)


class OpsSettingsRead(ApiModel):
    operator_id: str
    policy: str
    timezone: str
    holiday_country: str | None
    holiday_subdivision: str | None
    business_day_start_hour: int
    business_day_end_hour: int
    healthy_probes_to_resolve: int
    webhook_url: str | None
    webhook_secret_set: bool


class BreachCount(ApiModel):
    operator_id: str | None
    clock: str
    owner: str
    breaches: int


@dataclass
class EvaluationSummary:
    """What one detection pass did (incident ids)."""

    scopes: int = 0
    opened: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    suppressed_by_maintenance: int = 0


@dataclass
class ClockSummary:
    reminders: int = 0
    breaches: int = 0


CallOutcome = Literal["acknowledged", "reached", "no_answer"]
"""``acknowledged``: the side called acknowledged the incident on the call (counts as its
acknowledgement); ``reached``: someone took the escalation without acknowledging it;
``no_answer`` (busy, voicemail): the task stays open on the next number."""


class CallNumber(ApiModel):
    name: str
    phone: str


class CallAttemptIn(ApiModel):
    """One call made for a call task (issue #10, spec 5.3-5.4 phone escalation)."""

    outcome: CallOutcome
    at: datetime | None = None
    """When the call was made (default: now); not in the future nor before the task."""
    number: str | None = Field(default=None, max_length=32)
    """The number dialled, E.164 (default: the task's next number)."""
    reached: str = Field(default="", max_length=120)
    """Who answered: required unless ``no_answer``."""
    notes: str = Field(default="", max_length=2000)


class CallAttemptRead(ApiModel):
    at: datetime
    actor: str
    number: str
    name: str
    outcome: str
    reached: str
    notes: str


class CallTaskRead(ApiModel):
    id: int
    incident_id: int
    purpose: str
    caller: str
    callee: str
    severity: str
    status: str
    numbers: list[CallNumber]
    next_number: CallNumber | None
    outcome: str | None
    reached: str | None
    opened_at: datetime
    closed_at: datetime | None
    attempts: list[CallAttemptRead]
