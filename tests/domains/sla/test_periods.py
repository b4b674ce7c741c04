"""Periods in the operator's time zone, the read plan, and the maintenance exclusion maths."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from mobileplans.domains.sla.maintenance import (
    IntervalSet,
    business_days_between,
    clip,
    merge,
    subtract,
)
from mobileplans.domains.sla.periods import GRAIN_STEP, parse_period, read_plan
from mobileplans.errors import BadRequest
from tests.domains.sla.support import utc


def test_month_in_kolkata_starts_at_1830_utc_the_day_before() -> None:
    period = parse_period("2026-11", start=None, end=None, timezone="Asia/Kolkata")
    assert period.start == utc(2026, 10, 31, 18, 30)
    assert period.end == utc(2026, 11, 30, 18, 30)
    assert period.label == "2026-11"


def test_october_in_adelaide_crosses_the_dst_change() -> None:
    period = parse_period("2026-10", start=None, end=None, timezone="Australia/Adelaide")
    assert period.start == utc(2026, 9, 30, 14, 30)  # ACST +09:30
    assert period.end == utc(2026, 10, 31, 13, 30)  # ACDT +10:30
    assert period.minutes == 31 * 24 * 60 - 60


def test_december_rolls_into_next_year_and_day_periods() -> None:
    december = parse_period("2026-12", start=None, end=None, timezone="UTC")
    assert (december.start, december.end) == (utc(2026, 12, 1), utc(2027, 1, 1))
    day = parse_period("2026-11-02", start=None, end=None, timezone="Asia/Kolkata")
    assert (day.start, day.end) == (utc(2026, 11, 1, 18, 30), utc(2026, 11, 2, 18, 30))


def test_custom_range_with_offsets_and_local_dates() -> None:
    period = parse_period(
        None, start="2026-11-01T06:00:00+05:30", end="2026-11-03", timezone="Asia/Kolkata"
    )
    assert period.start == utc(2026, 11, 1, 0, 30)
    assert period.end == utc(2026, 11, 2, 18, 30)


@pytest.mark.parametrize(
    ("period", "start", "end", "field"),
    [
        ("2026-13", None, None, "period"),
        ("2026-02-30", None, None, "period"),
        ("November", None, None, "period"),
        (None, None, None, "period"),
        ("2026-11", "2026-11-01", None, "period"),
        (None, "2026-11-01T00:00:00", "2026-11-02", "from"),
        (None, "yesterday", "2026-11-02", "from"),
        (None, "2026-11-02", "2026-11-01", "to"),
        (None, "2025-01-01", "2026-11-01", "to"),
    ],
)
def test_bad_periods_name_the_parameter(
    period: str | None, start: str | None, end: str | None, field: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_period(period, start=start, end=end, timezone="UTC")
    assert caught.value.extra["field"] == field


def test_read_plan_of_a_kolkata_month() -> None:
    period = parse_period("2026-11", start=None, end=None, timezone="Asia/Kolkata")
    plan = read_plan([(period.start, period.end)], ("day", "hour"))
    assert plan.rollups["day"] == [(utc(2026, 11, 1), utc(2026, 11, 30))]
    assert plan.rollups["hour"] == [
        (utc(2026, 10, 31, 19), utc(2026, 11, 1)),
        (utc(2026, 11, 30), utc(2026, 11, 30, 18)),
    ]
    assert plan.raw == [
        (utc(2026, 10, 31, 18, 30), utc(2026, 10, 31, 19)),
        (utc(2026, 11, 30, 18), utc(2026, 11, 30, 18, 30)),
    ]


@pytest.mark.parametrize("seed", range(25))
def test_read_plan_reads_every_instant_exactly_once(seed: int) -> None:
    rng = random.Random(seed)
    base = utc(2026, 10, 1)
    points = sorted({rng.randrange(0, 40 * 86400) for _ in range(rng.choice((2, 4, 6)))})
    if len(points) % 2:
        points.append(points[-1] + 1)
    included = [
        (base + timedelta(seconds=points[i]), base + timedelta(seconds=points[i + 1]))
        for i in range(0, len(points), 2)
        if points[i] < points[i + 1]
    ]
    grains = rng.choice([("day", "hour"), ("hour", "minute"), ("hour",)])
    plan = read_plan(included, grains)
    pieces = list(plan.raw)
    for grain, intervals in plan.rollups.items():
        for a, b in intervals:
            step = GRAIN_STEP[grain]
            assert (a - base) % step == timedelta(0)
            assert (b - base) % step == timedelta(0)
        pieces += intervals
    assert merge(pieces) == merge(included)
    total = sum((b - a).total_seconds() for a, b in pieces)
    assert total == sum((b - a).total_seconds() for a, b in included)


def test_subtract_clip_and_membership() -> None:
    start, end = utc(2026, 10, 1), utc(2026, 10, 2)
    holes = [
        (utc(2026, 10, 1, 5), utc(2026, 10, 1, 6)),
        (utc(2026, 10, 1, 5, 30), utc(2026, 10, 1, 7)),
        (utc(2026, 9, 30, 20), utc(2026, 10, 1, 1)),
        (utc(2026, 10, 3), utc(2026, 10, 4)),
    ]
    assert clip(holes, start, end) == [
        (utc(2026, 10, 1), utc(2026, 10, 1, 1)),
        (utc(2026, 10, 1, 5), utc(2026, 10, 1, 7)),
    ]
    assert subtract(start, end, holes) == [
        (utc(2026, 10, 1, 1), utc(2026, 10, 1, 5)),
        (utc(2026, 10, 1, 7), end),
    ]
    inside = IntervalSet(clip(holes, start, end))
    assert utc(2026, 10, 1, 5) in inside
    assert utc(2026, 10, 1, 7) not in inside
    assert utc(2026, 10, 1, 6, 59, 59) in inside
    assert utc(2026, 10, 1, 3) not in inside


def test_business_days_skip_weekends_in_the_operator_zone() -> None:
    # Monday 2026-11-02 09:00 UTC to Monday 2026-11-09 09:00 UTC: five business days
    assert business_days_between(utc(2026, 11, 2, 9), utc(2026, 11, 9, 9), "UTC") == 5.0
    # Friday noon to Monday noon: half of Friday and half of Monday
    assert business_days_between(utc(2026, 11, 6, 12), utc(2026, 11, 9, 12), "UTC") == 1.0
    assert business_days_between(utc(2026, 11, 9), utc(2026, 11, 2), "UTC") == 0.0


@pytest.mark.parametrize(
    ("period", "start", "end", "field"),
    [
        ("9999-12-31", None, None, "period"),  # the day after does not exist
        (None, "0001-01-01T00:00:00+01:00", "2026-01-01", "from"),  # before year 1 in UTC
        (None, "2026-01-01", "9999-12-31T23:59:59-01:00", "to"),  # after year 9999 in UTC
    ],
)
def test_periods_at_the_calendars_edges_are_bad_requests(
    period: str | None, start: str | None, end: str | None, field: str
) -> None:
    """Found by fuzzing (tests/fuzz/harnesses/broker_query.py): these raised OverflowError."""
    for zone in ("UTC", "Pacific/Kiritimati", "America/New_York"):
        with pytest.raises(BadRequest) as caught:
            parse_period(period, start=start, end=end, timezone=zone)
        assert caught.value.extra["field"] == field
