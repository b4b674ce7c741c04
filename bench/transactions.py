"""What a short transaction costs through each layer (issue #8: "a transaction object
lighter than ``AsyncSession``").

One process, uvloop, one small table. For each *layer* and each *shape* of
transaction, ``--count`` transactions one after the other; prints the CPU µs per
transaction (this process's user + system time) and each layer's figure as a share of
today's, the ``session`` layer, measured in the same run.

Layers:
- ``session``: today's path, ``db.session.session_scope`` (an ``AsyncSession``: commit
  on success, rollback on error), Core statements through ``session.execute``
- ``connection``: ``AsyncEngine.begin()`` (an ``AsyncConnection``, no unit of work, no
  identity map), the same Core statements
- ``session+driver``: a ``session_scope`` whose statements go to the driver connection
  under the session's transaction (``get_raw_connection().driver_connection``): what the
  session's transaction costs once its statements skip SQLAlchemy's execution
- ``driver_tx``: ``db.driver_tx.DriverTransactions`` (D295), what the SM-DP+ runs: a
  connection from the engine's pool per transaction, the same Core statements compiled
  once and run on the driver, commit on the driver, the connection back to the pool
- ``driver``: the driver alone with the same SQL: stdlib ``sqlite3`` on the event loop
  for SQLite, an asyncpg connection with prepared statements for PostgreSQL

Shapes: ``empty`` (begin and commit, no statement), ``1 select``, ``3 selects`` (a
primary-key read each), ``1 update``.

    .venv/bin/python -m bench.transactions [--count 3000] [--postgres URL]

With ``--postgres`` the table ``bench_transactions`` is created in that database for the
run (dropped first if it exists) and dropped after it.
"""

from __future__ import annotations

import argparse
import functools
import resource
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import uvloop
from rich.console import Console
from rich.table import Table
from sqlalchemy import Column, Integer, MetaData, String, bindparam, select, update
from sqlalchemy import Table as SqlTable
from sqlalchemy.ext.asyncio import AsyncEngine

from mobileplans.db.driver_tx import DriverTransactions
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker, session_scope

SHAPES: dict[str, tuple[int, bool]] = {  # shape: (primary-key reads, one update)
    "empty": (0, False),
    "1 select": (1, False),
    "3 selects": (3, False),
    "1 update": (0, True),
}
Transaction = Callable[[], Awaitable[None]]
console = Console(width=None if sys.stdout.isatty() else 120)

metadata = MetaData()
rows = SqlTable(
    "bench_transactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", String(40), nullable=False),
)
READ = select(rows.c.value).where(rows.c.id == 1)
WRITE = update(rows).where(rows.c.id == 1).values(value="written")
WRITE_BOUND = update(rows).where(rows.c.id == bindparam("the_id")).values(value=bindparam("value"))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def session_layer(engine: AsyncEngine) -> dict[str, Transaction]:
    factory = make_sessionmaker(engine)

    async def run(reads: int, write: bool) -> None:
        async with session_scope(factory) as session:
            for _ in range(reads):
                (await session.execute(READ)).scalar_one()
            if write:
                await session.execute(WRITE)

    return shaped(run)


def connection_layer(engine: AsyncEngine) -> dict[str, Transaction]:
    async def run(reads: int, write: bool) -> None:
        async with engine.begin() as connection:
            for _ in range(reads):
                (await connection.execute(READ)).scalar_one()
            if write:
                await connection.execute(WRITE)

    return shaped(run)


def session_driver_layer(engine: AsyncEngine, sqlite: bool) -> dict[str, Transaction]:
    factory = make_sessionmaker(engine)
    read, write = _driver_sql(sqlite)

    async def run(reads: int, write_one: bool) -> None:
        async with session_scope(factory) as session:
            connection = await session.connection()
            driver: Any = (await connection.get_raw_connection()).driver_connection
            for _ in range(reads):
                if sqlite:
                    await driver.statement(read, (1,), False)
                else:
                    await driver.fetchval(read, 1)
            if write_one:
                if sqlite:
                    await driver.statement(write, ("written", 1), False)
                else:
                    await driver.execute(write, "written", 1)

    return shaped(run)


def _driver_sql(sqlite: bool) -> tuple[str, str]:
    if sqlite:
        return (
            "SELECT value FROM bench_transactions WHERE id = ?",
            "UPDATE bench_transactions SET value = ? WHERE id = ?",
        )
    return (
        "SELECT value FROM bench_transactions WHERE id = $1",
        "UPDATE bench_transactions SET value = $1 WHERE id = $2",
    )


