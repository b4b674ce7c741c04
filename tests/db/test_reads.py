"""Driver-level reads (``db.reads``): the same rows as a session gives, on SQLite and
PostgreSQL; on SQLite a busy read is awaited, never slept on the loop; on PostgreSQL
connections are handed out in the order of asking and a dropped one is replaced."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mobileplans.db.reads import AsyncpgReads, SessionReads, SqliteReads, reads_for
from mobileplans.db.session import session_scope
from mobileplans.domains.subscriber import balances as balance_service
from mobileplans.domains.subscriber import repository
from mobileplans.domains.subscriber import service as subscriber_service
from mobileplans.domains.subscriber.schemas import LineStatus, SimKind
from mobileplans.kit.clock import FrozenClock
from tests.support import pg_url, valid_iccid

LINE = valid_iccid("890199908880000001")
OTHER = valid_iccid("890199908880000002")


@pytest.fixture
async def lines(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    from mobileplans.cli.demo_operator import ensure_operator_demo

    await ensure_operator_demo(sessions, ["contoso"], clock.now())
    async with session_scope(sessions) as session:
        plans = await subscriber_service.list_plans(session, "contoso")
        for iccid, supported in ((LINE, True), (OTHER, False)):
            await subscriber_service.create_line(
                session,
                "contoso",
                iccid=iccid,
                sim_kind=SimKind.ESIM,
                status=LineStatus.ACTIVE,
                now=clock.now(),
            )
            if not supported:
                (await repository.line(session, iccid)).supported = False  # type: ignore[union-attr]
        for plan in plans[:2]:
            await balance_service.credit(session, LINE, plan, now=clock.now())


@pytest.mark.usefixtures("lines")
async def test_driver_reads_answer_as_the_session_does(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        by_session = SessionReads(session)
        expected = [
            await repository.line_summary(by_session, LINE),
            await repository.line_summary(by_session, OTHER),
            await repository.line_summary(by_session, valid_iccid("890199908880000003")),
            await repository.balance_rows(by_session, LINE),
            await repository.active_plan_ids(by_session, "contoso"),
        ]
    reads = reads_for(engine)
    assert reads_for(engine) is reads  # one per engine
    async with reads.hold() as held:
        found = [
            await repository.line_summary(held, LINE),
            await repository.line_summary(held, OTHER),
            await repository.line_summary(held, valid_iccid("890199908880000003")),
            await repository.balance_rows(held, LINE),
            await repository.active_plan_ids(held, "contoso"),
        ]
    assert [tuple(r) if r is not None and not isinstance(r, list) else r for r in found[:3]] == [
        tuple(r) if r is not None else None for r in expected[:3]
    ]
    assert [tuple(r) for r in found[3]] == [tuple(r) for r in expected[3]]
    assert found[4] == expected[4]
    assert found[4]
    line, other, missing, rows = found[0], found[1], found[2], found[3]
    assert (line.operator_id, line.supported, other.supported, missing) == (
        "contoso",
        True,
        False,
        None,
    )
    assert len(rows) == 2
    assert rows[0].expires_at.tzinfo is not None
    assert rows[0].expires_at.utcoffset() == timedelta(0)
    assert rows[0].expires_at <= rows[1].expires_at  # the repository's order
    assert rows[0].locations == ["US"]
    assert rows[0].expires_at.astimezone(UTC) == rows[0].expires_at


@pytest.mark.usefixtures("lines")
async def test_a_busy_sqlite_read_is_awaited_and_the_loop_keeps_running(
    engine: AsyncEngine, database_url: str
) -> None:
    if pg_url() is not None:
        pytest.skip("SQLite only")
    path = database_url.split("///", 1)[1]
    reads = reads_for(engine)
    assert isinstance(reads, SqliteReads)
    await engine.dispose()  # no pooled connection left: the blocker can lock the file
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("PRAGMA locking_mode=EXCLUSIVE")
    blocker.execute("BEGIN EXCLUSIVE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def unblock() -> None:
        await asyncio.sleep(0.2)
        blocker.execute("COMMIT")
        blocker.close()

    ticking = asyncio.create_task(ticker())
    releasing = asyncio.create_task(unblock())
    try:
        line = await reads.one(repository.LINE_SUMMARY, {"iccid": LINE})
    finally:
        ticking.cancel()
        await releasing
    assert line is not None
    assert line.iccid == LINE
    assert ticks >= 10  # the loop ran while the read waited for the lock


async def test_asyncpg_connections_go_in_the_order_of_asking(engine: AsyncEngine) -> None:
    if pg_url() is None:
        pytest.skip("PostgreSQL only")
    reads = reads_for(engine)
    assert isinstance(reads, AsyncpgReads)
    reads.size = 1
    order: list[int] = []

    async def reader(number: int) -> None:
        async with reads.hold() as held:
            order.append(number)
            await repository.line_summary(held, LINE)

    async with reads.hold():
        tasks = []
        for number in range(6):
            tasks.append(asyncio.create_task(reader(number)))
            await asyncio.sleep(0)  # each asks in turn, while the one connection is held
        await asyncio.sleep(0.01)
        assert order == []
    await asyncio.gather(*tasks)
    assert order == list(range(6))


@pytest.mark.usefixtures("lines")
async def test_a_dropped_asyncpg_connection_is_replaced(engine: AsyncEngine) -> None:
    if pg_url() is None:
        pytest.skip("PostgreSQL only")
    import asyncpg  # type: ignore[import-untyped]

    reads = reads_for(engine)
    assert isinstance(reads, AsyncpgReads)
    async with reads.hold() as held:
        assert await repository.line_summary(held, LINE) is not None
        pid = held.connection.get_server_pid()  # type: ignore[attr-defined]
    async with engine.connect() as connection:
        from sqlalchemy import text

        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    # The first read after the kill either fails with whatever the driver meets first (the
    # server's error, a closed socket, or, if the teardown is still under way, asyncpg's
    # InternalClientError about its protocol state; those that mean the server ended the
    # connection are DatabaseUnavailable, a 503, D225), or, when asyncpg has already seen
    # the socket close, is served on a new connection: never a stale one.
    from mobileplans.db.errors import DatabaseUnavailable

    driver_errors = (
        DatabaseUnavailable,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,
        OSError,
    )
    try:
        async with reads.hold() as held:
            first = await repository.line_summary(held, LINE)
            assert held.connection.get_server_pid() != pid  # type: ignore[attr-defined]
            assert first is not None
    except driver_errors:
        pass
    line = await repository.line_summary(reads, LINE)  # a new connection
    assert line is not None
    assert line.iccid == LINE
    await engine.dispose()
    assert reads._all == []  # closed with the engine


def test_in_memory_sqlite_reads_through_the_engine(tmp_path: Path) -> None:
    from mobileplans.db.engine import make_engine

    engine = make_engine("sqlite+aiosqlite://")
    assert not isinstance(reads_for(engine), SqliteReads | AsyncpgReads)


def test_sqlite_converters_read_as_the_dialect_does() -> None:
    """The cheaper SQLite converters of ``db.reads`` (UTC datetimes, JSON) give what the
    dialect's own result processors give, on what SQLAlchemy stores and on edge values."""
    from datetime import datetime

    from sqlalchemy import JSON
    from sqlalchemy.dialects import sqlite

    from mobileplans.db.base import UtcDateTime
    from mobileplans.db.reads import _json_from_sqlite, _result_processor, _utc_from_sqlite

    dialect = sqlite.dialect()
    stored = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert stored is not None
    by_dialect = UtcDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert by_dialect is not None
    moments = [
        datetime(2026, 12, 5, 20, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 5, 20, 0, 0, 123456, tzinfo=UTC),
        datetime(1999, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 6, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(hours=-7),
    ]
    for moment in moments:
        text = stored(UtcDateTime().process_bind_param(moment, dialect))
        assert _utc_from_sqlite(text) == by_dialect(text) == moment
        assert _utc_from_sqlite(text).tzinfo is UTC  # type: ignore[union-attr]
    assert _utc_from_sqlite(None) is None
    assert _result_processor(UtcDateTime(), dialect, None) is _utc_from_sqlite

    json_by_dialect = JSON().dialect_impl(dialect).result_processor(dialect, None)
    assert json_by_dialect is not None
    for text in ('["US", "CA"]', "[]", '{"a": [1, 2.5, null, true]}', "NaN", "[1e400]",
                 str(2**70), str(-(2**63) - 1), str(2**63 - 1), '"caf\\u00e9"', '"\\ud800"',
                 '{"a": 1, "a": 2}', "[1.7976931348623157e308, -0.0, 0.1e1]"):  # fmt: skip
        assert repr(_json_from_sqlite(text)) == repr(json_by_dialect(text)), text
    assert _json_from_sqlite(None) is None
    assert _result_processor(JSON(), dialect, None) is _json_from_sqlite
