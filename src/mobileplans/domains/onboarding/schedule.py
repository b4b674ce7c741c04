"""Due dates from the estimates, in business days of the operator's calendar (time zone and
public holidays of its operations settings), and the projection when milestones slip.

Activities run one after the other from the start date at the opening of business. A
milestone not done by the end of its due date (operator's local date) is *slipping*; the
projection then assumes it needs at least one more business day from now, and every later
milestone moves with it (never earlier than planned).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mobileplans.kit.business_time import BusinessCalendar

RELEASE_FRIDAYS = (1, 3)
"""Spec 4.4: configuration updates on the 1st and 3rd Friday of the month."""


@dataclass(frozen=True)
class Step:
    days: int
    due: date
    done_at: datetime | None


def opening(calendar: BusinessCalendar, day: date) -> datetime:
    return datetime.combine(day, time(calendar.start_hour), calendar.zone)


def lay_out(calendar: BusinessCalendar, start: date, estimates: Sequence[int]) -> list[date]:
    """The due date of each activity, one after the other from ``start``."""
    cursor = opening(calendar, start)
    dues: list[date] = []
    for days in estimates:
        cursor = calendar.add_business_days(cursor, days)
        dues.append(calendar.local(cursor).date())
    return dues


def today(calendar: BusinessCalendar, now: datetime) -> date:
    return calendar.local(now).date()


def slipping(calendar: BusinessCalendar, step: Step, now: datetime) -> bool:
    return step.done_at is None and step.due < today(calendar, now)


def project(
    calendar: BusinessCalendar, start: date, steps: Sequence[Step], now: datetime
) -> list[date]:
    """The projected date of each step: done ones on their day, open ones chained."""
    cursor = opening(calendar, start)
    out: list[date] = []
    for step in steps:
        if step.done_at is not None:
            cursor = max(cursor, step.done_at)
            out.append(calendar.local(step.done_at).date())
            continue
        end = calendar.add_business_days(cursor, step.days)
        if calendar.local(end).date() < today(calendar, now) or slipping(calendar, step, now):
            end = max(end, calendar.add_business_days(now, 1))
        cursor = end
        out.append(max(step.due, calendar.local(end).date()))
    return out


def next_release(calendar: BusinessCalendar, now: datetime) -> datetime:
    """The next configuration release: opening of the 1st or 3rd Friday, after ``now``."""
    day = today(calendar, now)
    for _ in range(80):
        if day.weekday() == 4 and (day.day - 1) // 7 + 1 in RELEASE_FRIDAYS:
            at = opening(calendar, day)
            if at > now:
                return at
        day += timedelta(days=1)
    raise AssertionError("a 1st or 3rd Friday is always within 80 days")
