"""Wire schemas of onboarding (spec 4.4-4.5, issue #9)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from mobileplans.kit.schema import ApiModel


class Plan(StrEnum):
    """The plan templates: one schedule of spec 4.4 per generation."""

    MOBILE_PLANS = "mobile-plans"
    DYNAMO = "dynamo"
    DATA_MARKETPLACE = "data-marketplace"


class Owner(StrEnum):
    OPERATOR = "operator"
    PLATFORM = "platform"
    JOINT = "joint"


class Kind(StrEnum):
    """``manual``: recorded by its owner(s) with a note; ``evidence``: completes itself when
    the system sees the evidence; ``gate``: completed by go, launch or accept."""

    MANUAL = "manual"
    EVIDENCE = "evidence"
    GATE = "gate"


class RangeChoice(StrEnum):
    """Spec 4.3/4.5: a small test SIM range on production first, then the full range."""

    TEST = "test"
    FULL = "full"


class StartIn(ApiModel):
    plan: Plan = Plan.MOBILE_PLANS
    start: date


class RecordIn(ApiModel):
    """A manual milestone recorded by one party, with a note."""

    note: str = Field(min_length=1, max_length=2000)


class GoIn(ApiModel):
    """Recording Go; ``override`` (platform only) is the written justification for going
    while a mandatory criterion fails."""

    note: str | None = Field(default=None, max_length=2000)
    override: str | None = Field(default=None, max_length=4000)


class PromoteIn(ApiModel):
    range: RangeChoice = RangeChoice.TEST
    at: datetime | None = None
    next_release: bool = False
    dry_run: bool = False


class NoteIn(ApiModel):
    note: str | None = Field(default=None, max_length=2000)


class EvidenceRead(ApiModel):
    """A filed conformance report: ``runId`` is ``<kind>#<id>``."""

    id: int
    run_id: str
    kind: str
    environment: str
    verdict: str
    sha256: str
    finished_at: datetime
    received_at: datetime
    actor: str


class EvidenceDetail(EvidenceRead):
    """A filed report with what the registry keeps of its cases: each case's outcome and
    the mandatory cases that failed (the console's run page)."""

    cases: dict[str, str]
    mandatory_failures: list[str]
    report: dict[str, Any] | None = None
    """Kit version, start, target and each case's title, spec section and failures
    (reports filed before it was kept have none)."""


class SignoffRead(ApiModel):
    side: str
    actor: str
    at: datetime
    note: str


class MilestoneRead(ApiModel):
    key: str
    phase: str
    title: str
    owner: Owner
    kind: Kind
    mandatory: bool
    estimate_days: int
    due_date: date
    projected_date: date
    done_at: datetime | None
    slipping: bool
    signoffs: list[SignoffRead]
    evidence: dict[str, Any] | None


class OnboardingEventRead(ApiModel):
    at: datetime
    kind: str
    side: str
    actor: str
    message: str


class ProjectRead(ApiModel):
    operator_id: str
    plan: Plan
    phase: str
    start_date: date
    planned_launch: date
    projected_launch: date
    slipping: list[str]
    production_stage: str
    scheduled_promotion: dict[str, Any] | None
    go_override: dict[str, Any] | None
    launched_at: datetime | None
    accepted_at: datetime | None
    milestones: list[MilestoneRead]
    evidence: list[EvidenceRead]
    timeline: list[OnboardingEventRead]


class CriterionRead(ApiModel):
    """One launch criterion of Go/No-Go: verdict ``pass`` or ``fail``."""

    key: str
    title: str
    mandatory: bool
    verdict: str
    evidence: str
    since: datetime | None


class GoNoGoRead(ApiModel):
    operator_id: str
    verdict: str
    criteria: list[CriterionRead]
    go_signoffs: list[SignoffRead]
    go_override: dict[str, Any] | None


class ConfigDifference(ApiModel):
    field: str
    staging: str
    production: str


class PromotionRead(ApiModel):
    operator_id: str
    range: RangeChoice
    applied: bool
    at: datetime | None
    differences: list[ConfigDifference]
    production_stage: str
