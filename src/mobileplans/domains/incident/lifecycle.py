"""Incident transitions, each written to the timeline with its notifications (spec 5.3-5.4).

detected -> open -> contacted -> acknowledged -> mitigated -> resolved -> closed. Every
transition appends an event and enqueues its notifications in the same transaction. Only
one incident per operator, environment and scope is open at a time (``open_key``, unique);
it is cleared at resolution, so a new failure after that opens a new incident.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import Incident, IncidentEvent
from mobileplans.domains.incident import calls, clocks, notify, repository
from mobileplans.domains.incident.policies import policy_named
from mobileplans.domains.incident.schemas import ORDER, Status
from mobileplans.errors import BadRequest, Conflict


def open_key(scope: str, operator_id: str | None, environment: str | None, source: str) -> str:
    return f"{scope}|{operator_id or '*'}|{environment or '*'}|{source}"


def record(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    now: datetime,
    *,
    side: str,
    actor: str,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    repository.add_event(
        session,
        IncidentEvent(
            incident_id=incident.id,
            at=now,
            kind=kind,
            side=side,
            actor=actor,
            message=message,
            data=data or {},
        ),
    )


def check_severity(policy: str, severity: str) -> None:
    try:
        policy_named(policy).severity(severity)
    except KeyError as exc:
        raise BadRequest(str(exc).strip("'\""), field="severity") from exc


async def create(
    session: AsyncSession, incident: Incident, now: datetime, *, message: str | None = None
) -> Incident | None:
    """Insert with its resolution clock and its first events; None if one is already open.

    The first timeline entry carries ``message`` (a declaration's text), else the title."""
    if not await repository.insert_unique(session, incident):
        return None
    rule = policy_named(incident.policy).severity(incident.severity)
    calendar = await clocks.calendar_of(session, incident)
    clocks.start_span(
        session, incident, "resolution", rule.resolution, incident.detected_at, calendar
    )
    actor = "engine" if incident.source == "detected" else incident.opened_by
    record(
        session,
        incident,
        incident.source,
        now,
        side=incident.opened_by,
        actor=actor,
        message=message or incident.title,
        data={"severity": incident.severity, "evidence": incident.evidence},
    )
    return incident


async def contact(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    now: datetime,
    *,
    note: str = "",
) -> None:
    """Page the responding side (skipped while a global incident inhibits it); ``note``
    (a declaration's message) goes into the mail."""
    if incident.parent_id is not None:
        record(
            session,
            incident,
            "inhibited",
            now,
            side="system",
            actor="engine",
            message=f"explained by global incident #{incident.parent_id}: partner not paged",
        )
        await notify.send(
            session, ctx, incident, "opened", now=now, note=note,
            audience=notify.Audience(operator=False),
        )  # fmt: skip
        return
    incident.status, incident.contacted_at, incident.updated_at = Status.CONTACTED, now, now
    record(
        session,
        incident,
        "contacted",
        now,
        side=incident.opened_by,
        actor="engine",
        message=f"{incident.responder} side contacted",
    )
    await clocks.start_on_contact(session, incident, now)
    await calls.on_contacted(session, ctx, incident, now)
    await notify.send(session, ctx, incident, "opened", now=now, note=note)


async def change_severity(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    severity: str,
    now: datetime,
    *,
    side: str,
    actor: str,
    reason: str,
) -> bool:
    check_severity(incident.policy, severity)
    if severity == incident.severity:
        return False
    before = incident.severity
    incident.severity, incident.updated_at = severity, now
    record(
        session,
        incident,
        "severity_changed",
        now,
        side=side,
        actor=actor,
        message=reason,
        data={"from": before, "to": severity},
    )
    await clocks.restart_for_severity(session, incident, now)
    await calls.on_severity_changed(session, ctx, incident, now)
    await notify.send(
        session,
        ctx,
        incident,
        "severity_changed",
        now=now,
        note=f"{before} -> {severity}: {reason}",
        key=f"{before}-{severity}-{now.timestamp():.0f}",
    )
    return True


def _advance(incident: Incident, target: Status) -> None:
    if incident.open_key is None and target is not Status.CLOSED:
        raise Conflict(f"incident {incident.id} is {incident.status}", field="status")
    if ORDER.index(incident.status) > ORDER.index(target.value):
        raise Conflict(f"incident {incident.id} is already {incident.status}", field="status")


async def _tell(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    kind: str,
    now: datetime,
    *,
    side: str,
    actor: str,
    message: str,
) -> None:
    """Record ``kind`` on the timeline and send it to both sides."""
    record(session, incident, kind, now, side=side, actor=actor, message=message)
    await notify.send(session, ctx, incident, kind, now=now, note=message)


async def acknowledge(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    now: datetime,
    *,
    side: str,
    actor: str,
    message: str = "",
) -> None:
    _advance(incident, Status.ACKNOWLEDGED)
    if incident.acknowledged_at is None:
        incident.acknowledged_at = now
    if incident.contacted_at is None:
        incident.contacted_at = now
    incident.status, incident.updated_at = Status.ACKNOWLEDGED, now
    if side == incident.responder:
        await clocks.close_clocks(session, incident, ["response"], now, met=True)
        await calls.close_tasks(session, incident, ["escalation"], now, status="superseded")
    await _tell(
        session, ctx, incident, "acknowledged", now, side=side, actor=actor, message=message
    )


async def post_update(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    now: datetime,
    *,
    side: str,
    actor: str,
    message: str,
) -> None:
    """An update; from the responding side it meets the update clock and starts the next."""
    if incident.open_key is None:
        raise Conflict(f"incident {incident.id} is {incident.status}", field="status")
    record(session, incident, "update", now, side=side, actor=actor, message=message)
    incident.updated_at = now
    if side == incident.responder:
        incident.last_update_at = now
        met = await clocks.close_clocks(session, incident, ["update"], now, met=True)
        if met or incident.contacted_at is not None:
            rule = policy_named(incident.policy).severity(incident.severity)
            calendar = await clocks.calendar_of(session, incident)
            clocks.start_span(session, incident, "update", rule.update, now, calendar)
    await notify.send(
        session, ctx, incident, "update", now=now, note=message, key=f"{now.timestamp():.6f}"
    )


async def mitigate(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    now: datetime,
    *,
    side: str,
    actor: str,
    message: str = "",
) -> None:
    _advance(incident, Status.MITIGATED)
    incident.status, incident.mitigated_at, incident.updated_at = Status.MITIGATED, now, now
    await _tell(session, ctx, incident, "mitigated", now, side=side, actor=actor, message=message)


async def resolve(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    now: datetime,
    *,
    side: str,
    actor: str,
    message: str = "",
) -> None:
    _advance(incident, Status.RESOLVED)
    incident.status, incident.resolved_at, incident.updated_at = Status.RESOLVED, now, now
    incident.open_key = None
    await clocks.close_clocks(session, incident, ["resolution", "response"], now, met=True)
    await clocks.close_clocks(session, incident, ["update"], now, met=False)
    await calls.close_tasks(session, incident, ["escalation", "outage"], now, status="cancelled")
    await _tell(session, ctx, incident, "resolved", now, side=side, actor=actor, message=message)


async def close(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    now: datetime,
    *,
    side: str,
    actor: str,
    message: str = "",
) -> None:
    if incident.status != Status.RESOLVED:
        raise Conflict(
            f"incident {incident.id} must be resolved before it is closed "
            f"(it is {incident.status})",
            field="status",
        )
    incident.status, incident.closed_at, incident.updated_at = Status.CLOSED, now, now
    await _tell(session, ctx, incident, "closed", now, side=side, actor=actor, message=message)


async def communicate(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    now: datetime,
    *,
    side: str,
    actor: str,
    message: str,
) -> None:
    """An outage communication to the other side; from the declaring side it meets the
    30-minute first-communication clock (spec 5.4)."""
    record(session, incident, "communication", now, side=side, actor=actor, message=message)
    await clocks.close_clocks(session, incident, ["communication"], now, met=True, owner=side)
    other = notify.Audience(operator=side == "platform", platform=side == "operator")
    await notify.send(
        session,
        ctx,
        incident,
        "communication",
        now=now,
        note=message,
        key=f"{now.timestamp():.6f}",
        audience=other,
    )


Step = Callable[..., Awaitable[None]]
"""``step(session, ctx, incident, now, *, side, actor, message)``: every transition above."""
Transition = Literal["mitigate", "resolve", "close"]
TRANSITIONS: dict[str, Step] = {
    "mitigate": mitigate,
    "resolve": resolve,
    "close": close,
}
