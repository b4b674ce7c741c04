"""Planned maintenance windows (spec 5.5): the table's CRUD and the SLA exclusion maths.

A window is *excluded* from SLA statements and burn rates when it was announced with the
required notice (``late_notice`` false: at least five business days, spec 5.5) and was not
cancelled. Probes that start inside an excluded window count neither as up nor as down:
they leave the denominator. A late-notice or cancelled window is ordinary time, so an
outage during it counts like any unannounced downtime.

Business days are Monday to Friday in the operator's time zone, less the public holidays of
its holiday country (issue #5): ``OperatorOpsSettings.holiday_country`` (and subdivision)
when set, else the operator's first registry country. The notices themselves (announcement,
reminder, completion, cancellation) are :mod:`mobileplans.domains.maintenance_notice`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MaintenanceWindow
from mobileplans.domains.incident import profiles as ops_settings
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.sla import repository
from mobileplans.domains.sla.periods import Interval
from mobileplans.domains.sla.schemas import MaintenanceWindowIn, MaintenanceWindowRead
from mobileplans.errors import BadRequest, Conflict, NotFound
from mobileplans.kit.business_time import BusinessCalendar, CalendarError

REQUIRED_NOTICE_BUSINESS_DAYS = 5.0


def business_days_between(start: datetime, end: datetime, timezone: str) -> float:
    """Monday-to-Friday days (fractions included) from ``start`` to ``end``, local time,
    with no holidays (see :func:`notice_calendar` for the operator's holidays)."""
    return BusinessCalendar(timezone=timezone).business_days_between(start, end)


async def notice_calendar(session: AsyncSession, operator: OperatorSpec) -> BusinessCalendar:
    """The operator's business calendar for notices (spec 5.5): its time zone and the public
    holidays of ``OperatorOpsSettings.holiday_country`` (with its subdivision) when set, else
    of its first registry country. A country the ``holidays`` package does not know (or a
    bad subdivision) falls back to weekends only."""
    settings = await ops_settings.read_settings(session, operator.id)
    country: str | None = operator.countries[0] if operator.countries else None
    subdivision: str | None = None
    if settings.holiday_country:
        country, subdivision = settings.holiday_country, settings.holiday_subdivision
    try:
        calendar = BusinessCalendar(
            timezone=operator.timezone, country=country, subdivision=subdivision
        )
        calendar.holiday_name(date(2000, 1, 3))  # a bad subdivision raises here
    except (CalendarError, NotImplementedError):
        return BusinessCalendar(timezone=operator.timezone)
    return calendar


async def notice_business_days(
    session: AsyncSession, operator: OperatorSpec, announced: datetime, starts_at: datetime
) -> float:
    """The notice a window starting at ``starts_at`` gets when announced at ``announced``:
    business days in the operator's calendar (:func:`notice_calendar`, spec 5.5). What a
    window records, and what the console's live check shows before it is announced."""
    calendar = await notice_calendar(session, operator)
    return calendar.business_days_between(announced, starts_at)


def is_excluded(window: MaintenanceWindow) -> bool:
    return window.cancelled_at is None and not window.late_notice


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return merge((max(a, start), min(b, end)) for a, b in intervals if a < end and b > start)


def subtract(start: datetime, end: datetime, holes: Sequence[Interval]) -> list[Interval]:
    """``[start, end)`` minus the (merged, clipped) ``holes``: sorted disjoint intervals."""
    kept: list[Interval] = []
    cursor = start
    for hole_start, hole_end in clip(holes, start, end):
        if hole_start > cursor:
            kept.append((cursor, hole_start))
        cursor = max(cursor, hole_end)
    if cursor < end:
        kept.append((cursor, end))
    return kept


class IntervalSet:
    """Membership test for sorted disjoint half-open intervals (``start <= t < end``)."""

    def __init__(self, intervals: Sequence[Interval]) -> None:
        self._starts = [a for a, _ in intervals]
        self._ends = [b for _, b in intervals]

    def __contains__(self, instant: datetime) -> bool:
        i = bisect_right(self._starts, instant) - 1
        return i >= 0 and instant < self._ends[i]

    def __bool__(self) -> bool:
        return bool(self._starts)


def excluded_intervals(
    windows: Iterable[MaintenanceWindow], environment: str, start: datetime, end: datetime
) -> list[Interval]:
    """The excluded windows that apply to ``environment``, clipped to the period and merged."""
    return clip(
        (
            (w.starts_at, w.ends_at)
            for w in windows
            if is_excluded(w) and w.environment in (None, environment)
        ),
        start,
        end,
    )


def to_read(row: MaintenanceWindow) -> MaintenanceWindowRead:
    return MaintenanceWindowRead(
        id=row.id,
        operator_id=row.operator_id,
        environment=row.environment,
        side=row.side,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        impact=row.impact,
        announced_at=row.announced_at,
        notice_business_days=row.notice_business_days,
        late_notice=row.late_notice,
        created_by=row.created_by,
        cancelled_at=row.cancelled_at,
        excluded_from_sla=is_excluded(row),
    )


async def window(session: AsyncSession, window_id: int) -> MaintenanceWindow | None:
    """One window by id (None when absent); callers check who may see it."""
    return await repository.get_window(session, window_id)


async def windows(
    session: AsyncSession, operator_id: str | None, start: datetime | None, end: datetime | None
) -> Sequence[MaintenanceWindow]:
    """Windows of one operator (or all) overlapping ``[start, end)``, by start."""
    ids = None if operator_id is None else [operator_id]
    return await repository.windows_overlapping(session, ids, start, end)


async def create_window(
    session: AsyncSession, operator_id: str, spec: MaintenanceWindowIn, *, actor: str, now: datetime
) -> MaintenanceWindowRead:
    """Record a window; its notice is counted from ``announcedAt`` (default: now) in the
    operator's business days, holidays excluded (spec 5.5)."""
    operator = await registry_service.get_operator(session, operator_id)
    announced = (spec.announced_at or now).astimezone(UTC)
    if announced > now:
        raise BadRequest("announcedAt cannot be in the future", field="announcedAt")
    notice = await notice_business_days(session, operator, announced, spec.starts_at)
    row = MaintenanceWindow(
        operator_id=operator_id,
        environment=spec.environment.value if spec.environment else None,
        side=spec.side,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        impact=spec.impact,
        announced_at=announced,
        notice_business_days=notice,
        late_notice=notice < REQUIRED_NOTICE_BUSINESS_DAYS,
        created_by=actor,
        cancelled_at=None,
    )
    await repository.add_window(session, row)
    return to_read(row)


async def list_windows(
    session: AsyncSession, operator_id: str, *, start: datetime | None, end: datetime | None
) -> list[MaintenanceWindowRead]:
    """Windows of an operator overlapping ``[start, end)`` (open-ended when None)."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise BadRequest(f"{name} needs an offset (e.g. Z or +05:30)", field=name)
    await registry_service.get_operator(session, operator_id)
    rows = await windows(session, operator_id, start, end)
    return [to_read(r) for r in rows]


async def cancel_window(
    session: AsyncSession, operator_id: str, window_id: int, *, now: datetime
) -> MaintenanceWindowRead:
    """Cancel a window; one that has already started cannot be cancelled (it happened)."""
    row = await repository.get_window(session, window_id)
    if row is None or row.operator_id != operator_id:
        raise NotFound(f"no maintenance window {window_id} for operator {operator_id!r}")
    if row.cancelled_at is None:
        if row.starts_at <= now:
            raise Conflict("a window that has started cannot be cancelled", field="windowId")
        row.cancelled_at = now
        await session.flush()
    return to_read(row)
