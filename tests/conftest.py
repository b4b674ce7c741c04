"""Shared fixtures: a migrated database per test (SQLite or PostgreSQL), clocks, the broker.

``MP_TEST_DATABASE_URL`` selects PostgreSQL (``postgresql+asyncpg://...``); without it
each test gets its own SQLite file copied from a template migrated once per run.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mobileplans.config import Settings, UrlPolicy
from mobileplans.db import migrate
from mobileplans.db.base import Base
from mobileplans.db.engine import is_sqlite, make_engine
from mobileplans.db.session import make_sessionmaker
from mobileplans.kit.clock import FrozenClock
from tests.support import pg_url

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
async def template_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """Migrate once per run: a SQLite template file, or the PostgreSQL database itself."""
    url = pg_url()
    if url is None:
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite+aiosqlite:///{path}"
    engine = make_engine(url, process_name="tests")
    if not is_sqlite(url):
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await migrate.upgrade(engine)
    await engine.dispose()
    return url


async def _truncate_all(engine: AsyncEngine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def database_url(template_database: str, tmp_path: Path) -> AsyncIterator[str]:
    if is_sqlite(template_database):
        source = Path(template_database.removeprefix("sqlite+aiosqlite:///"))
        target = tmp_path / "mobileplans.db"
        shutil.copyfile(source, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    yield template_database
    engine = make_engine(template_database, process_name="tests-cleanup")
    await _truncate_all(engine)
    await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, process_name="tests")
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        url_policy=UrlPolicy.STRICT,
        config_poll_seconds=0.05,
    )


@pytest.fixture
def env_for_cli(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point CLI commands at this test's database."""
    data_dir = tmp_path / "cli-data"
    monkeypatch.setenv("MP_DATABASE_URL", database_url)
    monkeypatch.setenv("MP_DATA_DIR", str(data_dir))
    return data_dir
