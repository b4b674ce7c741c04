"""What every command needs: settings, the database, the admin token, one transaction runner.

Only ``up``, ``serve`` and ``db upgrade`` create or migrate a database
(``database(..., upgrade=True)``); every other command opens the existing one and stops
with a one-line error naming where it looked when there is none, or when it is not at the
newest revision (:class:`DatabaseNotReady`).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mobileplans.config import Settings, UrlPolicy
from mobileplans.db import migrate
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.errors import AppError
from mobileplans.kit.ids import new_token

T = TypeVar("T")
URL_POLICY_FILE = "url_policy"
"""The URL policy of a data directory (``up`` writes ``local``); ``MP_URL_POLICY`` wins."""
POINT_AT_IT = (
    "point at yours with --data-dir DIR or `export MP_DATA_DIR=DIR` (the line `mobileplans up` "
    "prints), or MP_DATABASE_URL for PostgreSQL"
)


class DatabaseNotReady(Exception):
    """No database where the settings point, or one that is not at the newest revision."""


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    """``MP_*`` settings plus the command's options; creates nothing.

    The URL policy kept in the data directory applies unless ``MP_URL_POLICY`` is set.
    """
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    settings = Settings(**values)  # type: ignore[arg-type]
    kept = settings.data_dir / URL_POLICY_FILE
    if "url_policy" not in settings.model_fields_set and kept.is_file():
        try:
            policy = UrlPolicy(kept.read_text(encoding="utf-8").strip())
        except ValueError:
            return settings
        settings = settings.model_copy(update={"url_policy": policy})
    return settings


def keep_url_policy(settings: Settings, policy: UrlPolicy) -> None:
    """Remember ``policy`` in the data directory for the commands run on it later."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / URL_POLICY_FILE).write_text(policy.value + "\n", encoding="utf-8")


def database_location(settings: Settings) -> str:
    """Where the settings point, for messages (a password in the URL is hidden)."""
    if settings.database_url:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        return f"MP_DATABASE_URL={shown}"
    return f"data directory {settings.data_dir.resolve()}"


def _sqlite_file(settings: Settings) -> Path | None:
    url = make_url(settings.resolved_database_url())
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


async def _require_head(engine: AsyncEngine, settings: Settings) -> None:
    where = database_location(settings)
    try:
        revision = await migrate.current_revision(engine)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseNotReady(f"cannot open the database of {where}: {first}") from exc
    head = migrate.head_revision()
    if revision is None:
        raise DatabaseNotReady(
            f"the database of {where} holds no mobileplans tables: run `mobileplans db upgrade` "
            "to create them, or " + POINT_AT_IT
        )
    if revision != head:
        raise DatabaseNotReady(
            f"the database of {where} is at revision {revision}, this mobileplans needs {head}: "
            "run `mobileplans db upgrade`"
        )


