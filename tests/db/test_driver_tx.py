"""Transactions on the driver (``db.driver_tx``, D295), on the serving engines
(``sqlite+mploop`` and asyncpg): what a block writes is committed at its end and rolled
back if it raises; a duplicate key is SQLAlchemy's ``IntegrityError``; listeners see every
statement, commit and rollback; other drivers get session steps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from mobileplans.db import driver_kept
from mobileplans.db.base import UtcDateTime
from mobileplans.db.driver_kept import KEEP
from mobileplans.db.driver_tx import DriverTransaction, DriverTransactions, driver_steps
from mobileplans.db.engine import make_engine
from mobileplans.db.errors import is_unavailable
from mobileplans.db.session import make_sessionmaker
from mobileplans.db.transactions import Transactions
from tests.db.support import serving_engine
from tests.support import pg_url

_META = MetaData()
_NOTES = Table(
    "driver_tx_notes",
    _META,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("note", String(40), nullable=False),
    Column("at", UtcDateTime, nullable=True),
)
_ADD = insert(_NOTES).values(id=bindparam("id"), note=bindparam("note"), at=bindparam("at"))
_ALL = select(_NOTES.c.id, _NOTES.c.note, _NOTES.c.at).order_by(_NOTES.c.id)
_RENAME = update(_NOTES).where(_NOTES.c.id == bindparam("the_id")).values(note=bindparam("note"))
_RENAME_RETURNING = _RENAME.returning(_NOTES.c.id, _NOTES.c.note)
AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


@pytest.fixture
async def serving(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The engine a serving process makes (on SQLite: the on-loop driver), with the table."""
    async with serving_engine(database_url, _META, "tests-driver-tx") as engine:
        yield engine


async def _notes(steps: DriverTransactions) -> list[tuple[Any, ...]]:
    async with steps.step() as tx:
        return await tx.rows(_ALL, {})


async def test_a_block_commits_at_its_end_with_the_types_processed(serving: AsyncEngine) -> None:
    steps = driver_steps(make_sessionmaker(serving))
    assert isinstance(steps, DriverTransactions)
    async with steps.step() as tx:
        assert await tx.change(_ADD, {"id": 1, "note": "first", "at": AT}) == 1
        assert await tx.change(_ADD, {"id": 2, "note": "second", "at": None}) == 1
    assert await _notes(steps) == [(1, "first", AT), (2, "second", None)]
    async with steps.step() as tx:
        assert await tx.change(_RENAME, {"the_id": 2, "note": "renamed"}) == 1
        assert await tx.change(_RENAME, {"the_id": 9, "note": "nobody"}) == 0
        assert await tx.rows(_RENAME_RETURNING, {"the_id": 1, "note": "again"}) == [(1, "again")]
    assert [n for _i, n, _a in await _notes(steps)] == ["again", "renamed"]


async def test_a_block_that_raises_leaves_nothing(serving: AsyncEngine) -> None:
    steps = DriverTransactions(serving)

    async def add_then_fail(tx: DriverTransaction) -> None:
        await tx.change(_ADD, {"id": 1, "note": "lost", "at": AT})
        raise RuntimeError("midway")

    with pytest.raises(RuntimeError, match="midway"):
        await steps.run(add_then_fail)
    assert await _notes(steps) == []


async def test_a_duplicate_key_is_sqlalchemy_integrity_error_and_rolls_back(
    serving: AsyncEngine,
) -> None:
    steps = DriverTransactions(serving)
    await steps.run(lambda tx: tx.change(_ADD, {"id": 1, "note": "kept", "at": AT}))

    async def add_twice(tx: DriverTransaction) -> None:
        await tx.change(_ADD, {"id": 2, "note": "undone", "at": AT})
        await tx.change(_ADD, {"id": 1, "note": "duplicate", "at": AT})

    with pytest.raises(IntegrityError):
        await steps.run(add_twice)
    assert await _notes(steps) == [(1, "kept", AT)]
    # the connection went back to the pool clean: the next step works on it
    await steps.run(lambda tx: tx.change(_ADD, {"id": 3, "note": "after", "at": None}))
    assert [i for i, _n, _a in await _notes(steps)] == [1, 3]


async def test_listeners_see_statements_commits_and_rollbacks(serving: AsyncEngine) -> None:
    seen: list[str] = []

    def statement(_c: Any, _cur: Any, sql: str, *_rest: Any) -> None:
        seen.append(sql.split()[0].upper())

    sync = serving.sync_engine
    event.listen(sync, "before_cursor_execute", statement)
    event.listen(sync, "begin", lambda _c: seen.append("begin"))
    event.listen(sync, "commit", lambda _c: seen.append("commit"))
    event.listen(sync, "rollback", lambda _c: seen.append("rollback"))
    steps = DriverTransactions(serving)
    async with steps.step() as tx:
        await tx.change(_ADD, {"id": 1, "note": "n", "at": None})

    async def read_then_fail(tx: DriverTransaction) -> None:
        await tx.rows(_ALL, {})
        raise LookupError

    with pytest.raises(LookupError):
        await steps.run(read_then_fail)
    assert seen == ["begin", "INSERT", "commit", "begin", "SELECT", "rollback"]


