"""SQL of probes and probe results. Only this module reads or writes those tables.

The hot statements (claim, result insert, completion) are Core statements on the tables,
not ORM unit-of-work: the worker runs them for thousands of rows a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Row,
    String,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.base import UtcDateTime
from mobileplans.db.models import Probe, ProbeResult
from mobileplans.db.models.monitoring import FAILED_OUTCOME_SQL

PROBES = cast(Table, Probe.__table__)
RESULTS = cast(Table, ProbeResult.__table__)

CLAIMED_COLUMNS = (
    PROBES.c.id,
    PROBES.c.operator_id,
    PROBES.c.environment,
    PROBES.c.kind,
    PROBES.c.target_url,
    PROBES.c.next_run_at,
    PROBES.c.interval_seconds,
    PROBES.c.timeout_seconds,
    PROBES.c.latency_target_ms,
)


async def list_probes(
    session: AsyncSession, *, operator_id: str | None = None, enabled_only: bool = False
) -> list[Probe]:
    query = select(Probe).order_by(Probe.operator_id, Probe.environment, Probe.kind)
    if operator_id is not None:
        query = query.where(Probe.operator_id == operator_id)
    if enabled_only:
        query = query.where(Probe.enabled.is_(True))
    return list((await session.scalars(query)).all())


async def get(session: AsyncSession, probe_id: int) -> Probe | None:
    return await session.get(Probe, probe_id)


async def get_by_key(
    session: AsyncSession, operator_id: str, environment: str, kind: str
) -> Probe | None:
    query = select(Probe).where(
        Probe.operator_id == operator_id, Probe.environment == environment, Probe.kind == kind
    )
    return (await session.scalars(query)).one_or_none()


def add(session: AsyncSession, probe: Probe) -> None:
    session.add(probe)


def add_all(session: AsyncSession, probes: Sequence[Probe]) -> None:
    session.add_all(probes)


def _claimable(now: datetime, horizon: datetime) -> ColumnElement[bool]:
    return and_(
        PROBES.c.enabled.is_(True),
        PROBES.c.next_run_at <= horizon,
        or_(PROBES.c.lease_expires_at.is_(None), PROBES.c.lease_expires_at < now),
    )


def _lease_until(dialect: str, horizon: datetime, margin_seconds: float) -> ColumnElement[Any]:
    """``horizon + 2 × timeout_seconds + margin`` per row, in the database's own arithmetic."""
    seconds = PROBES.c.timeout_seconds * 2 + margin_seconds
    base = bindparam("lease_base", horizon, type_=UtcDateTime())
    if dialect == "postgresql":
        return base + func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    # SQLite keeps instants as 'YYYY-MM-DD HH:MM:SS.ffffff' text; strftime('%f') gives
    # milliseconds, padded back to the stored width so text comparisons stay right.
    shift = literal("+") + sql_cast(seconds, String) + literal(" seconds")
    return func.strftime("%Y-%m-%d %H:%M:%f", base, shift) + literal("000")


async def claim(
    session: AsyncSession,
    *,
    worker_id: str,
    now: datetime,
    horizon: datetime,
    lease_margin_seconds: float,
    limit: int,
    operator_id: str | None = None,
) -> Sequence[Row[Any]]:
    """Compare-and-set claim of up to ``limit`` due rows in one statement.

    ``UPDATE … WHERE id IN (due candidates) AND <still due and unleased> RETURNING …``: a
    row another worker leased first fails the repeated condition (PostgreSQL re-checks it
    after the row lock; SQLite runs writers one at a time), so no run is claimed twice.
    Each lease ends ``2 × timeout + margin`` after ``horizon``.
    """
    candidates = select(PROBES.c.id).where(_claimable(now, horizon))
    if operator_id is not None:
        candidates = candidates.where(PROBES.c.operator_id == operator_id)
    candidates = candidates.order_by(PROBES.c.next_run_at).limit(limit)
    dialect = session.get_bind().dialect.name
    statement = (
        update(PROBES)
        .where(PROBES.c.id.in_(candidates), _claimable(now, horizon))
        .values(
            lease_owner=worker_id,
            lease_expires_at=_lease_until(dialect, horizon, lease_margin_seconds),
        )
        .returning(*CLAIMED_COLUMNS)
    )
    return (await session.execute(statement)).all()


