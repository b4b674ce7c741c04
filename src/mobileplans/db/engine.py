"""Engine construction for the embedded SQLite default and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from mobileplans.db.sqlite_loop import Checkpointer, on_loop_url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_loop_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """The same, with no busy timeout: the on-loop driver awaits lock waits itself."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(
    url: str,
    *,
    process_name: str = "mobileplans",
    echo: bool = False,
    sqlite_on_loop: bool = False,
) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL and foreign keys, PostgreSQL an application name.

    ``sqlite_on_loop``: SQLite through :mod:`mobileplans.db.sqlite_loop` (statements on the
    event loop, lock waits awaited) instead of aiosqlite's thread; for processes that serve
    requests. PostgreSQL ignores it.
    """
    if is_sqlite(url):
        if sqlite_on_loop:
            engine = create_async_engine(on_loop_url(url), echo=echo)
            event.listen(engine.sync_engine, "connect", _sqlite_loop_pragmas)
            database = engine.url.database or ""
            if database not in ("", ":memory:") and not database.startswith("file:"):
                checkpointer = Checkpointer(database)
                event.listen(engine.sync_engine, "engine_disposed", lambda _e: checkpointer.stop())
            return engine
        engine = create_async_engine(url, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": process_name}},
    )
