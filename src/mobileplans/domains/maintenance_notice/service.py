"""Planned-maintenance notices in both directions (spec 5.5).

Either side schedules maintenance that has or may have customer impact; the other side is
told at once (*announcement*). The rule is at least **five business days'** notice, counted
in the operator's time zone and holiday calendar (:func:`~mobileplans.domains.sla.
maintenance.notice_calendar`); a shorter notice is flagged in the announcement's subject
and body ("late notice: N business days"), keeps the window inside the SLA, and is counted
per operator for reports (:func:`late_notice_counts`). A *reminder* goes out before the
start (24 h by default) and a *completion notice* after the end (spec 5.5 "after
maintenance: send a completion notice"); each is sent once, by a compare-and-set on
``reminder_sent_at`` / ``completion_sent_at`` (:func:`run_notices`, a worker job). A
cancelled window gets a *cancellation notice*.

Who hears: a window of the operator side goes to the platform contacts; one of the platform
side to the operator's contacts. Table CRUD and the SLA exclusion stay in
:mod:`mobileplans.domains.sla.maintenance`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import PlatformContact
from mobileplans.db.models import MaintenanceWindow
from mobileplans.domains.access.service import Party
from mobileplans.domains.maintenance_notice import repository
from mobileplans.domains.maintenance_notice.schemas import (
    LateNoticeCount,
    NoticeCheck,
    NoticeCounts,
    NoticeIn,
    NoticeRead,
)
from mobileplans.domains.notification import service as notification_service
from mobileplans.domains.notification.schemas import Message, Recipient
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.sla import maintenance
from mobileplans.domains.sla.schemas import MaintenanceWindowIn
from mobileplans.errors import BadRequest, Conflict, Forbidden, NotFound
from mobileplans.kit.business_time import MAX_DAYS_SCANNED, BusinessCalendar

NoticeKind = Literal["announced", "reminder", "completed", "cancelled"]
DEFAULT_REMINDER_BEFORE = timedelta(hours=24)
COMPLETION_LOOKBACK = timedelta(days=7)
"""Windows that ended longer ago than this get no completion notice (e.g. when the job
first runs on an old database)."""
REQUIRED = maintenance.REQUIRED_NOTICE_BUSINESS_DAYS


def to_read(row: MaintenanceWindow) -> NoticeRead:
    base = maintenance.to_read(row).model_dump()
    return NoticeRead(
        **base, reminder_sent_at=row.reminder_sent_at, completion_sent_at=row.completion_sent_at
    )


def _aware(value: datetime | None, field: str) -> None:
    if value is not None and value.tzinfo is None:
        raise BadRequest(f"{field} needs an offset (e.g. Z or +05:30)", field=field)


async def _visible(session: AsyncSession, party: Party, window_id: int) -> MaintenanceWindow:
    row = await maintenance.window(session, window_id)
    if row is None:
        raise NotFound(f"maintenance window {window_id} does not exist")
    party.check_visible(row.operator_id, f"maintenance window {window_id}")
    return row


async def get_notice(session: AsyncSession, party: Party, window_id: int) -> NoticeRead:
    """One window (404 for another operator's window, spec 5.5)."""
    return to_read(await _visible(session, party, window_id))


async def list_notices(
    session: AsyncSession,
    party: Party,
    *,
    operator_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[NoticeRead]:
    """Windows overlapping ``[start, end)``: all operators' (or ``operator_id``'s) for the
    platform; only its own for an operator (naming another is 403)."""
    _aware(start, "from")
    _aware(end, "to")
    scope = operator_id if party.is_platform else party.acting_for(operator_id)
    return [to_read(r) for r in await maintenance.windows(session, scope, start, end)]


def first_start_with_notice(
    calendar: BusinessCalendar, announced: datetime, days: float = REQUIRED
) -> datetime:
    """The earliest start that gives ``days`` business days' notice from ``announced``, as
    :meth:`BusinessCalendar.business_days_between` counts them (calendar-day spans of
    business days, local time), rounded up to the minute."""
    local = calendar.local(announced)
    total = 0.0
    for _ in range(MAX_DAYS_SCANNED):
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), calendar.zone)
        if calendar.is_business_day(local.date()):
            span = (midnight - local).total_seconds() / 86400
            if total + span >= days:
                found = local + timedelta(days=days - total)
                rounded = found.replace(second=0, microsecond=0)
                if rounded < found:
                    rounded += timedelta(minutes=1)
                return rounded.astimezone(UTC)
            total += span
        local = midnight
    raise BadRequest("no business days found in the operator's calendar", field="startsAt")