async def release(session: AsyncSession, *, worker_id: str, probe_ids: Sequence[int]) -> None:
    """Give up this worker's unexpired leases so another worker runs those slots now."""
    await session.execute(
        update(PROBES)
        .where(PROBES.c.id.in_(probe_ids), PROBES.c.lease_owner == worker_id)
        .values(lease_owner=None, lease_expires_at=None)
    )


async def insert_results(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> set[tuple[int, datetime]]:
    """Insert results; a (probe, slot) already stored is skipped. Returns the keys inserted."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(RESULTS)
        .on_conflict_do_nothing(index_elements=["probe_id", "scheduled_at"])
        .returning(RESULTS.c.probe_id, RESULTS.c.scheduled_at)
    )
    result = await session.execute(statement, rows)
    return {(int(r.probe_id), r.scheduled_at) for r in result}


_WHERE_SLOT = and_(
    PROBES.c.id == bindparam("b_id"),
    PROBES.c.next_run_at == bindparam("b_due", type_=UtcDateTime()),
)
_SCHEDULE = {
    "next_run_at": bindparam("b_next", type_=UtcDateTime()),
    "lease_owner": None,
    "lease_expires_at": None,
    "updated_at": bindparam("b_now", type_=UtcDateTime()),
}
_ADVANCE_AFTER_RESULT = (
    update(PROBES)
    .where(_WHERE_SLOT)
    .values(
        **_SCHEDULE,
        consecutive_failures=case(
            (bindparam("b_failed", type_=Boolean()), PROBES.c.consecutive_failures + 1),
            else_=0,
        ),
        last_outcome=bindparam("b_outcome"),
        last_run_at=bindparam("b_run_at", type_=UtcDateTime()),
    )
)
_ADVANCE_SCHEDULE_ONLY = update(PROBES).where(_WHERE_SLOT).values(**_SCHEDULE)


async def advance(
    session: AsyncSession, params: list[dict[str, Any]], *, with_outcome: bool
) -> None:
    """Move each probe from slot ``b_due`` to ``b_next`` and free its lease (compare-and-set).

    A row whose ``next_run_at`` is no longer ``b_due`` (someone else completed that slot,
    or a sync rescheduled it) is left alone.
    """
    if params:
        statement = _ADVANCE_AFTER_RESULT if with_outcome else _ADVANCE_SCHEDULE_ONLY
        await session.execute(statement, params)


async def count_results(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(RESULTS)) or 0)


async def results_of(
    session: AsyncSession, probe_id: int, *, since: datetime | None = None
) -> list[ProbeResult]:
    query = select(ProbeResult).where(ProbeResult.probe_id == probe_id)
    if since is not None:
        query = query.where(ProbeResult.started_at >= since)
    return list((await session.scalars(query.order_by(ProbeResult.scheduled_at))).all())


def _chunks(ids: Sequence[int], size: int = 5000) -> list[list[int]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


# Repeats the partial index's predicate word for word (literals, not bound parameters), so
# SQLite and PostgreSQL both use ``ix_probe_results_failed_started``.
_FAILED = text(FAILED_OUTCOME_SQL)


async def failing_in_window(session: AsyncSession, since: datetime) -> dict[int, tuple[str, int]]:
    """``{probe_id: (operator_id, failed results)}`` of the results that started at or after
    ``since`` (probes with none absent).

    Reads only failed rows (partial index): the cost follows the failures, not the probes."""
    query = (
        select(RESULTS.c.probe_id, RESULTS.c.operator_id, func.count())
        .where(_FAILED, RESULTS.c.started_at >= since)
        .group_by(RESULTS.c.probe_id, RESULTS.c.operator_id)
    )
    found: dict[int, tuple[str, int]] = {}
    for pid, operator_id, n in (await session.execute(query)).all():
        _, before = found.get(int(pid), ("", 0))
        found[int(pid)] = (str(operator_id), before + int(n))
    return found


async def totals_in_window(
    session: AsyncSession, since: datetime, probe_ids: Sequence[int]
) -> dict[int, int]:
    """All results per probe (of ``probe_ids``) that started at or after ``since``."""
    totals: dict[int, int] = {}
    for chunk in _chunks(sorted(probe_ids)):
        query = (
            select(RESULTS.c.probe_id, func.count())
            .where(RESULTS.c.probe_id.in_(chunk), RESULTS.c.started_at >= since)
            .group_by(RESULTS.c.probe_id)
        )
        totals.update({int(pid): int(n) for pid, n in (await session.execute(query)).all()})
    return totals


_STATE_COLUMNS = (
    PROBES.c.id,
    PROBES.c.operator_id,
    PROBES.c.environment,
    PROBES.c.kind,
    PROBES.c.interval_seconds,
    PROBES.c.consecutive_failures,
)


async def failing_now(session: AsyncSession) -> Sequence[Any]:
    """Enabled probes whose last run failed (index on ``consecutive_failures``)."""
    query = select(*_STATE_COLUMNS).where(
        PROBES.c.consecutive_failures > 0, PROBES.c.enabled.is_(True)
    )
    return (await session.execute(query)).all()


async def states_by_id(session: AsyncSession, probe_ids: Sequence[int]) -> Sequence[Any]:
    """The same columns for the enabled probes among ``probe_ids``."""
    rows: list[Any] = []
    for chunk in _chunks(sorted(probe_ids)):
        query = select(*_STATE_COLUMNS).where(PROBES.c.id.in_(chunk), PROBES.c.enabled.is_(True))
        rows.extend((await session.execute(query)).all())
    return rows


async def states_of(session: AsyncSession, operator_ids: Sequence[str]) -> Sequence[Any]:
    """Id, owner, kind, interval and consecutive failures of the enabled probes of
    ``operator_ids`` (Core rows: the engine reads these every few seconds)."""
    rows: list[Any] = []
    for i in range(0, len(operator_ids), 5000):
        chunk = list(operator_ids[i : i + 5000])
        query = select(*_STATE_COLUMNS).where(
            PROBES.c.operator_id.in_(chunk), PROBES.c.enabled.is_(True)
        )
        rows.extend((await session.execute(query)).all())
    return rows


async def has_enabled(session: AsyncSession, environment: str) -> bool:
    """Whether ``environment`` has an enabled probe (index on environment, operator, enabled)."""
    query = (
        select(PROBES.c.id)
        .where(PROBES.c.environment == environment, PROBES.c.enabled.is_(True))
        .limit(1)
    )
    return (await session.scalar(query)) is not None


async def operators_probed(session: AsyncSession, environment: str, at_most: int) -> int:
    """Operators with an enabled probe in ``environment``, counted up to ``at_most`` (the
    scan stops there: same covering index)."""
    operators = (
        select(PROBES.c.operator_id)
        .where(PROBES.c.environment == environment, PROBES.c.enabled.is_(True))
        .distinct()
        .limit(at_most)
        .subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(operators)) or 0)


async def recent_outcomes(
    session: AsyncSession, probe_ids: Sequence[int], since: datetime
) -> list[tuple[int, str]]:
    """(probe, outcome) of the results of ``probe_ids`` due at or after ``since``, per probe
    newest first (index on probe and slot)."""
    rows: list[tuple[int, str]] = []
    for chunk in _chunks(sorted(probe_ids)):
        query = (
            select(RESULTS.c.probe_id, RESULTS.c.outcome)
            .where(RESULTS.c.probe_id.in_(chunk), RESULTS.c.scheduled_at >= since)
            .order_by(RESULTS.c.probe_id, RESULTS.c.scheduled_at.desc())
        )
        rows.extend((int(r.probe_id), str(r.outcome)) for r in await session.execute(query))
    return rows


async def latest_outcomes(
    session: AsyncSession, probe_id: int, count: int
) -> list[tuple[datetime, str]]:
    """The probe's last ``count`` results, newest first: (started_at, outcome)."""
    query = (
        select(RESULTS.c.started_at, RESULTS.c.outcome)
        .where(RESULTS.c.probe_id == probe_id)
        .order_by(RESULTS.c.scheduled_at.desc())
        .limit(count)
    )
    return [(r.started_at, r.outcome) for r in (await session.execute(query)).all()]


async def recent_failures(
    session: AsyncSession, probe_ids: Sequence[int], since: datetime, limit: int
) -> Sequence[Any]:
    """The newest failed results of ``probe_ids`` started at or after ``since`` (at most
    ``limit``), newest first; reads failed rows only (partial index)."""
    query = (
        select(
            RESULTS.c.probe_id,
            RESULTS.c.started_at,
            RESULTS.c.outcome,
            RESULTS.c.status_code,
            RESULTS.c.latency_ms,
            RESULTS.c.detail,
        )
        .where(_FAILED, RESULTS.c.started_at >= since, RESULTS.c.probe_id.in_(list(probe_ids)))
        .order_by(RESULTS.c.started_at.desc())
        .limit(limit)
    )
    return (await session.execute(query)).all()
