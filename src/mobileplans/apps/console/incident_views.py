"""What the incident pages show (issue #10): clocks as countdowns, the actions a party may
take, list filters, and the whole detail page read through the domains' services."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import Environment
from mobileplans.domains.access.service import Party
from mobileplans.domains.incident import call_records
from mobileplans.domains.incident import service as incident_service
from mobileplans.domains.incident.policies import POLICIES, SeverityRule, policy_named
from mobileplans.domains.incident.schemas import (
    ORDER,
    CallTaskRead,
    Category,
    ClockRead,
    IncidentDetail,
    IncidentRead,
)
from mobileplans.domains.notification import service as notification_service
from mobileplans.domains.notification.service import OutboxEntry

CATEGORIES = list(get_args(Category))
ENVIRONMENTS = [e.value for e in Environment]
STATES = ("open", "resolved", "closed")
SEVERITIES = sorted({name for p in POLICIES.values() for name in p.names})
OWED = {
    "response": "First response",
    "update": "Next update",
    "resolution": "Resolution",
    "communication": "Outage communication (30 min)",
}


def span(delta: timedelta) -> str:
    """``45 s``, ``12 min``, ``2 h 05 min``, ``3 d 4 h``: a duration to the minute."""
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@dataclass(frozen=True)
class Countdown:
    """One clock as the page shows it: ``state`` is due, breached, met, met-late or
    cancelled; ``text`` the words ("due in 12 min", "breached 3 min ago")."""

    clock: ClockRead
    label: str
    state: str
    text: str

    @property
    def iso(self) -> str:
        return self.clock.due_at.isoformat()


def countdown(clock: ClockRead, now: datetime) -> Countdown:
    label = OWED.get(clock.clock, clock.clock)
    if clock.cancelled_at is not None:
        return Countdown(clock, label, "cancelled", "cancelled")
    if clock.met_at is not None:
        late = clock.met_at > clock.due_at
        when = "late by " + span(clock.met_at - clock.due_at) if late else "in time"
        return Countdown(clock, label, "met-late" if late else "met", f"met {when}")
    if clock.due_at <= now or clock.breached_at is not None:
        return Countdown(clock, label, "breached", f"breached {span(now - clock.due_at)} ago")
    return Countdown(clock, label, "due", f"due in {span(clock.due_at - now)}")


def is_open(incident: IncidentRead) -> bool:
    return incident.status not in ("resolved", "closed")


def actions_for(party: Party, incident: IncidentRead) -> list[str]:
    """The forms ``party`` gets on this incident: what the API would let it do."""
    if not party.is_platform and incident.operator_id is None:
        return []
    status = ORDER.index(incident.status)
    wanted = {
        "acknowledge": status < ORDER.index("acknowledged"),
        "update": is_open(incident),
        "communicate": is_open(incident) and incident.outage,
        "severity": party.is_platform and is_open(incident),
        "mitigate": status < ORDER.index("mitigated"),
        "resolve": is_open(incident),
        "close": party.is_platform and incident.status == "resolved",
    }
    return [name for name, allowed in wanted.items() if allowed]


def may_call(party: Party, task: CallTaskRead) -> bool:
    return task.status == "open" and (party.is_platform or party.side == task.caller)


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    severity: str | None = None
    operator: str | None = None
    environment: str | None = None

    def keep(self, incident: IncidentRead) -> bool:
        if self.state == "open" and not is_open(incident):
            return False
        if self.state in ("resolved", "closed") and incident.status != self.state:
            return False
        checks = [
            (self.severity, incident.severity),
            (self.operator, incident.operator_id),
            (self.environment, incident.environment),
        ]
        return all(wanted in (None, "", value) for wanted, value in checks)


async def listing(session: AsyncSession, party: Party, filters: Filters) -> list[IncidentRead]:
    """The incidents the party sees (as ``GET /v1/incidents``), filtered, newest first."""
    if not party.is_platform:  # an operator's user sees its own: no operator filter
        filters = replace(filters, operator=None)
    found = await incident_service.list_for(
        session, party, operator_id=filters.operator or None, status=None, open_only=False,
        limit=500,
    )  # fmt: skip
    return [i for i in found if filters.keep(i)]


@dataclass
class DetailView:
    incident: IncidentDetail
    rule: SeverityRule | None
    policy_title: str
    severities: list[str]
    countdowns: list[Countdown]
    tasks: list[CallTaskRead]
    notifications: list[OutboxEntry]
    actions: list[str]
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def _rule(incident: IncidentRead) -> tuple[SeverityRule | None, str, list[str]]:
    try:
        policy = policy_named(incident.policy)
    except KeyError:
        return None, incident.policy, [incident.severity]
    try:
        rule: SeverityRule | None = policy.severity(incident.severity)
    except KeyError:
        rule = None
    return rule, policy.title, policy.names


async def detail_view(
    session: AsyncSession, party: Party, incident_id: int, now: datetime
) -> DetailView:
    """The incident as ``party`` sees it (404 for another operator's, as the API)."""
    row = await incident_service.visible(session, party, incident_id)
    incident = await incident_service.detail(session, row)
    rule, title, names = _rule(incident)
    notifications = await notification_service.for_incident(
        session, incident.id, operator_id=None if party.is_platform else party.operator_id
    )
    return DetailView(
        incident=incident,
        rule=rule,
        policy_title=title,
        severities=names,
        countdowns=[countdown(c, now) for c in incident.clocks],
        tasks=await call_records.tasks_of(session, party, incident.id),
        notifications=notifications,
        actions=actions_for(party, incident),
    )
