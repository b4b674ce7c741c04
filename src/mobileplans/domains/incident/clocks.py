"""Incident clocks: initial response, update cadence, resolution, outage communication.

Per severity and policy (spec 5.3, 5.4; :mod:`policies`):

- **response** starts when the responding side is contacted; met when it acknowledges.
- **update** starts when the responding side is contacted (Mobile Plans: "once the partner
  is contacted"); met by each update the responding side posts, which starts the next one;
  cancelled when the incident is resolved.
- **resolution** starts at detection (or declaration); met when resolved.
- **communication** (outage declarations): 30 minutes from the declaring side becoming
  aware; met when that side sends its first communication to the other side.

Business-day spans use the operator's calendar (time zone, holidays, business hours). A
reminder goes out an eighth of the span before the deadline (at most 1 h before); at the
deadline a breach is recorded on the clock and in the timeline and escalated to both sides.
The clock stays open after a breach, so a late answer still shows when it came. Reminders and
breaches are compare-and-set on the clock row: each fires once whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import Incident, IncidentClock, IncidentEvent
from mobileplans.domains.incident import notify, repository
from mobileplans.domains.incident.policies import Span, policy_named, reminder_lead
from mobileplans.domains.incident.profiles import GLOBAL_CALENDAR, profile_for
from mobileplans.domains.incident.schemas import ClockSummary
from mobileplans.kit.business_time import BusinessCalendar

COMMUNICATION_SPAN = timedelta(minutes=30)


async def calendar_of(session: AsyncSession, incident: Incident) -> BusinessCalendar:
    if incident.operator_id is None:
        return GLOBAL_CALENDAR
    return (await profile_for(session, incident.operator_id)).calendar


def _clock(
    incident: Incident, kind: str, owner: str, start: datetime, due: datetime, rule: str
) -> IncidentClock:
    return IncidentClock(
        incident_id=incident.id,
        clock=kind,
        owner=owner,
        started_at=start,
        due_at=due,
        remind_at=due - reminder_lead(start, due),
        reminded_at=None,
        met_at=None,
        breached_at=None,
        cancelled_at=None,
        closed=False,
        rule=rule,
    )


def start_span(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    span: Span | None,
    start: datetime,
    calendar: BusinessCalendar,
) -> IncidentClock | None:
    """Start a ``kind`` clock of ``span`` owed by the responding side (None: no clock)."""
    if span is None:
        return None
    rule = f"{incident.policy} {incident.severity} {kind}: {span.describe()}"
    clock = _clock(incident, kind, incident.responder, start, span.after(start, calendar), rule)
    repository.add_clock(session, clock)
    return clock


def start_communication(
    session: AsyncSession, incident: Incident, owner: str, aware_at: datetime
) -> IncidentClock:
    rule = "outage communication: first message within 30 minutes (spec 5.4)"
    clock = _clock(incident, "communication", owner, aware_at, aware_at + COMMUNICATION_SPAN, rule)
    repository.add_clock(session, clock)
    return clock


async def close_clocks(
    session: AsyncSession,
    incident: Incident,
    kinds: Sequence[str],
    now: datetime,
    *,
    met: bool,
    owner: str | None = None,
) -> int:
    """Mark open ``kinds`` clocks (of ``owner``, or any) met or cancelled; returns how many."""
    rows = [
        row
        for row in await repository.open_clocks(session, incident.id, kinds)
        if owner is None or row.owner == owner
    ]
    for row in rows:
        row.closed = True
        if met:
            row.met_at = now
        else:
            row.cancelled_at = now
    return len(rows)


async def start_on_contact(session: AsyncSession, incident: Incident, now: datetime) -> None:
    rule = policy_named(incident.policy).severity(incident.severity)
    calendar = await calendar_of(session, incident)
    if incident.acknowledged_at is None:
        start_span(session, incident, "response", rule.response, now, calendar)
    start_span(session, incident, "update", rule.update, now, calendar)


async def restart_for_severity(session: AsyncSession, incident: Incident, now: datetime) -> None:
    """After a severity change: the new severity's clocks, from the same starting points."""
    await close_clocks(session, incident, ["response", "update", "resolution"], now, met=False)
    rule = policy_named(incident.policy).severity(incident.severity)
    calendar = await calendar_of(session, incident)
    start_span(session, incident, "resolution", rule.resolution, incident.detected_at, calendar)
    if incident.contacted_at is None:
        return
    if incident.acknowledged_at is None:
        start_span(session, incident, "response", rule.response, incident.contacted_at, calendar)
    since = incident.last_update_at or incident.contacted_at
    start_span(session, incident, "update", rule.update, since, calendar)


def _event(clock: IncidentClock, kind: str, now: datetime, message: str) -> IncidentEvent:
    return IncidentEvent(
        incident_id=clock.incident_id,
        at=now,
        kind=kind,
        side="system",
        actor="clock",
        message=message,
        data={"clock": clock.clock, "owner": clock.owner, "dueAt": clock.due_at.isoformat()},
    )


def _note(clock: IncidentClock, kind: str) -> str:
    owed = f"The {clock.clock} owed by the {clock.owner} side"
    due = clock.due_at.isoformat()
    if kind == "reminder":
        return f"{owed} is due at {due} ({clock.rule})."
    return f"{owed} was due at {due} and has not happened ({clock.rule}). Escalating."


async def _fire(
    session: AsyncSession, ctx: notify.NotifyContext, clock: IncidentClock, kind: str, now: datetime
) -> bool:
    """Mark the clock (compare-and-set), record and send ``kind``; False if another
    worker already did."""
    column = "reminded_at" if kind == "reminder" else "breached_at"
    if not await repository.mark_clock(session, clock.id, column, now):
        return False
    incident = await repository.get(session, clock.incident_id)
    assert incident is not None
    note = _note(clock, kind)
    repository.add_event(session, _event(clock, kind, now, note))
    await notify.send(session, ctx, incident, kind, now=now, note=note, key=str(clock.id))
    return True


async def process_due(
    session: AsyncSession, ctx: notify.NotifyContext, now: datetime, *, limit: int = 200
) -> ClockSummary:
    """Send due reminders and record due breaches (each exactly once)."""
    summary = ClockSummary()
    for clock in await repository.reminders_due(session, now, limit):
        summary.reminders += await _fire(session, ctx, clock, "reminder", now)
    for clock in await repository.breaches_due(session, now, limit):
        summary.breaches += await _fire(session, ctx, clock, "breach", now)
    await session.flush()
    return summary
