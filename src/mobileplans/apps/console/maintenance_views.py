"""What the maintenance pages show: a window's state in words, the month grid of the
calendar, the form's fields read into the domain's schema, and the .ics events."""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from mobileplans.apps.console import ical
from mobileplans.domains.maintenance_notice.schemas import NoticeIn, NoticeRead
from mobileplans.errors import BadRequest

FIELDS = ("operatorId", "environment", "startsAt", "endsAt", "description", "impact")
MAX_TEXT = 2000


def window_state(notice: NoticeRead, now: datetime) -> str:
    """cancelled, completed (notice sent), in progress, ended, or announced (upcoming)."""
    if notice.cancelled_at is not None:
        return "cancelled"
    if notice.completion_sent_at is not None:
        return "completed"
    if notice.starts_at <= now < notice.ends_at:
        return "in progress"
    return "ended" if notice.ends_at <= now else "announced"


def parse_month(text: str | None, now: datetime) -> date:
    """``YYYY-MM`` (default: this UTC month) as the month's first day."""
    if not text:
        return now.date().replace(day=1)
    try:
        first = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise BadRequest("month must be YYYY-MM, e.g. 2026-11", field="month") from None
    if not 2000 <= first.year <= 2100:
        raise BadRequest("month must be between 2000-01 and 2100-12", field="month")
    return first


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Day:
    day: date
    in_month: bool
    today: bool
    windows: list[NoticeRead] = field(default_factory=list)


@dataclass
class MonthGrid:
    first: date
    weeks: list[list[Day]]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.weeks[0][0].day, datetime.min.time(), UTC)

    @property
    def end(self) -> datetime:
        last = self.weeks[-1][-1].day + timedelta(days=1)
        return datetime.combine(last, datetime.min.time(), UTC)

    def place(self, notices: list[NoticeRead]) -> None:
        """Each window on every UTC day it overlaps."""
        for week in self.weeks:
            for cell in week:
                begin = datetime.combine(cell.day, datetime.min.time(), UTC)
                finish = begin + timedelta(days=1)
                cell.windows = [n for n in notices if n.starts_at < finish and n.ends_at > begin]


def month_grid(first: date, today: date) -> MonthGrid:
    """Monday-first weeks covering the month (UTC days)."""
    weeks = month_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return MonthGrid(
        first,
        [[Day(d, d.month == first.month, d == today) for d in week] for week in weeks],
    )


def local_time(instant: datetime, timezone: str) -> str:
    """``2026-11-09 04:00 America/New_York`` (the operator's wall clock)."""
    return f"{instant.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M} {timezone}"


def parse_instant(text: str, name: str) -> datetime:
    """A form's date and time: ``datetime-local`` values are UTC (the console's times);
    an explicit offset is kept."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(
            f"{name}: enter a date and time, e.g. 2026-11-16T01:00 (UTC)", field=name
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def impact_text(description: str, impact: str) -> str:
    """The window's one text (the domain keeps one): the description, then the impact."""
    description, impact = description.strip(), impact.strip()
    if not impact:
        raise BadRequest("impact is required: what customers may notice", field="impact")
    text = f"{description}\n\nCustomer impact: {impact}" if description else impact
    if len(text) > MAX_TEXT:
        raise BadRequest(
            f"description and impact together are limited to {MAX_TEXT} characters",
            field="impact",
        )
    return text


def notice_in(form: dict[str, str], *, platform: bool) -> NoticeIn:
    """The form as the API's body (same schema, same rules)."""
    operator = form.get("operatorId", "").strip() or None
    if platform and operator is None:
        raise BadRequest("operatorId is required: choose the operator", field="operatorId")
    data = {
        "operatorId": operator,
        "environment": form.get("environment") or None,
        "startsAt": parse_instant(form.get("startsAt", ""), "startsAt"),
        "endsAt": parse_instant(form.get("endsAt", ""), "endsAt"),
        "impact": impact_text(form.get("description", ""), form.get("impact", "")),
    }
    try:
        return NoticeIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        name = loc[0] if loc else "endsAt"
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise BadRequest(f"{name}: {message}", field=name) from None


def summary(notice: NoticeRead) -> str:
    where = notice.environment or "all environments"
    late = " (late notice)" if notice.late_notice else ""
    return f"Maintenance {notice.operator_id} {where}, {notice.side} side{late}"


def event(notice: NoticeRead, now: datetime) -> ical.Event:
    """One window as a VEVENT: UID stable per window, cancelled ones CANCELLED."""
    changes = [notice.announced_at, notice.cancelled_at, notice.completion_sent_at]
    state = window_state(notice, now)
    description = "\n".join(
        [
            notice.impact,
            "",
            f"Window #{notice.id}, {state}; announced {notice.announced_at:%Y-%m-%d %H:%M} UTC "
            f"by {notice.created_by} with {notice.notice_business_days:g} business days' notice"
            + (" (late notice)" if notice.late_notice else ""),
        ]
    )
    return ical.Event(
        uid=f"maintenance-{notice.id}@{notice.operator_id}.mobileplans",
        start=notice.starts_at,
        end=notice.ends_at,
        summary=summary(notice),
        description=description,
        status="CANCELLED" if notice.cancelled_at else "CONFIRMED",
        created=notice.announced_at,
        last_modified=max(c for c in changes if c is not None),
        sequence=1 if notice.cancelled_at else 0,
        categories="MAINTENANCE",
    )
