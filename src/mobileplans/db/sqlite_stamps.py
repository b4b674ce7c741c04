"""Timestamps in the form SQLAlchemy's ``DateTime`` stores on SQLite, for the batch writers
that hand rows straight to the driver (the broker's launch and GetBalance call records)."""

from __future__ import annotations

from datetime import UTC, datetime

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # UTC, naive: what the column type writes


class SqliteStamps(dict[datetime, str]):
    """Aware datetimes to their stored text, each distinct one formatted once: the rows of
    a batch share their clock readings (many requests per millisecond), and formatting is
    most of a row's cost. One instance per batch. The text is :data:`SQLITE_DATETIME`'s,
    made by ``isoformat`` (a third of ``strftime``'s cost; tests hold the two equal)."""

    def __missing__(self, at: datetime) -> str:
        utc = at.astimezone(UTC).replace(tzinfo=None)
        stamp = self[at] = utc.isoformat(" ", "microseconds")
        return stamp
