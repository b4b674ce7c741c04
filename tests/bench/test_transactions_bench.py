"""``bench/transactions.py``: every layer runs every shape of transaction against a real
database (a tiny run on SQLite, and on PostgreSQL in that pass), each figure is a CPU
time per transaction, and the update really commits through each layer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from bench import transactions
from mobileplans.db.engine import make_engine
from tests.support import pg_url


def urls(tmp_path: Path) -> list[str]:
    return [f"sqlite+aiosqlite:///{tmp_path}/tx.db", *filter(None, [pg_url()])]


@pytest.mark.parametrize("which", [0, 1])
def test_every_layer_runs_every_shape(tmp_path: Path, which: int) -> None:
    every = urls(tmp_path)
    if which >= len(every):
        pytest.skip("PostgreSQL pass only (MP_TEST_DATABASE_URL)")
    url = every[which]
    results = asyncio.run(transactions.run(url, count=20, rounds=2))
    assert set(results) == {"session", "connection", "session+driver", "driver_tx", "driver"}
    for shapes in results.values():
        assert set(shapes) == set(transactions.SHAPES)
        assert all(0 < figure < 1_000_000 for figure in shapes.values())
    assert not asyncio.run(table_left(url))  # the bench's table goes with the run


async def table_left(url: str) -> bool:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return bool(
                await connection.run_sync(lambda c: inspect(c).has_table("bench_transactions"))
            )
    finally:
        await engine.dispose()


def test_each_layer_commits_its_update(tmp_path: Path) -> None:
    """Through each layer alone, the update shape leaves the row written."""

    async def check() -> list[str]:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/one.db", sqlite_on_loop=True)
        values = []
        try:
            layers = [transactions.session_layer(engine), transactions.connection_layer(engine)]
            layers.append(transactions.session_driver_layer(engine, sqlite=True))
            layers.append(transactions.driver_tx_layer(engine))
            layers.append(transactions.sqlite_driver_layer(engine.url.database or ""))
            for layer in layers:
                await transactions.prepare(engine)
                await layer["1 update"]()
                async with engine.connect() as connection:
                    row = await connection.execute(select(transactions.rows.c.value))
                    values.append(str(row.scalar_one()))
        finally:
            await engine.dispose()
        return values

    assert asyncio.run(check()) == ["written"] * 5


def test_the_table_gives_each_layer_as_a_share_of_the_session(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = {"empty": 50.0, "1 select": 100.0, "3 selects": 200.0, "1 update": 100.0}
    half = {shape: value / 2 for shape, value in figures.items()}
    transactions.console.print(transactions.table("t", {"session": figures, "driver": half}))
    out = capsys.readouterr().out
    assert "100.0 (100%)" in out
    assert "50.0 (50%)" in out


@pytest.mark.parametrize("argv", [["--count", "0"], ["--rounds", "0"]])
def test_a_count_below_one_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        transactions.main(argv)
    assert exited.value.code == 2
