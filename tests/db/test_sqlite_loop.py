"""The on-loop SQLite driver: same answers as aiosqlite, lock waits awaited, never blocking."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from mobileplans.db import sqlite_loop
from mobileplans.db.engine import make_engine

metadata = MetaData()
items = Table(
    "items", metadata, Column("id", Integer, primary_key=True), Column("name", String(20))
)


@pytest.fixture
async def loop_engine(tmp_path: Path) -> AsyncEngine:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", sqlite_on_loop=True)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine  # type: ignore[misc]
    await engine.dispose()


def test_the_url_names_our_dialect() -> None:
    assert sqlite_loop.on_loop_url("sqlite+aiosqlite:////d/x.db") == "sqlite+mploop:////d/x.db"
    assert sqlite_loop.on_loop_url("postgresql+asyncpg://h/db") == "postgresql+asyncpg://h/db"


async def test_reads_writes_and_rowcounts(loop_engine: AsyncEngine) -> None:
    assert loop_engine.dialect.driver == "mploop"
    async with loop_engine.begin() as connection:
        await connection.execute(insert(items), [{"id": i, "name": f"n{i}"} for i in range(5)])
        changed = await connection.execute(update(items).where(items.c.id < 2).values(name="x"))
        assert changed.rowcount == 2
        inserted = await connection.execute(insert(items).values(name="auto"))
        assert inserted.inserted_primary_key == (5,)
    async with loop_engine.connect() as connection:
        rows = (await connection.execute(select(items).order_by(items.c.id))).all()
        busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar()
    assert [r.name for r in rows] == ["x", "x", "n2", "n3", "n4", "auto"]
    assert busy == 0  # lock waits are awaited by the driver, never slept in C on the loop


async def test_a_rolled_back_transaction_leaves_nothing(loop_engine: AsyncEngine) -> None:
    async def write_then_fail() -> None:
        async with loop_engine.begin() as connection:
            await connection.execute(insert(items).values(id=1, name="gone"))
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await write_then_fail()
    async with loop_engine.connect() as connection:
        assert (await connection.execute(select(items))).all() == []


async def test_a_second_writer_awaits_the_first_and_the_loop_keeps_running(
    loop_engine: AsyncEngine,
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    first_holds = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with loop_engine.begin() as connection:
            await connection.execute(insert(items).values(id=1, name="first"))
            first_holds.set()
            await asyncio.sleep(0.3)  # holds the write lock while the loop runs on
            order.append("first commits")

    async def second() -> None:
        await first_holds.wait()
        async with loop_engine.begin() as connection:
            await connection.execute(insert(items).values(id=2, name="second"))
            order.append("second wrote")

    tick_task = asyncio.create_task(ticker())
    await asyncio.gather(first(), second())
    tick_task.cancel()
    assert order == ["first commits", "second wrote"]
    assert ticks >= 20  # the loop was never blocked while the second writer waited
    async with loop_engine.connect() as connection:
        assert len((await connection.execute(select(items))).all()) == 2


async def test_a_writer_in_another_process_is_waited_for_then_the_wait_gives_up(
    loop_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction
    releaser = asyncio.get_running_loop().call_later(0.2, lambda: other.execute("COMMIT"))
    async with loop_engine.begin() as connection:
        await connection.execute(insert(items).values(id=1, name="after"))
    releaser.cancel()

    other.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(sqlite_loop, "LOCK_WAIT_SECONDS", 0.1)
    with pytest.raises(OperationalError, match="locked"):
        async with loop_engine.begin() as connection:
            await connection.execute(insert(items).values(id=2, name="never"))
    other.execute("ROLLBACK")
    other.close()


async def test_retry_when_busy_gives_up_after_the_wait_and_never_retries_other_errors() -> None:
    calls = 0

    def busy() -> None:
        nonlocal calls
        calls += 1
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
        raise error

    with pytest.raises(sqlite3.OperationalError):
        await sqlite_loop.retry_when_busy(busy, wait=0.05)
    assert calls > 2

    calls = 0

    def broken() -> None:
        nonlocal calls
        calls += 1
        raise sqlite3.OperationalError("no such table: x")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await sqlite_loop.retry_when_busy(broken)
    assert calls == 1


async def test_commits_never_checkpoint_the_log_a_background_thread_does(
    loop_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with loop_engine.connect() as connection:
        autocheckpoint = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
    assert autocheckpoint == 0
    wal = tmp_path / "x.db-wal"
    async with loop_engine.begin() as connection:
        await connection.execute(insert(items), [{"name": "x" * 20} for _ in range(5000)])
    checkpointer = sqlite_loop.Checkpointer(str(tmp_path / "x.db"), interval=0.05)
    try:
        for _ in range(100):
            if checkpointer.checkpoints:
                break
            await asyncio.sleep(0.05)
    finally:
        checkpointer.stop()
    assert checkpointer.checkpoints >= 1
    assert wal.exists()  # PASSIVE: the log is copied back, not truncated or deleted
