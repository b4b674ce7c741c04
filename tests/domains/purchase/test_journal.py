"""The transaction log: a transaction's entries are written together when it commits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mobileplans.domains.purchase import journal
from mobileplans.kit.clock import FrozenClock

OP, TX = "contoso", "tx-journal-1"


@contextmanager
def log_inserts(engine: AsyncEngine) -> Iterator[list[int]]:
    """Rows per ``INSERT INTO mo_transaction_log`` statement sent to the driver."""
    seen: list[int] = []

    def count(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO mo_transaction_log"):
            seen.append(len(params) if many else 1)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def stored(sessions: async_sessionmaker[AsyncSession], tx: str = TX) -> list[str]:
    async with sessions() as session:
        return [name for name, _ in await journal.entries(session, OP, tx)]


async def test_entries_of_a_transaction_go_out_in_one_statement_at_commit(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    with log_inserts(engine) as inserts:
        async with sessions() as session, session.begin():
            journal.log(session, OP, TX, "signup", clock.now(), accountId=7)
            journal.log(session, OP, TX, "plan-chosen", clock.now(), planId=1, gone=None)
            journal.log(session, OP, TX, "checkout", clock.now())
            assert inserts == []  # nothing written before the commit
    assert inserts == [3]
    assert await stored(sessions) == ["signup", "plan-chosen", "checkout"]
    async with sessions() as session:
        assert (await journal.entries(session, OP, TX))[1] == ("plan-chosen", {"planId": 1})


async def test_a_transaction_that_does_not_commit_writes_no_entry(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:

    async def failing_request() -> None:
        async with sessions() as session, session.begin():
            journal.log(session, OP, TX, "signin", clock.now())
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        await failing_request()
    async with sessions() as session:
        await session.begin()
        journal.log(session, OP, TX, "terms-accepted", clock.now())
        await session.close()  # closed without a commit
        async with session.begin():  # the same session, a new transaction
            journal.log(session, OP, TX, "checkout", clock.now())
    assert await stored(sessions) == ["checkout"]


async def lost_race(session: AsyncSession) -> None:
    async with session.begin_nested():
        raise RuntimeError("a double submit lost the race")


async def test_a_savepoint_keeps_the_entries_of_its_transaction(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessions() as session, session.begin():
        journal.log(session, OP, TX, "order-placed", clock.now())
        with pytest.raises(RuntimeError):
            await lost_race(session)
        async with session.begin_nested():
            journal.log(session, OP, TX, "es2plus", clock.now())
        journal.log(session, OP, TX, "order-fulfilled", clock.now())
        # A read of the log in the same session sees the entries not yet committed.
        names = [name for name, _ in await journal.entries(session, OP, TX)]
        assert names == ["order-placed", "es2plus", "order-fulfilled"]
    assert await stored(sessions) == ["order-placed", "es2plus", "order-fulfilled"]
