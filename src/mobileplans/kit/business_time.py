"""Business days and business hours in an operator's time zone, holiday-aware.

A *business day* is Monday to Friday, local time, that is not a public holiday of the
calendar's country (and subdivision) per the ``holidays`` package. *Business hours* run from
``start_hour`` to ``end_hour`` local time on business days (9 to 17 by default), so one
business day of work is ``end_hour - start_hour`` business hours.

Used for the maintenance notice rule (five business days, spec 5.5) and for incident clocks
whose policy speaks of business days (DYNAMO "response <= 1 business day", "updates every
business day", spec 5.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

MAX_DAYS_SCANNED = 5000
"""Bound on every day-by-day walk (about 13 years): deadlines and notices are far shorter."""


class CalendarError(ValueError):
    """An unknown time zone or holiday country."""


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None
    start_hour: int = 9
    end_hour: int = 17
    _cache: dict[int, holidays.HolidayBase] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise CalendarError(
                f"business hours {self.start_hour}-{self.end_hour} are not within 0-24"
            )
        try:
            ZoneInfo(self.timezone)
        except Exception as exc:  # ZoneInfoNotFoundError or ValueError for bad keys
            raise CalendarError(f"unknown time zone {self.timezone!r}") from exc
        if (
            self.country is not None
            and self.country.upper() not in holidays.list_supported_countries()
        ):
            raise CalendarError(f"no holiday calendar for country {self.country!r}")

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hours_per_day(self) -> int:
        return self.end_hour - self.start_hour

    def _holidays(self, year: int) -> holidays.HolidayBase | None:
        if self.country is None:
            return None
        table = self._cache.get(year)
        if table is None:
            table = holidays.country_holidays(
                self.country.upper(), subdiv=self.subdivision, years=year
            )
            self._cache[year] = table
        return table

    def holiday_name(self, day: date) -> str | None:
        table = self._holidays(day.year)
        if table is None:
            return None
        name = table.get(day)
        return None if name is None else str(name)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.holiday_name(day) is None

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def _at(self, day: date, hour: int) -> datetime:
        if hour == 24:
            return datetime.combine(day + timedelta(days=1), time(0), self.zone)
        return datetime.combine(day, time(hour), self.zone)

    def business_days_between(self, start: datetime, end: datetime) -> float:
        """Whole and partial business days from ``start`` to ``end`` (calendar-day spans of
        business days, local time; three decimals)."""
        if end <= start:
            return 0.0
        local, finish = self.local(start), self.local(end)
        total = 0.0
        for _ in range(MAX_DAYS_SCANNED):
            if local >= finish:
                break
            next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0), self.zone)
            step_end = min(next_midnight, finish)
            if self.is_business_day(local.date()):
                total += (step_end - local).total_seconds() / 86400
            local = step_end
        return round(total, 3)

    def add_business_hours(self, instant: datetime, hours: float) -> datetime:
        """The instant ``hours`` business hours after ``instant`` (time outside business
        hours does not count; an instant outside them starts at the next opening)."""
        remaining = timedelta(hours=hours)
        local = self.local(instant)
        day = local.date()
        for _ in range(MAX_DAYS_SCANNED):
            if self.is_business_day(day):
                opens, closes = self._at(day, self.start_hour), self._at(day, self.end_hour)
                begin = max(opens, local)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(instant.tzinfo)
                    remaining -= available
            day += timedelta(days=1)
            local = self._at(day, 0)
        raise CalendarError("no business hours found within the scan bound")

    def add_business_days(self, instant: datetime, days: float) -> datetime:
        """``days`` business days of business hours after ``instant``."""
        return self.add_business_hours(instant, days * self.hours_per_day)