async def test_other_drivers_get_session_steps(database_url: str) -> None:
    engine = make_engine(database_url, process_name="tests-driver-tx")  # aiosqlite on SQLite
    try:
        steps = driver_steps(make_sessionmaker(engine))
        expected = DriverTransactions if engine.dialect.driver == "asyncpg" else Transactions
        assert type(steps) is expected
    finally:
        await engine.dispose()


@pytest.mark.skipif(pg_url() is None, reason="PostgreSQL only")
async def test_a_lost_connection_is_unavailable_and_never_reused(serving: AsyncEngine) -> None:
    steps = DriverTransactions(serving)
    pids: list[int] = []

    async def lose_the_connection(tx: DriverTransaction) -> None:
        pids.append((await tx.rows(select(func.pg_backend_pid()), {}))[0][0])
        async with serving.connect() as other:
            await other.exec_driver_sql(f"SELECT pg_terminate_backend({pids[0]})")
        await tx.rows(_ALL, {})

    with pytest.raises(DBAPIError) as caught:
        await steps.run(lose_the_connection)
    assert caught.value.connection_invalidated
    assert is_unavailable(caught.value)
    async with steps.step() as tx:  # a fresh connection from the pool
        assert (await tx.rows(select(func.pg_backend_pid()), {}))[0][0] != pids[0]


def _closed(driver: Any) -> bool:
    """Whether a driver connection is closed (asyncpg's or the on-loop SQLite one)."""
    if hasattr(driver, "is_closed"):
        return bool(driver.is_closed())
    return driver._connection is None


def _in_transaction(driver: Any) -> bool:
    if hasattr(driver, "is_in_transaction"):
        return bool(driver.is_in_transaction())
    return bool(driver.in_transaction)


async def test_steps_hand_their_connection_on_and_dispose_closes_it(serving: AsyncEngine) -> None:
    """D298: the next step takes the connection the last one ended with, after a commit
    and after a rollback alike, with no transaction left open; at most ``KEEP`` stay
    checked out, and disposing of the engine closes them."""
    engine = serving
    steps = driver_steps(make_sessionmaker(engine))
    async with steps.step() as tx:
        await tx.change(_ADD, {"id": 1, "note": "one", "at": None})
        first = tx.connection.driver_connection

    async def duplicate() -> None:
        async with steps.step() as tx:
            assert tx.connection.driver_connection is first  # the same one, no checkout
            await tx.change(_ADD, {"id": 1, "note": "again", "at": None})

    with pytest.raises(IntegrityError):
        await duplicate()
    async with steps.step() as tx:
        assert tx.connection.driver_connection is first
        assert not _in_transaction(first)  # the failed step's transaction was rolled back
        assert await tx.rows(_ALL, {}) == [(1, "one", None)]

    async def hold() -> None:  # more steps at once than are kept
        async with steps.step() as tx:
            await tx.rows(_ALL, {})
            await asyncio.sleep(0.01)

    await asyncio.gather(*(hold() for _ in range(KEEP + 3)))
    assert engine.sync_engine.pool.checkedout() == KEEP  # type: ignore[attr-defined]
    await engine.dispose()
    assert _closed(first)  # closed, not left to the garbage collector


@pytest.mark.skipif(pg_url() is None, reason="PostgreSQL only")
@pytest.mark.parametrize("noticed", [True, False])
async def test_a_kept_connection_lost_meanwhile_is_replaced_before_anything_runs(
    serving: AsyncEngine, monkeypatch: pytest.MonkeyPatch, noticed: bool
) -> None:
    """D298 with D225: a connection handed on is not pinged; when its server backend has
    gone (a restart), the step runs whole on a connection from the pool, which pings it,
    and the lost one is closed. ``noticed``: asyncpg saw the socket close, and the lost
    connection is dropped when taken; otherwise (the loss not yet seen) the step's
    ``BEGIN`` finds it before anything ran."""
    if not noticed:
        monkeypatch.setattr(driver_kept, "_idle", lambda raw: raw.is_valid)
    steps = DriverTransactions(serving)
    async with steps.step() as tx:
        (pid,) = (await tx.rows(select(func.pg_backend_pid()), {}))[0]
        lost = tx.connection.driver_connection
    async with serving.connect() as other:
        await other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    await asyncio.sleep(0.2)  # the server closes the backend's socket
    async with steps.step() as tx:
        await tx.change(_ADD, {"id": 7, "note": "after the restart", "at": None})
        (now,) = (await tx.rows(select(func.pg_backend_pid()), {}))[0]
    assert now != pid
    assert _closed(lost)
    async with steps.step() as tx:
        assert tx.connection.driver_connection is not lost
        assert await tx.rows(_ALL, {}) == [(7, "after the restart", None)]