async def earliest_timely_start(
    session: AsyncSession, operator_id: str, announced: datetime
) -> datetime:
    """The earliest start of a window announced at ``announced`` that is not late notice
    (five business days in the operator's time zone and holidays, spec 5.5)."""
    operator = await registry_service.get_operator(session, operator_id)
    calendar = await maintenance.notice_calendar(session, operator)
    return first_start_with_notice(calendar, announced)


async def check_notice(
    session: AsyncSession,
    party: Party,
    operator_id: str | None,
    starts_at: datetime,
    *,
    now: datetime,
) -> NoticeCheck:
    """The notice a window starting at ``starts_at`` would get if announced now (spec 5.5),
    by the same count :func:`schedule` records, with the earliest start that is not late
    notice and the holidays on the way. An operator may check only its own operator."""
    target = party.acting_for(operator_id)
    _aware(starts_at, "startsAt")
    operator = await registry_service.get_operator(session, target)
    calendar = await maintenance.notice_calendar(session, operator)
    days = await maintenance.notice_business_days(session, operator, now, starts_at)
    found: list[tuple[date, str]] = []
    day, last = calendar.local(now).date(), calendar.local(max(now, starts_at)).date()
    while day <= last and len(found) < 20:
        name = calendar.holiday_name(day)
        if name is not None and day.weekday() < 5:
            found.append((day, name))
        day += timedelta(days=1)
    return NoticeCheck(
        operator_id=target,
        timezone=operator.timezone,
        announced_at=now,
        starts_at=starts_at,
        business_days=days,
        required=REQUIRED,
        earliest_timely_start=first_start_with_notice(calendar, now),
        holidays=tuple(found),
    )


async def schedule(
    session: AsyncSession,
    party: Party,
    spec: NoticeIn,
    *,
    contacts: Sequence[PlatformContact],
    now: datetime,
) -> NoticeRead:
    """Record the window (side = the caller's) and announce it to the other side (spec
    5.5); less than five business days' notice is flagged as late."""
    operator_id = party.acting_for(spec.operator_id)
    if spec.starts_at <= now:
        raise BadRequest("startsAt must be in the future", field="startsAt")
    window = MaintenanceWindowIn(
        environment=spec.environment,
        side=party.side,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        impact=spec.impact,
    )
    created = await maintenance.create_window(
        session, operator_id, window, actor=party.actor, now=now
    )
    row = await _visible(session, party, created.id)
    await _notify(session, row, "announced", await _audience(session, row, contacts), now=now)
    return to_read(row)


async def cancel(
    session: AsyncSession,
    party: Party,
    window_id: int,
    *,
    contacts: Sequence[PlatformContact],
    now: datetime,
) -> NoticeRead:
    """Cancel a window that has not started and send a cancellation notice to those who
    were told of it (and to the window's own side when the other side cancelled it). An
    operator may cancel only the windows its side announced."""
    row = await _visible(session, party, window_id)
    if not party.is_platform and row.side != party.side:
        raise Forbidden("a window the platform announced can be cancelled by the platform only")
    already = row.cancelled_at is not None
    await maintenance.cancel_window(session, row.operator_id, window_id, now=now)
    if not already:
        recipients = await _audience(session, row, contacts)
        if party.side != row.side:
            recipients += await _side_recipients(session, row, row.side, contacts)
        await _notify(session, row, "cancelled", recipients, now=now)
    return to_read(row)


async def complete(
    session: AsyncSession,
    party: Party,
    window_id: int,
    *,
    contacts: Sequence[PlatformContact],
    now: datetime,
) -> NoticeRead:
    """Send the completion notice of a window now (spec 5.5 "after maintenance: send a
    completion notice"), once it has started, instead of waiting for the notice job after
    its end; sent once (the job skips it after). Who may: as for :func:`cancel`."""
    row = await _visible(session, party, window_id)
    if not party.is_platform and row.side != party.side:
        raise Forbidden("a window the platform announced can be completed by the platform only")
    if row.cancelled_at is not None:
        raise Conflict(f"maintenance window {window_id} was cancelled", field="windowId")
    if row.starts_at > now:
        raise Conflict("a window that has not started cannot be completed", field="windowId")
    if not await repository.claim(session, row.id, "completion_sent_at", now):
        raise Conflict(
            f"the completion notice of window {window_id} was already sent", field="windowId"
        )
    await session.refresh(row)
    await _notify(session, row, "completed", await _audience(session, row, contacts), now=now)
    return to_read(row)


