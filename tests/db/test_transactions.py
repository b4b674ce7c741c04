"""Transactions, the edge's short transactions: a step commits when it ends and rolls back
when it raises; ``run`` retries a step that lost a race, from the start, a bounded number
of times."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import AuditEntry
from mobileplans.db.transactions import Transactions
from mobileplans.kit.clock import FrozenClock


class LostRace(Exception):
    pass


def entry(clock: FrozenClock, entity_id: str) -> AuditEntry:
    return AuditEntry(at=clock.now(), actor="test", action="create", entity_type="test",
                      entity_id=entity_id, before=None, after=None)  # fmt: skip


async def stored(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.scalars(select(AuditEntry.entity_id))).all())


async def test_a_step_commits_when_it_ends_and_rolls_back_when_it_raises(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    tx = Transactions(sessions)
    async with tx.step() as session:
        session.add(entry(clock, "kept"))

    async def add_then_fail() -> None:
        async with tx.step() as session:
            session.add(entry(clock, "dropped"))
            await session.flush()
            raise LostRace

    with pytest.raises(LostRace):
        await add_then_fail()
    assert await stored(sessions) == ["kept"]


async def test_run_retries_a_lost_race_from_the_start(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    tx = Transactions(sessions)
    tries: list[int] = []

    async def work(session: AsyncSession) -> int:
        tries.append(len(tries) + 1)
        session.add(entry(clock, f"try-{len(tries)}"))
        await session.flush()
        if len(tries) < 3:
            raise LostRace
        return len(tries)

    assert await tx.run(work, retry_on=(LostRace,), attempts=3) == 3
    assert await stored(sessions) == ["try-3"]  # the lost tries were rolled back


async def test_run_gives_up_after_its_attempts_and_never_retries_other_errors(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tx = Transactions(sessions)
    calls: list[str] = []

    async def always_loses(session: AsyncSession) -> None:
        calls.append("lost")
        raise LostRace

    with pytest.raises(LostRace):
        await tx.run(always_loses, retry_on=(LostRace,), attempts=2)
    assert calls == ["lost", "lost"]

    async def breaks(session: AsyncSession) -> None:
        calls.append("broke")
        raise ValueError("a bug, not a race")

    with pytest.raises(ValueError, match="a bug"):
        await tx.run(breaks, retry_on=(LostRace,), attempts=5)
    assert calls.count("broke") == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0
