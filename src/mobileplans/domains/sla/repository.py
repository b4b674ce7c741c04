"""SQL of the SLA domain: probe results, rollups, watermarks, windows, contracts, statements.

Reads of rollups return the rollup watermark *in the same statement*, so a report never
counts a result twice (once in a rollup, once as a raw row past the watermark) nor misses
one, whatever the rollup job commits meanwhile.
"""

from __future__ import annotations

import typing
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Row,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    false,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import (
    JobWatermark,
    MaintenanceWindow,
    Probe,
    ProbeResult,
    ProbeRollup,
    SlaContract,
    SlaStatement,
)
from mobileplans.domains.sla.periods import Interval

ROLLUP_WATERMARK = "sla.rollup"
ID_CHUNK = 5000
R = ProbeRollup
P = ProbeResult
ROLLUPS = typing.cast(Table, ProbeRollup.__table__)
NewResult = Row[int, int, int, str, float]
"""``(id, probe_id, started_at as whole epoch seconds, outcome, latency_ms)``"""
StoredRollup = Row[int, datetime, int, int, int, float, list[Any]]
"""``(probe_id, bucket_start, probes, failures, degraded, latency_sum_ms, histogram)``"""
RawResult = Row[int, int, datetime, str, float]
"""``(id, probe_id, started_at, outcome, latency_ms)``"""
EvidenceRow = Row[int, int, datetime, datetime, str, float, int | None]


class WatermarkMoved(RuntimeError):
    """The compare-and-set on a watermark found another value: another worker moved it."""


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(values), ID_CHUNK):
        yield values[i : i + ID_CHUNK]


def _ranges(column: Any, intervals: Iterable[Interval]) -> Any:
    terms = [and_(column >= a, column < b) for a, b in intervals]
    return or_(*terms) if terms else false()


# --- probes ---------------------------------------------------------------------------


async def probes(
    session: AsyncSession,
    *,
    operator_id: str | None = None,
    environment: str | None = None,
    kind: str | None = None,
) -> Sequence[Probe]:
    query = select(Probe).order_by(Probe.operator_id, Probe.environment, Probe.kind)
    if operator_id is not None:
        query = query.where(Probe.operator_id == operator_id)
    if environment is not None:
        query = query.where(Probe.environment == environment)
    if kind is not None:
        query = query.where(Probe.kind == kind)
    return (await session.scalars(query)).all()


# --- watermark and incremental rollups --------------------------------------------------


def _insert(session: AsyncSession, model: Any) -> Any:
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(model)


async def lock_watermark(session: AsyncSession, name: str, now: datetime) -> int:
    """Take the watermark row's write lock (the transaction's first write) and read it.

    A second worker's identical call waits here until the first commits, then reads the
    value the first one advanced to: two workers never roll up the same rows.
    """
    touch = (
        update(JobWatermark)
        .where(JobWatermark.name == name)
        .values(updated_at=now)
        .returning(JobWatermark.last_id)
        .execution_options(synchronize_session=False)
    )
    for _ in range(2):
        value = (await session.execute(touch)).scalar_one_or_none()
        if value is not None:
            return int(value)
        create = _insert(session, JobWatermark).values(name=name, last_id=0, updated_at=now)
        await session.execute(create.on_conflict_do_nothing())
    raise WatermarkMoved(f"watermark {name!r} could not be created")


