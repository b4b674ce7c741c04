"""What the operations commands share (``maintenance``, ``bugs``, ``credentials``): the
database session, the party the CLI acts as, errors, time parsing (issue #5)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import orjson
import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.cli.runtime import cli_actor, load_settings, run_in_transaction
from mobileplans.config import Settings
from mobileplans.domains.access.service import Party

T = TypeVar("T")
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="MP_DATA_DIR", help="Data directory (SQLite database)"),
]
AsOperator = Annotated[
    str | None,
    typer.Option(
        "--as-operator",
        help="Act as this operator's side (what its API credentials may do) instead of the "
        "platform's",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def console() -> Console:
    """Standard output, made at print time so the width follows the terminal (or
    ``COLUMNS`` when the output is not a terminal)."""
    return Console()


def party(as_operator: str | None) -> Party:
    """The platform (actor ``cli:<user>``), or one operator with ``--as-operator``."""
    if as_operator is None:
        return Party("platform", None, cli_actor())
    return Party("operator", as_operator, f"{as_operator}:{cli_actor()}")


def run(data_dir: Path | None, action: Callable[[AsyncSession, Settings], Awaitable[T]]) -> T:
    """Run ``action(session, settings)`` in one transaction on the existing database
    (:func:`mobileplans.cli.runtime.run_in_transaction`: errors are one line, exit 1)."""
    settings = load_settings(data_dir)
    return run_in_transaction(settings, lambda session: action(session, settings))


def instant(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 instant with an offset (``2026-11-09T09:00:00Z``)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not ISO 8601", param_hint=option) from exc
    if parsed.tzinfo is None:
        raise typer.BadParameter("needs an offset, e.g. Z or +05:30", param_hint=option)
    return parsed


def when(value: datetime | None) -> str:
    """A UTC time for tables (the column header says UTC)."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def print_json(value: object) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())
