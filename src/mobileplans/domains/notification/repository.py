"""SQL of the notifications outbox (issue #5). Only this module writes the
``notifications`` table (``service.enqueue`` through :func:`insert_new`).

A row is ``pending`` until delivered or failed. A worker claims due rows by writing its id
and a lease expiry on them (compare-and-set); every outcome it records afterwards is
conditional on still holding that lease, so a worker whose lease ran out and was taken over
changes nothing. Instants are computed by the caller (injected clock), never by the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import Notification, OperatorOpsSettings
from mobileplans.domains.notification.channels.base import OutboxRow
from mobileplans.domains.notification.schemas import DeliveryStatus
from mobileplans.kit.text import printable

ERROR_LIMIT = 2000
"""The longest ``last_error`` kept (the error's text, printable: ``kit.text``)."""

NOTIFICATIONS = cast(Table, Notification.__table__)
N = NOTIFICATIONS.c
PENDING = DeliveryStatus.PENDING.value

CLAIMED_COLUMNS = (
    N.id,
    N.event,
    N.channel,
    N.recipient,
    N.subject,
    N.body,
    N.created_at,
    N.payload,
    N.operator_id,
    N.incident_id,
    N.maintenance_id,
    N.bug_id,
    N.attempts,
    N.lease_expires_at,
)


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose ``dedupe_key`` is new (the others are skipped); returns how
    many were inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Notification)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )
    result = await session.execute(statement, rows)
    return len(result.all())


def _to_outbox(row: Row[Any]) -> OutboxRow:
    return OutboxRow(**row._asdict())


def _claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        N.status == PENDING,
        N.next_attempt_at <= now,
        or_(N.lease_expires_at.is_(None), N.lease_expires_at < now),
    )


async def claim(
    session: AsyncSession, *, worker_id: str, now: datetime, lease_until: datetime, limit: int
) -> list[OutboxRow]:
    """Lease up to ``limit`` due rows to ``worker_id`` until ``lease_until``, oldest due first.

    One statement, ``UPDATE … WHERE id IN (due candidates) AND <still claimable>
    RETURNING …``: PostgreSQL skips candidates another claim has locked and re-checks the
    condition on rows it waited for; SQLite runs writers one at a time. Either way a row
    is leased to one worker at a time.
    """
    candidates = (
        select(N.id)
        .where(_claimable(now))
        .order_by(N.next_attempt_at, N.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite compiles no FOR UPDATE
    )
    statement = (
        update(NOTIFICATIONS)
        .where(N.id.in_(candidates), _claimable(now))
        .values(lease_owner=worker_id, lease_expires_at=lease_until)
        .returning(*CLAIMED_COLUMNS)
    )
    rows = [_to_outbox(r) for r in (await session.execute(statement)).all()]
    return sorted(rows, key=lambda r: r.id)


def _leased_by(notification_id: int, worker_id: str) -> ColumnElement[bool]:
    return and_(N.id == notification_id, N.lease_owner == worker_id, N.status == PENDING)


async def _finish(
    session: AsyncSession, notification_id: int, worker_id: str, values: dict[str, Any]
) -> bool:
    statement = (
        update(NOTIFICATIONS)
        .where(_leased_by(notification_id, worker_id))
        .values(attempts=N.attempts + 1, lease_owner=None, lease_expires_at=None, **values)
        .returning(N.id)
    )
    return (await session.execute(statement)).first() is not None


async def mark_delivered(
    session: AsyncSession, notification_id: int, *, worker_id: str, now: datetime
) -> bool:
    """Record the accepted attempt; ``False`` if ``worker_id`` no longer holds the row."""
    values = {"status": DeliveryStatus.DELIVERED.value, "delivered_at": now, "last_error": None}
    return await _finish(session, notification_id, worker_id, values)


async def mark_retry(
    session: AsyncSession,
    notification_id: int,
    *,
    worker_id: str,
    next_attempt_at: datetime,
    error: str,
) -> bool:
    """Count the failed attempt and make the row due again at ``next_attempt_at``."""
    values = {"next_attempt_at": next_attempt_at, "last_error": printable(error, ERROR_LIMIT)}
    return await _finish(session, notification_id, worker_id, values)


async def mark_failed(
    session: AsyncSession, notification_id: int, *, worker_id: str, error: str
) -> bool:
    """Count the attempt and give up on the row (permanent error or last attempt)."""
    values = {"status": DeliveryStatus.FAILED.value, "last_error": printable(error, ERROR_LIMIT)}
    return await _finish(session, notification_id, worker_id, values)


async def release(session: AsyncSession, notification_ids: Sequence[int], *, worker_id: str) -> int:
    """Free this worker's leases on rows it did not try (no attempt is counted)."""
    if not notification_ids:
        return 0
    statement = (
        update(NOTIFICATIONS)
        .where(N.id.in_(notification_ids), N.lease_owner == worker_id, N.status == PENDING)
        .values(lease_owner=None, lease_expires_at=None)
        .returning(N.id)
    )
    return len((await session.execute(statement)).all())


async def requeue(session: AsyncSession, notification_id: int, *, now: datetime) -> bool:
    """Make a failed row due now for one more attempt (operator fixed the address, say).
    Its attempt count is kept: a further failure past the maximum fails it again."""
    statement = (
        update(NOTIFICATIONS)
        .where(N.id == notification_id, N.status == DeliveryStatus.FAILED.value)
        .values(status=PENDING, next_attempt_at=now, lease_owner=None, lease_expires_at=None)
        .returning(N.id)
    )
    return (await session.execute(statement)).first() is not None


async def webhook_secret(session: AsyncSession, operator_id: str) -> str | None:
    """The operator's current webhook signing secret, if any."""
    query = select(OperatorOpsSettings.webhook_secret).where(
        OperatorOpsSettings.operator_id == operator_id
    )
    return cast(str | None, await session.scalar(query))


async def get(session: AsyncSession, notification_id: int) -> Notification | None:
    return await session.get(Notification, notification_id)


@dataclass(frozen=True)
class NotificationQuery:
    """Filters of the API and CLI listings; ``before_id`` pages backwards (newest first)."""

    operator_id: str | None = None
    incident_id: int | None = None
    maintenance_id: int | None = None
    bug_id: int | None = None
    status: str | None = None
    channel: str | None = None
    event: str | None = None
    before_id: int | None = None
    limit: int = 100


def _filters(query: NotificationQuery) -> list[ColumnElement[bool]]:
    wanted: list[tuple[Any, object]] = [
        (N.operator_id, query.operator_id),
        (N.incident_id, query.incident_id),
        (N.maintenance_id, query.maintenance_id),
        (N.bug_id, query.bug_id),
        (N.status, query.status),
        (N.channel, query.channel),
        (N.event, query.event),
    ]
    conditions = [column == value for column, value in wanted if value is not None]
    if query.before_id is not None:
        conditions.append(N.id < query.before_id)
    return conditions


async def list_notifications(session: AsyncSession, query: NotificationQuery) -> list[Notification]:
    """Matching rows, newest first, at most ``query.limit``."""
    statement = (
        select(Notification)
        .where(*_filters(query))
        .order_by(Notification.id.desc())
        .limit(query.limit)
    )
    return list((await session.scalars(statement)).all())


async def count_by_status(
    session: AsyncSession, *, operator_id: str | None = None
) -> dict[str, int]:
    """``{status: rows}`` over the whole outbox or one operator's rows."""
    statement = select(N.status, func.count()).group_by(N.status)
    if operator_id is not None:
        statement = statement.where(N.operator_id == operator_id)
    return {str(status): int(count) for status, count in (await session.execute(statement)).all()}
