"""``mobileplans config``: the whole configuration as one YAML file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mobileplans.cli.runtime import cli_actor, database, load_settings
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.yaml_io import (
    ConfigFileError,
    dump_document,
    load_document,
)
from mobileplans.errors import Conflict
from mobileplans.kit.clock import SystemClock

app = typer.Typer(help="Import or export the operator configuration as YAML.", no_args_is_help=True)
console = Console(stderr=True)
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MP_DATA_DIR", help="Data directory")
]


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


@app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="YAML file"),
    ],
    data_dir: DataDir = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate and show what would change; write nothing"),
    ] = False,
) -> None:
    """Make the stored configuration equal FILE. Operators absent from FILE are deleted.

    The file is validated whole first (line-precise errors); an invalid file changes nothing.
    """
    settings = load_settings(data_dir)
    try:
        document = load_document(file.read_text(encoding="utf-8"), url_policy=settings.url_policy)
    except ConfigFileError as exc:
        for problem in exc.problems:
            console.print(
                f"[red]{file}:{problem.line or '?'}[/red] {problem.path} {problem.message}".replace(
                    "  ", " "
                )
            )
        raise typer.Exit(1) from exc

    async def go() -> None:
        async with database(settings, process_name="cli") as sessions:
            try:
                async with session_scope(sessions) as session:
                    summary = await registry_service.import_document(
                        session, document, actor=cli_actor(), now=SystemClock().now()
                    )
                    console.print_json(summary.model_dump_json(by_alias=True))
                    if dry_run:
                        raise _DryRun
            except _DryRun:
                console.print("[yellow]dry run: nothing written[/yellow]")

    try:
        asyncio.run(go())
    except Conflict as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc


@app.command()
def export(
    file: Annotated[
        Path | None, typer.Argument(help="Write here; standard output if omitted")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the whole stored configuration as YAML."""
    settings = load_settings(data_dir)

    async def go() -> str:
        async with (
            database(settings, process_name="cli") as sessions,
            session_scope(sessions) as session,
        ):
            return dump_document(await registry_service.export_document(session))

    text = asyncio.run(go())
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        console.print(f"configuration written to {file}")
