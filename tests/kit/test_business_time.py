"""Business days and hours: weekends, public holidays of the calendar's country, time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mobileplans.kit.business_time import BusinessCalendar, CalendarError

NY = BusinessCalendar("America/New_York", "US")


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY.zone)


def test_thanksgiving_is_not_a_business_day_but_the_friday_after_is() -> None:
    assert NY.holiday_name(datetime(2026, 11, 26).date()) == "Thanksgiving Day"
    assert not NY.is_business_day(datetime(2026, 11, 26).date())
    assert NY.is_business_day(datetime(2026, 11, 27).date())
    assert not NY.is_business_day(datetime(2026, 11, 28).date())  # Saturday


def test_one_business_day_skips_the_holiday() -> None:
    # Wednesday 10:00 + 8 business hours: Thursday 10:00 normally, Friday 10:00 over Thanksgiving.
    assert NY.add_business_days(ny(2026, 11, 25, 10), 1) == ny(2026, 11, 27, 10)
    plain = BusinessCalendar("America/New_York", None)
    assert plain.add_business_days(ny(2026, 11, 25, 10), 1) == ny(2026, 11, 26, 10)


def test_time_outside_business_hours_does_not_count() -> None:
    # Friday 16:00 + 2 business hours: 1 h on Friday, 1 h on Monday from 09:00.
    assert NY.add_business_hours(ny(2026, 11, 20, 16), 2) == ny(2026, 11, 23, 10)
    # Saturday night: starts at Monday's opening.
    assert NY.add_business_hours(ny(2026, 11, 21, 23), 1) == ny(2026, 11, 23, 10)


def test_result_keeps_the_callers_time_zone() -> None:
    start = datetime(2026, 11, 25, 15, tzinfo=UTC)  # 10:00 in New York
    due = NY.add_business_days(start, 1)
    assert due.tzinfo == UTC
    assert due == datetime(2026, 11, 27, 15, tzinfo=UTC)


def test_business_days_between_counts_fractions_and_skips_holidays() -> None:
    # Monday 00:00 to the next Monday 00:00: five weekdays, one of them Thanksgiving.
    assert NY.business_days_between(ny(2026, 11, 23), ny(2026, 11, 30)) == 4.0
    assert (
        BusinessCalendar("America/New_York").business_days_between(
            ny(2026, 11, 23), ny(2026, 11, 30)
        )
        == 5.0
    )
    assert NY.business_days_between(ny(2026, 11, 23, 12), ny(2026, 11, 23, 18)) == 0.25
    assert NY.business_days_between(ny(2026, 11, 30), ny(2026, 11, 23)) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"country": "XX"}, "no holiday calendar"),
        ({"start_hour": 18, "end_hour": 9}, "business hours"),
    ],
)
def test_bad_calendars_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]
