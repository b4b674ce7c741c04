"""Statement periods (day, calendar month in the operator's time zone, custom range) and the
read plan that splits a period into rollup buckets and raw edges.

A probe belongs to a period when it *started* inside it: ``start <= started_at < end``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mobileplans.errors import BadRequest

Interval = tuple[datetime, datetime]
GRAIN_STEP = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime
    timezone: str

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def month_period(year: int, month: int, timezone: str) -> Period:
    zone = ZoneInfo(timezone)
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(
        f"{year:04d}-{month:02d}",
        _local_midnight(first, zone),
        _local_midnight(following, zone),
        timezone,
    )


def day_period(day: date, timezone: str) -> Period:
    zone = ZoneInfo(timezone)
    return Period(
        day.isoformat(),
        _local_midnight(day, zone),
        _local_midnight(day + timedelta(days=1), zone),
        timezone,
    )


def _instant(text: str, timezone: str, name: str) -> datetime:
    """An ISO 8601 instant with an offset, or a date meaning local midnight there."""
    try:
        if _DAY.match(text):
            return _local_midnight(date.fromisoformat(text), ZoneInfo(timezone))
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            raise BadRequest(f"{name}: a date-time needs an offset (e.g. Z or +05:30)", field=name)
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: outside years 1-9999 in UTC
        raise BadRequest(
            f"{name}: not an ISO 8601 date or date-time: {text!r}", field=name
        ) from exc


def current_month(now: datetime, timezone: str) -> Period:
    """The calendar month that contains ``now`` in ``timezone``."""
    local = now.astimezone(ZoneInfo(timezone))
    return month_period(local.year, local.month, timezone)


def parse_period(
    period: str | None,
    *,
    start: str | None,
    end: str | None,
    timezone: str,
    now: datetime | None = None,
) -> Period:
    """``2026-11`` (month), ``2026-11-02`` (day) or ``from``/``to`` (``to`` exclusive);
    none of them: the current month (when ``now`` is given)."""
    if period and (start or end):
        raise BadRequest("give either period or from/to, not both", field="period")
    if period:
        return _named_period(period, timezone)
    if now is not None and not (start or end):
        return current_month(now, timezone)
    if not (start and end):
        raise BadRequest("give period=YYYY-MM or YYYY-MM-DD, or both from and to", field="period")
    begin, finish = _instant(start, timezone, "from"), _instant(end, timezone, "to")
    if finish <= begin:
        raise BadRequest("to must be after from", field="to")
    if finish - begin > timedelta(days=400):
        raise BadRequest("a custom range is at most 400 days", field="to")
    return Period(f"{start}/{end}", begin, finish, timezone)


def _named_period(period: str, timezone: str) -> Period:
    try:
        if match := _MONTH.match(period):
            return month_period(int(match[1]), int(match[2]), timezone)
        if _DAY.match(period):
            return day_period(date.fromisoformat(period), timezone)
    except (ValueError, OverflowError) as exc:  # OverflowError: 9999-12-31 has no next day
        raise BadRequest(f"period {period!r} is not a real month or day", field="period") from exc
    raise BadRequest("period is YYYY-MM (month) or YYYY-MM-DD (day)", field="period")


def floor_to(instant: datetime, grain: str) -> datetime:
    if grain == "minute":
        return instant.replace(second=0, microsecond=0)
    if grain == "hour":
        return instant.replace(minute=0, second=0, microsecond=0)
    return instant.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_to(instant: datetime, grain: str) -> datetime:
    floored = floor_to(instant, grain)
    return floored if floored == instant else floored + GRAIN_STEP[grain]


@dataclass
class ReadPlan:
    """Where each part of a set of intervals is read from: rollups per grain, or raw rows."""

    raw: list[Interval] = field(default_factory=list)
    rollups: dict[str, list[Interval]] = field(default_factory=dict)

    def key(self) -> tuple[object, ...]:
        return (tuple(self.raw), tuple(sorted((g, tuple(v)) for g, v in self.rollups.items())))


def _append(target: list[Interval], piece: Interval) -> None:
    if piece[0] >= piece[1]:
        return
    if target and target[-1][1] == piece[0]:
        target[-1] = (target[-1][0], piece[1])
    else:
        target.append(piece)


def _split(plan: ReadPlan, piece: Interval, grains: Sequence[str]) -> None:
    start, end = piece
    if start >= end:
        return
    if not grains:
        _append(plan.raw, piece)
        return
    grain, finer = grains[0], grains[1:]
    inner_start, inner_end = ceil_to(start, grain), floor_to(end, grain)
    if inner_start >= inner_end:
        _split(plan, piece, finer)
        return
    _split(plan, (start, inner_start), finer)
    _append(plan.rollups.setdefault(grain, []), (inner_start, inner_end))
    _split(plan, (inner_end, end), finer)


def read_plan(included: Sequence[Interval], grains: Sequence[str]) -> ReadPlan:
    """Whole ``grains[0]`` buckets from that rollup, then finer grains, raw rows for the rest.

    ``included`` must be sorted and disjoint (what :func:`maintenance.subtract` returns).
    Every instant of ``included`` is read exactly once.
    """
    plan = ReadPlan()
    for piece in included:
        _split(plan, piece, grains)
    plan.raw.sort()
    for pieces in plan.rollups.values():
        pieces.sort()
    return plan
