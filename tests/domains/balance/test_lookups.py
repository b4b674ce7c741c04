"""The broker's GetBalance call records (``balance_lookups``): a batch written in one
statement (SQLite executemany, PostgreSQL COPY, D193) reads back value for value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.balance import repository, service
from mobileplans.domains.balance.schemas import LookupRecord


async def test_a_batch_reads_back_as_written(sessions: async_sessionmaker[AsyncSession]) -> None:
    start = datetime(2026, 12, 5, 21, 0, 0, 123456, tzinfo=UTC)
    paris = timezone(timedelta(hours=1))
    records: list[LookupRecord] = [
        (
            (start + timedelta(milliseconds=n)).astimezone(paris if n % 2 else UTC),
            "contoso",
            "production" if n % 3 else "preproduction",
            f"89019990{n:010d}7",
            f"MSFT-{n:08d}-0000-4000-8000-000000000000",
            "ok" if n % 4 else "timeout",
            200 if n % 4 else None,
            200.125 + n,
        )
        for n in range(250)
    ]
    async with session_scope(sessions) as session:
        await service.save_lookups(session, records)
        await service.save_lookups(session, [])  # nothing to write: no statement fails
    async with session_scope(sessions) as session:
        found = await repository.lookups_since(session, start)
    assert len(found) == 250
    for row, record in zip(found, records, strict=True):
        assert row.at == record[0]
        assert row.at.tzinfo is not None
        assert (
            row.operator_id,
            row.environment,
            row.iccid,
            row.ms_transaction_id,
            row.outcome,
            row.status_code,
            row.latency_ms,
        ) == record[1:]
