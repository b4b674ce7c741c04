"""The ORM path on SQLite through each driver: what one statement costs (decision D131).

Every app's code reaches SQLite through an ``AsyncSession``. This measures, in one
process and one run, the CPU per operation of that path on

- ``aiosqlite``: SQLAlchemy's aiosqlite dialect (a thread hand-off per driver call),
- ``mploop``: ``mobileplans.db.sqlite_loop`` (the stdlib driver on the event loop, one
  call per statement, lock waits awaited),

against two baselines from the same run: the synchronous ORM on the stdlib driver (the
ORM's own cost, no async bridge) and the raw ``sqlite3`` statement (the database's cost).

Operations: a primary-key ``get`` (identity map cleared each time), an indexed ``select``
of a few rows, an ``insert`` + ``flush``, and a short transaction (select, insert,
commit). CPU is this process's user + system time (threads included), per operation.

    .venv/bin/python -m bench.sqlite_driver [--count 3000] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import ForeignKey, Integer, String, create_engine, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from mobileplans.db.engine import make_engine


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(100), index=True)


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    what: Mapped[str] = mapped_column(String(40))


def _seed(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA journal_mode=WAL"))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(Account(id=i, email=f"u{i}@example.test") for i in range(1000))
        session.add_all(Event(account_id=i % 1000, what="seen") for i in range(5000))
        session.commit()
    engine.dispose()


def _cpu() -> float:
    return time.process_time()


async def _async_ops(url: str, on_loop: bool, count: int) -> dict[str, float]:
    engine = make_engine(url, sqlite_on_loop=on_loop)
    figures: dict[str, float] = {}

    async def measure(name: str, op: Callable[[AsyncSession, int], Awaitable[None]]) -> None:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            await op(session, 0)
            started = _cpu()
            for i in range(count):
                await op(session, i)
            figures[name] = (_cpu() - started) / count * 1e6
            await session.rollback()

    async def get(session: AsyncSession, i: int) -> None:
        session.expunge_all()
        await session.get(Account, i % 1000)

    async def indexed(session: AsyncSession, i: int) -> None:
        await session.scalars(select(Event).where(Event.account_id == i % 1000))

    async def insert(session: AsyncSession, i: int) -> None:
        session.add(Event(account_id=i % 1000, what="bench"))
        await session.flush()

    async def transaction(session: AsyncSession, i: int) -> None:
        await session.get(Account, i % 1000)
        session.add(Event(account_id=i % 1000, what="tx"))
        await session.commit()

    for name, op in (("get", get), ("indexed select", indexed), ("insert+flush", insert)):
        await measure(name, op)
    await measure("transaction", transaction)
    await engine.dispose()
    return figures


def _sync_orm(path: Path, count: int) -> dict[str, float]:
    engine = create_engine(f"sqlite:///{path}")
    figures: dict[str, float] = {}
    with Session(engine, expire_on_commit=False) as session:
        started = _cpu()
        for i in range(count):
            session.expunge_all()
            session.get(Account, i % 1000)
        figures["get"] = (_cpu() - started) / count * 1e6
        started = _cpu()
        for i in range(count):
            session.scalars(select(Event).where(Event.account_id == i % 1000)).all()
        figures["indexed select"] = (_cpu() - started) / count * 1e6
        session.rollback()
    engine.dispose()
    return figures


def _raw(path: Path, count: int) -> dict[str, float]:
    connection = sqlite3.connect(path)
    started = _cpu()
    for i in range(count):
        connection.execute("SELECT id, email FROM accounts WHERE id = ?", (i % 1000,)).fetchone()
    get = (_cpu() - started) / count * 1e6
    started = _cpu()
    for i in range(count):
        connection.execute(
            "SELECT id, account_id, what FROM events WHERE account_id = ?", (i % 1000,)
        ).fetchall()
    indexed = (_cpu() - started) / count * 1e6
    connection.close()
    return {"get": get, "indexed select": indexed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        _seed(path)
        url = f"sqlite+aiosqlite:///{path}"
        results = {
            "raw sqlite3": _raw(path, args.count),
            "sync ORM": _sync_orm(path, args.count),
            "aiosqlite": asyncio.run(_async_ops(url, False, args.count)),
            "mploop": asyncio.run(_async_ops(url, True, args.count)),
        }
    operations = ["get", "indexed select", "insert+flush", "transaction"]
    print(f"CPU µs per operation ({args.count} each)")
    print(f"{'path':<12}" + "".join(f"{op:>16}" for op in operations))
    for name, figures in results.items():
        cells = "".join(
            f"{figures[op]:>16.0f}" if op in figures else f"{'-':>16}" for op in operations
        )
        print(f"{name:<12}{cells}")
    ratios = {op: results["aiosqlite"][op] / results["mploop"][op] for op in operations}
    print("aiosqlite / mploop: " + ", ".join(f"{op} {r:.2f}x" for op, r in ratios.items()))
    if args.json:
        args.json.write_text(json.dumps({"count": args.count, "results": results}, indent=2))


if __name__ == "__main__":
    main()