async def advance_watermark(
    session: AsyncSession, name: str, expected: int, new: int, now: datetime
) -> None:
    """Compare-and-set: move from ``expected`` to ``new`` or raise :class:`WatermarkMoved`."""
    result = await session.execute(
        update(JobWatermark)
        .where(JobWatermark.name == name, JobWatermark.last_id == expected)
        .values(last_id=new, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise WatermarkMoved(f"watermark {name!r} is no longer {expected}")


_NEW_RESULTS = {
    "postgresql": "SELECT id, probe_id, floor(date_part('epoch', started_at))::bigint, outcome, "
    "latency_ms FROM probe_results WHERE id > $1 ORDER BY id LIMIT $2",
    "sqlite": "SELECT id, probe_id, CAST(strftime('%s', started_at) AS INTEGER), outcome, "
    "latency_ms FROM probe_results WHERE id > ? ORDER BY id LIMIT ?",
}


async def results_after(session: AsyncSession, last_id: int, limit: int) -> Sequence[NewResult]:
    """The next results by id, started_at as whole epoch seconds computed by the database.

    The rollup job's hot read (tens of millions of rows in a backfill) goes straight to the
    driver on the session's connection and transaction: SQLAlchemy's row processing would
    double its cost."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    sql = _NEW_RESULTS[connection.dialect.name]
    if connection.dialect.name == "postgresql":
        rows = await driver.fetch(sql, last_id, limit)
    else:
        cursor = await driver.execute(sql, (last_id, limit))
        rows = await cursor.fetchall()
    return typing.cast(Sequence[NewResult], rows)


async def probe_labels(
    session: AsyncSession, probe_ids: Sequence[int]
) -> dict[int, tuple[str, str, str]]:
    """``(operator_id, environment, kind)`` per probe id; from a result if the probe is gone."""
    labels: dict[int, tuple[str, str, str]] = {}
    for chunk in _chunks(probe_ids):
        query = select(Probe.id, Probe.operator_id, Probe.environment, Probe.kind)
        for probe_id, operator_id, environment, kind in await session.execute(
            query.where(Probe.id.in_(chunk))
        ):
            labels[probe_id] = (operator_id, environment, kind)
    for probe_id in set(probe_ids) - labels.keys():
        row = (
            await session.execute(
                select(P.operator_id, P.environment, P.kind).where(P.probe_id == probe_id).limit(1)
            )
        ).first()
        labels[probe_id] = (row[0], row[1], row[2]) if row else ("?", "?", "?")
    return labels


async def rollups_at(
    session: AsyncSession, granularity: str, starts: Sequence[datetime]
) -> Sequence[StoredRollup]:
    query = select(
        R.probe_id, R.bucket_start, R.probes, R.failures, R.degraded, R.latency_sum_ms, R.histogram
    ).where(R.granularity == granularity, R.bucket_start.in_(starts))
    return (await session.execute(query)).all()


async def insert_rollups(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ROLLUPS), rows)


async def update_rollups(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Executemany of updates keyed by ``k_probe``, ``k_grain``, ``k_start``."""
    if not rows:
        return
    statement = (
        update(ROLLUPS)
        .where(
            ROLLUPS.c.probe_id == bindparam("k_probe"),
            ROLLUPS.c.granularity == bindparam("k_grain"),
            ROLLUPS.c.bucket_start == bindparam("k_start"),
        )
        .values(
            probes=bindparam("probes"),
            failures=bindparam("failures"),
            degraded=bindparam("degraded"),
            latency_sum_ms=bindparam("latency_sum_ms"),
            histogram=bindparam("histogram"),
        )
    )
    await session.execute(statement, rows)


async def delete_rollups(
    session: AsyncSession,
    probe_ids: Sequence[int],
    granularity: str,
    start: datetime,
    end: datetime,
) -> None:
    for chunk in _chunks(probe_ids):
        await session.execute(
            delete(R).where(
                R.probe_id.in_(chunk),
                R.granularity == granularity,
                R.bucket_start >= start,
                R.bucket_start < end,
            )
        )


# --- reads for statements and burn rates ------------------------------------------------


async def rollups_with_watermark(
    session: AsyncSession,
    probe_ids: Sequence[int],
    plan: dict[str, list[Interval]],
    *,
    histograms: bool = True,
) -> tuple[dict[int, int], list[tuple[Any, ...]]]:
    """Rollups of ``probe_ids`` in the plan's buckets, each chunk of probes read together
    with the watermark in one statement. Returns the watermark seen per probe and the rows
    ``(probe_id, granularity, probes, failures, degraded, latency_sum_ms, histogram)``; a
    plan without rollups reads nothing (watermark 0: only a read rollup needs one)."""
    terms = [
        and_(R.granularity == grain, _ranges(R.bucket_start, intervals))
        for grain, intervals in plan.items()
        if intervals
    ]
    if not terms:  # raw rows only: no rollup to read, so no watermark to read it with
        return dict.fromkeys(probe_ids, 0), []
    marks: dict[int, int] = {}
    found: list[tuple[Any, ...]] = []
    for chunk in _chunks(probe_ids):
        condition = and_(R.probe_id.in_(chunk), or_(*terms))
        mark, rows = await _with_watermark(session, condition, R.granularity, histograms)
        marks.update(dict.fromkeys(chunk, mark))
        found.extend(rows)
    return marks, found


async def rollup_buckets(
    session: AsyncSession,
    probe_ids: Sequence[int],
    grain: str,
    span: Interval,
    *,
    histograms: bool = True,
) -> tuple[dict[int, int], list[tuple[Any, ...]]]:
    """The ``grain`` rollups of ``probe_ids`` starting in ``span``, all buckets in
    one statement per chunk of probes, with the watermark read in it. Returns the watermark
    seen per probe and the rows ``(probe_id, bucket_start, probes, failures, degraded,
    latency_sum_ms, histogram)``."""
    marks: dict[int, int] = {}
    found: list[tuple[Any, ...]] = []
    for chunk in _chunks(probe_ids):
        condition = and_(
            R.probe_id.in_(chunk),
            R.granularity == grain,
            R.bucket_start >= span[0],
            R.bucket_start < span[1],
        )
        mark, rows = await _with_watermark(session, condition, R.bucket_start, histograms)
        marks.update(dict.fromkeys(chunk, mark))
        found.extend(rows)
    return marks, found


async def _with_watermark(
    session: AsyncSession, condition: Any, label: Any, histograms: bool
) -> tuple[int, list[tuple[Any, ...]]]:
    """Rollup rows ``(probe_id, label, probes, failures, degraded, latency_sum_ms,
    histogram)`` matching ``condition``, and the rollup watermark (0 when the job never
    ran), read in one statement. Without ``histograms`` the histogram is ``[]`` (counts
    and latency sums only: nothing to transfer and parse)."""
    histogram = cast(R.histogram, Text) if histograms else null()
    query = (
        select(JobWatermark.last_id, R.probe_id, label, R.probes, R.failures)
        .add_columns(R.degraded, R.latency_sum_ms, histogram)
        .select_from(JobWatermark)
        .outerjoin(R, condition)
        .where(JobWatermark.name == ROLLUP_WATERMARK)
    )
    rows = (await (await session.connection()).execute(query)).all()
    mark = int(rows[0][0]) if rows else 0  # no watermark: nothing was ever rolled up
    # histograms travel as text and are parsed here with orjson (5x the json module)
    return mark, [(*r[1:7], orjson.loads(r[7]) if r[7] else []) for r in rows if r[1] is not None]


async def raw_results(
    session: AsyncSession,
    probe_ids: Sequence[int],
    intervals: Sequence[Interval],
    *,
    max_id: int | None = None,
) -> list[RawResult]:
    """Results inside ``intervals``."""
    if not intervals:
        return []
    rows: list[RawResult] = []
    for chunk in _chunks(probe_ids):
        query = select(P.id, P.probe_id, P.started_at, P.outcome, P.latency_ms).where(
            P.probe_id.in_(chunk), _ranges(P.started_at, intervals)
        )
        if max_id is not None:
            query = query.where(P.id <= max_id)
        rows.extend((await (await session.connection()).execute(query)).all())
    return rows


async def results_past(session: AsyncSession, watermark: int) -> AsyncIterator[RawResult]:
    """Results not rolled up yet (``id > watermark``; primary-key range scan only)."""
    query = select(P.id, P.probe_id, P.started_at, P.outcome, P.latency_ms).where(P.id > watermark)
    stream = await session.stream(query.execution_options(yield_per=10_000))
    async for row in stream:
        yield row


async def evidence_rows(
    session: AsyncSession, probe_id: int, start: datetime, end: datetime
) -> AsyncIterator[EvidenceRow]:
    query = (
        select(P.id, P.probe_id, P.scheduled_at, P.started_at, P.outcome, P.latency_ms)
        .add_columns(P.status_code)
        .where(P.probe_id == probe_id, P.started_at >= start, P.started_at < end)
        .order_by(P.started_at, P.id)
    )
    stream = await session.stream(query.execution_options(yield_per=10_000))
    async for row in stream:
        yield row


# --- retention ------------------------------------------------------------------------


async def delete_results_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    ids = select(P.id).where(P.started_at < cutoff).order_by(P.id).limit(limit)
    victims = (await session.scalars(ids)).all()
    if not victims:
        return 0
    await session.execute(delete(P).where(P.id.in_(victims)))
    return len(victims)


async def delete_rollups_before(session: AsyncSession, granularity: str, cutoff: datetime) -> int:
    result = await session.execute(
        delete(R).where(R.granularity == granularity, R.bucket_start < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- maintenance windows --------------------------------------------------------------


async def add_window(session: AsyncSession, row: MaintenanceWindow) -> None:
    session.add(row)
    await session.flush()


async def get_window(session: AsyncSession, window_id: int) -> MaintenanceWindow | None:
    return await session.get(MaintenanceWindow, window_id)


async def windows_overlapping(
    session: AsyncSession,
    operator_ids: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
) -> Sequence[MaintenanceWindow]:
    """Windows of ``operator_ids`` (None: all operators) overlapping ``[start, end)``."""
    M = MaintenanceWindow
    query = select(M).order_by(M.starts_at, M.id)
    if operator_ids is not None:
        query = query.where(M.operator_id.in_(operator_ids))
    if end is not None:
        query = query.where(M.starts_at < end)
    if start is not None:
        query = query.where(M.ends_at > start)
    return (await session.scalars(query)).all()


# --- contracts and statements ---------------------------------------------------------


async def contracts(session: AsyncSession, operator_ids: Sequence[str] | None) -> list[SlaContract]:
    query = select(SlaContract)
    if operator_ids is not None:
        query = query.where(SlaContract.operator_id.in_(operator_ids))
    return list((await session.scalars(query)).all())


async def upsert_contract(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = _insert(session, SlaContract).values(**values)
    updates = {k: v for k, v in values.items() if k != "operator_id"}
    await session.execute(
        statement.on_conflict_do_update(index_elements=["operator_id"], set_=updates)
    )


async def find_statement(
    session: AsyncSession,
    operator_id: str,
    environment: str,
    kind: str,
    start: datetime,
    end: datetime,
) -> SlaStatement | None:
    S = SlaStatement
    query = select(S).where(
        S.operator_id == operator_id,
        S.environment == environment,
        S.kind == kind,
        S.period_start == start,
        S.period_end == end,
    )
    return (await session.scalars(query)).one_or_none()


async def add_statement(session: AsyncSession, row: SlaStatement) -> None:
    """Insert in a savepoint, so a concurrent duplicate leaves the transaction usable."""
    async with session.begin_nested():
        session.add(row)


async def get_statement(session: AsyncSession, statement_id: int) -> SlaStatement | None:
    return await session.get(SlaStatement, statement_id)


async def list_statements(
    session: AsyncSession, operator_id: str, environment: str | None
) -> Sequence[SlaStatement]:
    S = SlaStatement
    query = select(S).where(S.operator_id == operator_id)
    if environment is not None:
        query = query.where(S.environment == environment)
    return (await session.scalars(query.order_by(S.period_start.desc(), S.kind))).all()
