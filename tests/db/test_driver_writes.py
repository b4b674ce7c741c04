"""What a repository writes through ``db.driver`` (D296, D297), in both kinds of
transaction (the driver kind on the serving engines, a session elsewhere): named rows
from ``one``/``all``, an ``INSERT`` of every column whose binds carry the columns'
defaults and refuse to guess the rest, and rows queued with ``later`` that are written
in one ``executemany`` at commit, and not at all on a rollback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from mobileplans.db import driver
from mobileplans.db.driver_tx import DriverTransactions, Tx, driver_steps
from mobileplans.db.reads import as_reads
from mobileplans.db.session import make_sessionmaker
from mobileplans.db.transactions import Steps, Transactions
from tests.db.support import serving_engine

_META = MetaData()
_ITEMS = Table(
    "driver_write_items",
    _META,
    Column("id", Integer, primary_key=True),  # autoincrement: left out of the INSERT
    Column("name", String(40), nullable=False),  # no default: required
    Column("kept", Boolean, nullable=False, default=True),
    Column("used", Float, nullable=False, default=0.0),
    Column("note", String(40), nullable=True),  # nullable, no default: NULL
)
_INSERT = driver.insert_statement(_ITEMS).returning(_ITEMS.c.id)
_PLAIN_INSERT = driver.insert_statement(_ITEMS)
_ALL = select(_ITEMS.c.id, _ITEMS.c.name, _ITEMS.c.kept, _ITEMS.c.used, _ITEMS.c.note).order_by(
    _ITEMS.c.id
)


@pytest.fixture
async def serving(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with serving_engine(database_url, _META, "tests-driver-writes") as engine:
        yield engine


@pytest.fixture(params=["driver", "session"])
def steps(request: pytest.FixtureRequest, serving: AsyncEngine) -> Steps[Tx]:
    """Both kinds of step on the same engine: what a repository sees must not differ."""
    sessions = make_sessionmaker(serving)
    if request.param == "session":
        return Transactions(sessions)
    found = driver_steps(sessions)
    assert isinstance(found, DriverTransactions)
    return found


async def _stored(steps: Steps[Tx]) -> list[tuple[Any, ...]]:
    async with steps.step() as tx:
        return [tuple(row) for row in await as_reads(tx).all(_ALL, {})]


async def test_an_insert_fills_the_column_defaults_and_returns_the_key(steps: Steps[Tx]) -> None:
    async with steps.step() as tx:
        (first,) = await driver.rows(tx, _INSERT, name="a")
        (second,) = await driver.rows(tx, _INSERT, name="b", kept=False, used=2.5, note="n")
    assert second[0] == first[0] + 1
    assert await _stored(steps) == [
        (first[0], "a", True, 0.0, None),
        (second[0], "b", False, 2.5, "n"),
    ]


async def test_a_required_column_left_out_raises_and_writes_nothing(steps: Steps[Tx]) -> None:
    with pytest.raises(KeyError, match="name"):
        async with steps.step() as tx:
            await driver.change(tx, _PLAIN_INSERT, note="no name")
    assert await _stored(steps) == []


async def test_reads_in_a_transaction_are_named_rows_that_see_its_writes(
    steps: Steps[Tx],
) -> None:
    async with steps.step() as tx:
        await driver.change(tx, _PLAIN_INSERT, name="x", used=1.5)
        row = await as_reads(tx).one(_ALL, {})
        assert row is not None
        assert (row.name, row.kept, row.used, row.note) == ("x", True, 1.5, None)
        assert [r.name for r in await as_reads(tx).all(_ALL, {})] == ["x"]


async def test_later_rows_are_written_in_one_executemany_at_commit(
    steps: Steps[Tx], serving: AsyncEngine
) -> None:
    seen: list[tuple[str, bool]] = []

    def count(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        if "driver_write_items" in statement:
            seen.append((statement.split()[0], many))

    event.listen(serving.sync_engine, "before_cursor_execute", count)
    try:
        async with steps.step() as tx:
            for name in ("j1", "j2", "j3"):
                driver.later(tx, _PLAIN_INSERT, {"name": name})
            assert seen == []  # queued, not yet written
    finally:
        event.remove(serving.sync_engine, "before_cursor_execute", count)
    assert seen == [("INSERT", True)]
    assert [row[1:] for row in await _stored(steps)] == [
        ("j1", True, 0.0, None),
        ("j2", True, 0.0, None),
        ("j3", True, 0.0, None),
    ]


async def test_later_rows_of_a_rolled_back_transaction_are_never_written(
    steps: Steps[Tx],
) -> None:

    async def failing() -> None:
        async with steps.step() as tx:
            driver.later(tx, _PLAIN_INSERT, {"name": "lost"})
            raise RuntimeError("the step failed")

    with pytest.raises(RuntimeError):
        await failing()
    async with steps.step() as tx:  # the next transaction on the same connection: clean
        driver.later(tx, _PLAIN_INSERT, {"name": "kept"})
    assert [row[1] for row in await _stored(steps)] == ["kept"]
