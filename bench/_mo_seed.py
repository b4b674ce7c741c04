"""Seed N active lines with a prepaid balance each, through the subscriber services.

Either into a data directory that has been through ``mobileplans up`` once (registry
and plans), or (``--database URL``) into a fresh database: migrated (PostgreSQL: its
``public`` schema recreated first), Contoso's demo plans, then the lines.
ICCIDs are Luhn-valid, inside Contoso's production range (``8901999 0888 nnnnnnn``),
away from the SM-DP+ inventory (bottom of the range) and the demo SIMs (top)::

    python -m bench._mo_seed --data-dir DIR --count 1000 --out iccids.txt
    python -m bench._mo_seed --database URL --count 1000 --out iccids.txt
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.cli.runtime import database, load_settings
from mobileplans.db import migrate
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.subscriber import balances as balance_service
from mobileplans.domains.subscriber import service as subscriber_service
from mobileplans.domains.subscriber.schemas import LineStatus, SimKind
from mobileplans.kit.clock import SystemClock
from mobileplans.kit.identifiers import iccid_check_digit

OPERATOR = "contoso"
BODY_PREFIX = "89019990888"
BATCH = 250


def bench_iccids(count: int) -> list[str]:
    bodies = [f"{BODY_PREFIX}{n:07d}" for n in range(count)]
    return [body + iccid_check_digit(body) for body in bodies]


async def seed(data_dir: Path, count: int) -> list[str]:
    async with database(load_settings(data_dir), process_name="cli") as sessions:
        return await seed_lines(sessions, count)


async def seed_database(url: str, count: int) -> list[str]:
    """A fresh database at ``url`` with Contoso's plans and ``count`` lines."""
    from mobileplans.cli.demo_operator import ensure_operator_demo

    engine = make_engine(url, process_name="bench-seed")
    try:
        if not url.startswith("sqlite"):
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        await ensure_operator_demo(sessions, [OPERATOR], SystemClock().now())
        iccids = await seed_lines(sessions, count)
        if not url.startswith("sqlite"):
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("ANALYZE"))
        return iccids
    finally:
        await engine.dispose()


async def seed_lines(sessions: async_sessionmaker[AsyncSession], count: int) -> list[str]:
    iccids = bench_iccids(count)
    now = SystemClock().now()
    async with session_scope(sessions) as session:
        plans = await subscriber_service.list_plans(session, OPERATOR)
    prepaid = next(p for p in plans if p.kind == "prepaid" and p.download_delay_minutes == 0)
    for start in range(0, count, BATCH):
        async with session_scope(sessions) as session:
            for iccid in iccids[start : start + BATCH]:
                if await subscriber_service.find_line(session, OPERATOR, iccid) is not None:
                    continue
                await subscriber_service.create_line(
                    session,
                    OPERATOR,
                    iccid=iccid,
                    sim_kind=SimKind.ESIM,
                    status=LineStatus.ACTIVE,
                    now=now,
                )
                await balance_service.credit(session, iccid, prepaid, now=now)
    return iccids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--database", help="a fresh database URL instead of --data-dir")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.database:
        iccids = asyncio.run(seed_database(args.database, args.count))
    elif args.data_dir:
        iccids = asyncio.run(seed(args.data_dir, args.count))
    else:
        parser.error("give --data-dir or --database")
    args.out.write_text("\n".join(iccids) + "\n")


if __name__ == "__main__":
    main()
