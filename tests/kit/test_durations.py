"""ISO 8601 durations as GetBalance's ``timeRemaining`` carries them (spec 2.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobileplans.kit.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=23, hours=23), "P23DT23H"),  # the spec's example
        (timedelta(0), "PT0S"),
        (timedelta(seconds=-5), "PT0S"),  # nothing left is never negative
        (timedelta(milliseconds=999), "PT0S"),  # whole seconds, rounded down
        (timedelta(seconds=1), "PT1S"),
        (timedelta(minutes=1), "PT1M"),
        (timedelta(hours=1, seconds=1), "PT1H1S"),
        (timedelta(days=30), "P30D"),
        (timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=900_000), "P1DT2H3M4S"),
        (timedelta(days=3650), "P3650D"),  # no months or years: their length varies
    ],
)
def test_format(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("P23DT23H", timedelta(days=23, hours=23)),
        ("PT0S", timedelta(0)),
        ("P0D", timedelta(0)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("PT90M", timedelta(minutes=90)),
        ("P1DT1M", timedelta(days=1, minutes=1)),
    ],
)
def test_parse(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "1D", "P1Y", "P1M", "P1W", "PT-1S", "p1d", "P1DT1H ", "PT1,5S"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_round_trip_of_whole_seconds(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta


@pytest.mark.parametrize("text", ["P99999999999D", "PT" + "9" * 400 + "S", "P1D\n"])
def test_parse_rejects_what_fuzzing_found(text: str) -> None:
    """Found by fuzzing (tests/fuzz/harnesses/durations.py): a duration past timedelta's
    range raised OverflowError (a 500 in the flyout), a trailing newline was accepted."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
