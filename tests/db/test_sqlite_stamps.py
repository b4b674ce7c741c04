"""``db.sqlite_stamps.SqliteStamps``: the batch writers' timestamps are the text
SQLAlchemy's ``DateTime`` stores on SQLite (UTC, naive, six digits of microseconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from mobileplans.db.sqlite_stamps import SQLITE_DATETIME, SqliteStamps

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30))]
)


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30), timezones=ZONES)
)
def test_a_stamp_is_strftime_s_text_of_the_utc_instant(at: datetime) -> None:
    assert SqliteStamps()[at] == at.astimezone(UTC).strftime(SQLITE_DATETIME)


def test_whole_seconds_keep_their_six_digits_and_each_instant_is_formatted_once() -> None:
    stamps = SqliteStamps()
    at = datetime(2026, 12, 7, 4, 0, 0, tzinfo=UTC)
    assert stamps[at] == "2026-12-07 04:00:00.000000"
    assert stamps[at.astimezone(timezone(timedelta(hours=2)))] == "2026-12-07 04:00:00.000000"
    assert len(stamps) == 1  # the same instant in another zone is the same key
