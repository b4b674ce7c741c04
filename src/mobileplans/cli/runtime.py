"""What every command needs: settings, a migrated database, the admin token."""

from __future__ import annotations

import getpass
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.config import Settings
from mobileplans.db import migrate
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker
from mobileplans.kit.ids import new_token


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


@asynccontextmanager
async def database(
    settings: Settings, *, process_name: str, upgrade: bool = True
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """An engine for the configured database, migrated to the newest revision first."""
    engine = make_engine(settings.resolved_database_url(), process_name=process_name)
    try:
        if upgrade:
            await migrate.upgrade(engine)
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def ensure_admin_token(settings: Settings) -> tuple[str, bool]:
    """``MP_ADMIN_TOKEN``, else the token stored in the data directory, else a new one.

    Returns the token and whether it was generated now.
    """
    if settings.admin_token:
        return settings.admin_token, False
    path = settings.data_dir / "admin_token"
    if path.exists():
        return path.read_text().strip(), False
    token = new_token()
    path.write_text(token + "\n")
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return token, True


def ensure_secret(settings: Settings, name: str) -> str:
    """A random secret kept in the data directory (mode 0600), made on first use."""
    path = settings.data_dir / name
    if path.exists():
        return path.read_text().strip()
    secret = new_token()
    path.write_text(secret + "\n")
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return secret


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
