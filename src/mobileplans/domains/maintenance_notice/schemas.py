"""Wire schemas of maintenance notices (spec 5.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import AwareDatetime, Field, model_validator

from mobileplans.config import Environment
from mobileplans.domains.sla.schemas import MaintenanceWindowRead
from mobileplans.kit.schema import ApiModel

MAX_WINDOW = timedelta(days=7)


class NoticeIn(ApiModel):
    """Planned maintenance as either side schedules it; the side is the caller's.
    ``operatorId`` is required of the platform; an operator may omit it."""

    operator_id: str | None = None
    environment: Environment | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    impact: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _ordered(self) -> NoticeIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("endsAt must be after startsAt")
        if self.ends_at - self.starts_at > MAX_WINDOW:
            raise ValueError("a maintenance window lasts at most 7 days")
        return self


class NoticeRead(MaintenanceWindowRead):
    """A window with when its reminder and completion notice went out."""

    reminder_sent_at: datetime | None
    completion_sent_at: datetime | None


class LateNoticeCount(ApiModel):
    """Windows of one operator and side starting in a period, and how many were announced
    with less than five business days' notice (spec 5.5). Cancelled windows not counted."""

    operator_id: str
    side: str
    windows: int
    late_notice: int


@dataclass(frozen=True)
class NoticeCounts:
    """What one pass of :func:`~mobileplans.domains.maintenance_notice.service.run_notices`
    enqueued."""

    reminders: int = 0
    completions: int = 0


@dataclass(frozen=True)
class NoticeCheck:
    """The five-business-day check of a window not yet announced (spec 5.5): the notice a
    start at ``starts_at`` gets if announced at ``announced_at``, counted as an announced
    window's is (the operator's time zone and public holidays)."""

    operator_id: str
    timezone: str
    announced_at: datetime
    starts_at: datetime
    business_days: float
    required: float
    earliest_timely_start: datetime
    holidays: tuple[tuple[date, str], ...] = ()
    """Public holidays between the announcement and the start (they do not count)."""

    @property
    def late(self) -> bool:
        return self.business_days < self.required
