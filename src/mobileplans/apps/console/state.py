"""What the console's requests share: settings, sessions, the clock, secrets, templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.console.ratelimit import SignInLimiter
from mobileplans.config import Settings
from mobileplans.kit.clock import Clock

HERE = Path(__file__).parent


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.filters["pct"] = lambda v, digits=3: "—" if v is None else f"{v:.{digits}f} %"
    env.filters["ms"] = lambda v: "—" if v is None else f"{v:.0f} ms"
    env.filters["when"] = lambda v: "—" if v is None else f"{v:%Y-%m-%d %H:%M} UTC"
    return templates


@dataclass
class ConsoleState:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    admin_token: str
    session_secret: str
    secure_cookies: bool = False
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    templates: Jinja2Templates = field(default_factory=make_templates)


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state
