"""Live-site operations (issue #5): incidents and their clocks, notifications outbox, bugs,
per-operator operations settings and API credentials.

Maintenance windows live in ``monitoring`` beside the SLA that excludes them; the columns
for their notices are there too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mobileplans.db.base import Base


class OperatorOpsSettings(Base):
    """Which severity policy an operator's incidents follow, and where its pages go."""

    __tablename__ = "operator_ops_settings"

    operator_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy: Mapped[str] = mapped_column(String(32), default="mobile_plans")
    holiday_country: Mapped[str | None] = mapped_column(String(2))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(8))
    business_day_start_hour: Mapped[int] = mapped_column(Integer, default=9)
    business_day_end_hour: Mapped[int] = mapped_column(Integer, default=17)
    healthy_probes_to_resolve: Mapped[int] = mapped_column(Integer, default=4)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class ApiCredential(Base):
    """A bearer token for the operations API: one operator's (``operator_id``) or the
    platform's (``operator_id`` NULL). Only the SHA-256 of the token is stored."""

    __tablename__ = "api_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Incident(Base):
    """One incident. ``open_key`` is set while the incident is not resolved and is unique,
    so there is never more than one open incident per operator, environment and scope."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    open_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    scope: Mapped[str] = mapped_column(String(16))  # partner | global
    operator_id: Mapped[str | None] = mapped_column(String(64), index=True)
    environment: Mapped[str | None] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(16))  # platform | operator
    responder: Mapped[str] = mapped_column(String(16))  # the side that owes responses
    source: Mapped[str] = mapped_column(String(16))  # detected | declared
    category: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    policy: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    outage: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    evidence: Mapped[dict[str, Any]]
    detected_at: Mapped[datetime]
    contacted_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    last_update_at: Mapped[datetime | None]
    healthy_since: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class IncidentEvent(Base):
    """The incident's timeline: every transition, update, reminder, breach and message."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(16))  # platform | operator | system
    actor: Mapped[str] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]]


class IncidentClock(Base):
    """A deadline one side owes: ``response``, ``update``, ``resolution`` or
    ``communication``. Met, reminded and breached are each set once (compare-and-set)."""

    __tablename__ = "incident_clocks"
    __table_args__ = (Index("ix_incident_clocks_open_due", "closed", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    clock: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(16))  # platform | operator
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    rule: Mapped[str] = mapped_column(String(120))


class IncidentCallTask(Base):
    """A phone escalation one side owes (issue #10): ``caller`` must phone ``callee`` at
    ``numbers`` (``[{name, phone}]``, by severity); open until a call is recorded that
    reached someone. ``open_key`` (``<incident>|<purpose>``) is set while open and unique,
    so an incident has at most one open task per purpose."""

    __tablename__ = "incident_call_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    open_key: Mapped[str | None] = mapped_column(String(48), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # escalation | outage
    caller: Mapped[str] = mapped_column(String(16))  # platform | operator
    callee: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    numbers: Mapped[list[Any]]
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | done | ...
    outcome: Mapped[str | None] = mapped_column(String(16))
    reached: Mapped[str | None] = mapped_column(String(120))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class Notification(Base):
    """Outbox: written in the transaction of the event it reports, delivered by a worker.

    ``dedupe_key`` makes enqueuing the same message twice a no-op. Delivery claims rows with
    a lease (compare-and-set); a delivered row is never sent again.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(48))
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook | log
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    operator_id: Mapped[str | None] = mapped_column(String(64), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    maintenance_id: Mapped[int | None] = mapped_column(Integer)
    bug_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Bug(Base):
    """Spec 5.6: report -> triage -> approved | rejected -> scheduled -> deployed."""

    __tablename__ = "bugs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str | None] = mapped_column(String(16))
    reported_by: Mapped[str] = mapped_column(String(16))  # platform | operator
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    business_justification: Mapped[str | None] = mapped_column(Text)
    impact: Mapped[str | None] = mapped_column(Text)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    tentative_deploy_date: Mapped[date | None] = mapped_column(Date)
    deployed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BugEvent(Base):
    __tablename__ = "bug_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bug_id: Mapped[int] = mapped_column(ForeignKey("bugs.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text, default="")
