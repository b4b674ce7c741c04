"""Wire schemas of the bug workflow (spec 5.6)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from mobileplans.config import Environment
from mobileplans.kit.schema import ApiModel


class BugStatus(StrEnum):
    """reported -> triaged -> approved | rejected; approved -> scheduled (again and again)
    -> deployed (spec 5.6)."""

    REPORTED = "reported"
    TRIAGED = "triaged"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    DEPLOYED = "deployed"


class BugReportIn(ApiModel):
    """Step 1 (either side). ``operatorId`` may be omitted by an operator's credentials."""

    operator_id: str | None = None
    environment: Environment | None = None
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=20000)


class TriageIn(ApiModel):
    """Step 2 (platform): both the business justification and the impact are required."""

    business_justification: str | None = Field(default=None, max_length=20000)
    impact: str | None = Field(default=None, max_length=20000)


class DecisionIn(ApiModel):
    """Approve (``reason`` optional) or reject (``reason`` required)."""

    reason: str | None = Field(default=None, max_length=20000)


class ScheduleIn(ApiModel):
    """Step 3 (platform): the tentative deployment date, not in the past."""

    tentative_deploy_date: date | None = None
    note: str | None = Field(default=None, max_length=20000)


class DeployIn(ApiModel):
    note: str | None = Field(default=None, max_length=20000)


class BugEventRead(ApiModel):
    at: datetime
    kind: str
    side: str
    actor: str
    message: str


class BugRead(ApiModel):
    id: int
    operator_id: str
    environment: str | None
    reported_by: str
    title: str
    description: str
    status: BugStatus
    business_justification: str | None
    impact: str | None
    decision_reason: str | None
    tentative_deploy_date: date | None
    deployed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    events: list[BugEventRead] | None = None
