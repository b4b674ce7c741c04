"""Helpers of the ``db`` tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from mobileplans.db.engine import make_engine


@asynccontextmanager
async def serving_engine(
    database_url: str, metadata: MetaData, process_name: str
) -> AsyncIterator[AsyncEngine]:
    """The engine a serving process makes (on SQLite: the on-loop driver), with the
    tables of ``metadata`` created fresh, dropped and the engine disposed afterwards."""
    engine = make_engine(database_url, process_name=process_name, sqlite_on_loop=True)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
        await engine.dispose()