async def run_notices(
    session: AsyncSession,
    now: datetime,
    contacts: Sequence[PlatformContact],
    *,
    reminder_before: timedelta = DEFAULT_REMINDER_BEFORE,
) -> NoticeCounts:
    """One pass of the notice job: reminders of windows starting within ``reminder_before``
    (not for a window announced that close to its start: the announcement was the
    reminder) and completion notices of windows that ended. Each is sent once."""
    reminders = completions = 0
    for row in await repository.due_reminders(session, now, reminder_before):
        if row.announced_at >= row.starts_at - reminder_before:
            continue
        if await repository.claim(session, row.id, "reminder_sent_at", now):
            await _notify(
                session, row, "reminder", await _audience(session, row, contacts), now=now
            )
            reminders += 1
    for row in await repository.due_completions(session, now, COMPLETION_LOOKBACK):
        if await repository.claim(session, row.id, "completion_sent_at", now):
            await _notify(
                session, row, "completed", await _audience(session, row, contacts), now=now
            )
            completions += 1
    return NoticeCounts(reminders=reminders, completions=completions)


async def late_notice_counts(
    session: AsyncSession, *, start: datetime, end: datetime, operator_id: str | None = None
) -> list[LateNoticeCount]:
    """Per operator and side: windows starting in ``[start, end)`` and how many of them had
    late notice (< 5 business days, spec 5.5); cancelled windows are left out."""
    _aware(start, "from")
    _aware(end, "to")
    rows = await repository.late_notice_counts(session, start, end, operator_id)
    return [
        LateNoticeCount(operator_id=o, side=s, windows=n, late_notice=late)
        for o, s, n, late in rows
    ]


# --- recipients and messages ----------------------------------------------------------


async def _side_recipients(
    session: AsyncSession,
    row: MaintenanceWindow,
    side: str,
    contacts: Sequence[PlatformContact],
) -> list[Recipient]:
    if side == "platform":
        return notification_service.platform_recipients(
            contacts, environment=row.environment, severity=None
        )
    return await notification_service.operator_recipients(
        session, row.operator_id, environment=row.environment, severity=None
    )


async def _audience(
    session: AsyncSession, row: MaintenanceWindow, contacts: Sequence[PlatformContact]
) -> list[Recipient]:
    """The side that did not schedule the window (spec 5.5 "both directions")."""
    other = "platform" if row.side == "operator" else "operator"
    return await _side_recipients(session, row, other, contacts)


async def _notify(
    session: AsyncSession,
    row: MaintenanceWindow,
    kind: NoticeKind,
    recipients: Sequence[Recipient],
    *,
    now: datetime,
) -> None:
    await notification_service.enqueue(
        session, _message(row, kind), recipients, dedupe=f"maintenance:{row.id}:{kind}", now=now
    )


def _late_text(row: MaintenanceWindow) -> str:
    return f"late notice: {row.notice_business_days:g} business days"


def _subject(row: MaintenanceWindow, kind: NoticeKind) -> str:
    what = {
        "announced": "Planned maintenance",
        "reminder": "Reminder: planned maintenance",
        "completed": "Maintenance completed",
        "cancelled": "Maintenance cancelled",
    }[kind]
    where = f"{row.operator_id} {row.environment or 'all environments'}"
    when = f"{row.starts_at:%Y-%m-%d %H:%M}-{row.ends_at:%Y-%m-%d %H:%M} UTC"
    flag = f" ({_late_text(row)})" if kind == "announced" and row.late_notice else ""
    return f"[Mobile Plans] {what}: {where}, {when}{flag}"


def _message(row: MaintenanceWindow, kind: NoticeKind) -> Message:
    lines = [
        f"Maintenance window #{row.id} ({row.side} side) for {row.operator_id}, "
        f"{row.environment or 'all environments'}",
        f"Starts: {row.starts_at.isoformat()}",
        f"Ends:   {row.ends_at.isoformat()}",
        f"Impact: {row.impact}",
        f"Announced: {row.announced_at.isoformat()} by {row.created_by}",
    ]
    if row.late_notice:
        lines.append(f"This is a {_late_text(row)} (spec 5.5 asks for at least {REQUIRED:g}).")
    else:
        lines.append(f"Notice: {row.notice_business_days:g} business days.")
    if kind == "completed":
        lines.append("The maintenance is over (spec 5.5 completion notice).")
    if kind == "cancelled" and row.cancelled_at is not None:
        lines.append(f"Cancelled at {row.cancelled_at.isoformat()}; it will not take place.")
    payload = {
        "maintenanceId": row.id,
        "notice": kind,
        "operatorId": row.operator_id,
        "environment": row.environment,
        "side": row.side,
        "startsAt": row.starts_at.isoformat(),
        "endsAt": row.ends_at.isoformat(),
        "impact": row.impact,
        "noticeBusinessDays": row.notice_business_days,
        "lateNotice": row.late_notice,
    }
    return Message(
        event=f"maintenance.{kind}",
        subject=_subject(row, kind),
        body="\n".join(lines),
        payload=payload,
        operator_id=row.operator_id,
        maintenance_id=row.id,
    )
