"""Launch records written in batches straight to the driver read back exactly as the ORM
wrote them before: same timestamps (UTC), JSON lists, and the retention purge still
compares timestamps correctly (on SQLite they are text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import PortalLaunch
from mobileplans.db.session import session_scope
from mobileplans.domains.catalog import service
from mobileplans.domains.catalog.launch_log import LaunchRow

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC)


def row(transaction_id: str, created_at: datetime, iccids: list[str]) -> LaunchRow:
    return {
        "transaction_id": transaction_id,
        "created_at": created_at,
        "operator_id": "contoso",
        "environment": "production",
        "location": "US",
        "market": "GB",
        "imei": "001102000315468",
        "eid": None,
        "iccid": None,
        "iccids": iccids,
        "portal_url": f"https://portal.contoso.example/?transactionId={transaction_id}",
    }


async def test_a_batch_reads_back_like_orm_rows_and_the_purge_still_works(
    sessions: Sessions,
) -> None:
    paris = timezone(timedelta(hours=1))
    batch = [
        row("old.1", NOW - timedelta(days=91), []),
        row("edge.1", (NOW - timedelta(days=90, seconds=-1)).astimezone(paris), ["8901"]),
        row("new.1", NOW, ["89019991000000000011", "89019991000000000029"]),
    ]
    async with session_scope(sessions) as session:
        await service.save_launches(session, batch)
    async with session_scope(sessions) as session:
        got = {r.transaction_id: r for r in (await session.scalars(select(PortalLaunch))).all()}
        assert await service.launch_operator(session, "new.1") == "contoso"
        assert await service.launch_operator(session, "other.1") is None
    assert got["new.1"].created_at == NOW
    assert got["new.1"].created_at.tzinfo is not None
    assert got["edge.1"].created_at == batch[1]["created_at"]
    assert got["new.1"].iccids == ["89019991000000000011", "89019991000000000029"]
    assert got["old.1"].iccids == []
    assert (got["new.1"].market, got["new.1"].imei, got["new.1"].eid) == (
        "GB",
        "001102000315468",
        None,
    )
    async with session_scope(sessions) as session:
        assert await service.purge_launches(session, now=NOW, retention_days=90) == 1
    async with session_scope(sessions) as session:
        left = set((await session.scalars(select(PortalLaunch.transaction_id))).all())
    assert left == {"edge.1", "new.1"}