def sqlite_driver_layer(path: str) -> dict[str, Transaction]:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    read, write = _driver_sql(sqlite=True)

    async def run(reads: int, write_one: bool) -> None:
        connection.execute("BEGIN")
        try:
            for _ in range(reads):
                connection.execute(read, (1,)).fetchone()
            if write_one:
                connection.execute(write, ("written", 1))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    return shaped(run)


async def asyncpg_driver_layer(dsn: str) -> tuple[dict[str, Transaction], Any]:
    connection = await asyncpg.connect(dsn)
    read_sql, write_sql = _driver_sql(sqlite=False)
    read, write = await connection.prepare(read_sql), await connection.prepare(write_sql)

    async def run(reads: int, write_one: bool) -> None:
        async with connection.transaction():
            for _ in range(reads):
                await read.fetchval(1)
            if write_one:
                await write.fetch("written", 1)

    return shaped(run), connection


def driver_tx_layer(engine: AsyncEngine) -> dict[str, Transaction]:
    steps = DriverTransactions(engine)
    read, write = select(rows.c.value).where(rows.c.id == bindparam("the_id")), WRITE_BOUND

    async def run(reads: int, write_one: bool) -> None:
        async with steps.step() as tx:
            for _ in range(reads):
                (await tx.rows(read, {"the_id": 1}))[0]
            if write_one:
                await tx.change(write, {"the_id": 1, "value": "written"})

    return shaped(run)


def shaped(run: Callable[[int, bool], Awaitable[None]]) -> dict[str, Transaction]:
    """One transaction per shape: ``run`` with that shape's reads and update."""
    return {shape: functools.partial(run, *arguments) for shape, arguments in SHAPES.items()}


async def measure(transaction: Transaction, count: int) -> float:
    """CPU µs per transaction, after a warm-up of a tenth of ``count``."""
    for _ in range(max(count // 10, 50)):
        await transaction()
    start = cpu_seconds()
    for _ in range(count):
        await transaction()
    return 1e6 * (cpu_seconds() - start) / count


async def prepare(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
        await connection.execute(rows.insert().values(id=1, value="seeded"))


async def run(url: str, count: int, rounds: int) -> dict[str, dict[str, float]]:
    """{layer: {shape: best CPU µs over ``rounds``}}: rounds alternate the layers so a
    change in the machine's speed falls on all of them."""
    engine = make_engine(url, sqlite_on_loop=True)
    await prepare(engine)
    sqlite = url.startswith("sqlite")
    layers = {"session": session_layer(engine), "connection": connection_layer(engine)}
    layers["session+driver"] = session_driver_layer(engine, sqlite)
    layers["driver_tx"] = driver_tx_layer(engine)
    closer: Any = None
    if sqlite:
        layers["driver"] = sqlite_driver_layer(engine.url.database or "")
    else:
        dsn = url.replace("postgresql+asyncpg", "postgresql", 1)
        layers["driver"], closer = await asyncpg_driver_layer(dsn)
    results: dict[str, dict[str, float]] = {name: {} for name in layers}
    try:
        for _ in range(rounds):
            for name, shapes in layers.items():
                for shape, transaction in shapes.items():
                    figure = await measure(transaction, count)
                    best = results[name].get(shape, figure)
                    results[name][shape] = min(best, figure)
    finally:
        if closer is not None:
            await closer.close()
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
        await engine.dispose()
    return results


def table(title: str, results: dict[str, dict[str, float]]) -> Table:
    out = Table(title=title)
    out.add_column("layer")
    for shape in SHAPES:
        out.add_column(f"{shape} µs", justify="right")
    base = results["session"]
    for layer, shapes in results.items():
        cells = [f"{shapes[s]:.1f} ({shapes[s] / base[s]:.0%})" for s in SHAPES]
        out.add_row(layer, *cells)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--count", type=int, default=3000, help="transactions per figure")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best kept)")
    parser.add_argument("--postgres", help="also on this PostgreSQL database (asyncpg URL)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.rounds < 1:
        parser.error("--count and --rounds must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/transactions.db"
        results = uvloop.run(run(url, args.count, args.rounds))
        console.print(table("SQLite (WAL, on-loop driver): CPU per transaction", results))
    if args.postgres:
        results = uvloop.run(run(args.postgres, args.count, args.rounds))
        console.print(table("PostgreSQL (asyncpg): CPU per transaction", results))
    console.print("(in brackets: the share of the session layer's figure, same run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
