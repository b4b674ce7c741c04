"""``mobileplans serve console`` builds the console with a session secret kept in the data
directory (mode 0600), the same one on every start."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp

from mobileplans.cli.serve_cmd import CONSOLE_SECRET, SERVED_PARTS, build_app
from mobileplans.config import Settings


async def test_serve_builds_the_console_with_a_kept_secret(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    assert "console" in SERVED_PARTS
    settings = Settings(data_dir=tmp_path / "data")

    def build() -> ASGIApp:
        return build_app(
            "console",
            settings,
            sessions,
            token="t",
            config=None,
            smdp_address="127.0.0.1:8702",
            public_url="http://127.0.0.1:8702",
        )

    app = build()
    secret_file = settings.data_dir / CONSOLE_SECRET
    secret = secret_file.read_text()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    build()
    assert secret_file.read_text() == secret  # kept: sessions survive a restart
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        page = await client.get("/signin")
    assert page.status_code == 200
    assert "Sign in" in page.text