@asynccontextmanager
async def open_engine(
    settings: Settings,
    *,
    process_name: str,
    upgrade: bool,
    require_head: bool = True,
    serving: bool = False,
) -> AsyncIterator[AsyncEngine]:
    """An engine for the configured database.

    ``upgrade=True`` (``up``, ``serve``, ``db upgrade``): create the data directory and
    migrate to the newest revision. ``upgrade=False`` (every other command): the database
    must exist (and be at the newest revision unless ``require_head=False``), else
    :class:`DatabaseNotReady`.
    """
    sqlite_file = _sqlite_file(settings)
    if upgrade and sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    if not upgrade and sqlite_file is not None and not sqlite_file.is_file():
        raise DatabaseNotReady(
            f"no mobileplans database in the {database_location(settings)} "
            f"(looked for {sqlite_file}): " + POINT_AT_IT
        )
    engine = make_engine(
        settings.resolved_database_url(), process_name=process_name, sqlite_on_loop=serving
    )
    try:
        if upgrade:
            await migrate.upgrade(engine)
        elif require_head:
            await _require_head(engine, settings)
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def database(
    settings: Settings, *, process_name: str, upgrade: bool = True, serving: bool = False
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the configured database (see :func:`open_engine`). ``serving``: for
    processes that answer requests; on SQLite their statements run on the event loop
    (``db.sqlite_loop``), elsewhere (worker, CLI) on aiosqlite's thread."""
    async with open_engine(
        settings, process_name=process_name, upgrade=upgrade, serving=serving
    ) as engine:
        yield make_sessionmaker(engine)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on standard error; the exit (status 1) to raise."""
    typer.secho(" ".join(message.split()), err=True, fg=typer.colors.RED)
    return typer.Exit(1)


def run_with_database(
    settings: Settings, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    """Run ``work(sessions)`` on the existing database (for commands with several
    transactions). A missing database, an AppError or invalid input prints one line and
    exits with status 1."""

    async def go() -> T:
        async with database(settings, process_name="cli", upgrade=False) as sessions:
            return await work(sessions)

    try:
        return asyncio.run(go())
    except (DatabaseNotReady, AppError, ValidationError) as exc:
        raise fail(_message(exc)) from exc


def run_in_transaction(settings: Settings, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``action(session)`` in one transaction on the existing database (see
    :func:`run_with_database` for errors): the CLI's transaction runner."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> T:
        async with session_scope(sessions) as session:
            return await action(session)

    return run_with_database(settings, work)


def run(data_dir: Path | None, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """:func:`run_in_transaction` with the settings of ``--data-dir`` and ``MP_*``."""
    return run_in_transaction(load_settings(data_dir), action)


OPTION_OF_FIELD = {
    "operatorId": "--operator",
    "from": "--from",
    "to": "--to",
    "intervalSeconds": "--interval",  # probes add/set
    "timeoutSeconds": "--timeout",
    "latencyTargetMs": "--latency-target",
}
"""API field names whose CLI option is not ``--`` plus the field in kebab case."""
_CAMEL = re.compile(r"\b[a-z]+(?:[A-Z][a-z0-9]*)+\b")


def option_of(field: str) -> str:
    """The CLI option of an API field: ``startsAt`` → ``--starts-at``."""
    if field in OPTION_OF_FIELD:
        return OPTION_OF_FIELD[field]
    return "--" + re.sub(r"(?<!^)([A-Z])", r"-\1", field).lower().replace("_", "-")


def _in_cli_words(text: str) -> str:
    """API field names in a message (``endsAt must be after startsAt``) as CLI options."""
    return _CAMEL.sub(lambda m: option_of(m.group(0)), text)


def _message(exc: Exception) -> str:
    """One line naming the CLI option at fault, with the valid values when there are some."""
    if isinstance(exc, AppError):
        field = exc.extra.get("field")
        detail = str(exc.detail)
        if isinstance(field, str) and _CAMEL.fullmatch(field) and field in detail:
            return _in_cli_words(detail)
        return f"{option_of(field)}: {detail}" if isinstance(field, str) else detail
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        text = _in_cli_words(str(first["msg"]).removeprefix("Value error, "))
        location = [str(part) for part in first["loc"] if isinstance(part, str)]
        return f"{option_of(location[0])}: {text}" if location else text
    return str(exc)


def ensure_admin_token(settings: Settings) -> tuple[str, bool]:
    """``MP_ADMIN_TOKEN``, else the token stored in the data directory, else a new one.

    Returns the token and whether it was generated now.
    """
    if settings.admin_token:
        return settings.admin_token, False
    return _kept_secret(settings, "admin_token")


def ensure_secret(settings: Settings, name: str) -> str:
    """A random secret kept in the data directory (mode 0600), made on first use."""
    return _kept_secret(settings, name)[0]


def _kept_secret(settings: Settings, name: str) -> tuple[str, bool]:
    path = settings.data_dir / name
    if path.exists():
        return path.read_text().strip(), False
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = new_token()
    write_private(path, secret + "\n")
    return secret, True


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 0600 from the start)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
