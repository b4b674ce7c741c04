"""``mobileplans config``: the whole configuration as one YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.cli.runtime import cli_actor, load_settings, run, run_in_transaction
from mobileplans.config import UrlPolicy
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.yaml_io import (
    ConfigFileError,
    dump_document,
    load_document,
)
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
            typer.echo(f"{file}:{problem.line or '?'} {problem.path} {problem.message}", err=True)
        _explain_url_policy(exc, settings.url_policy)
        raise typer.Exit(1) from exc

    async def action(session: AsyncSession) -> None:
        summary = await registry_service.import_document(
            session, document, actor=cli_actor(), now=SystemClock().now()
        )
        console.print_json(summary.model_dump_json(by_alias=True))
        if dry_run:
            raise _DryRun

    try:
        run_in_transaction(settings, action)
    except _DryRun:
        console.print("[yellow]dry run: nothing written[/yellow]")


def _explain_url_policy(exc: ConfigFileError, policy: UrlPolicy) -> None:
    """URL errors under the strict policy: name the setting that relaxes it."""
    if policy != UrlPolicy.STRICT:
        return
    if any("https" in p.message or "port" in p.message for p in exc.problems):
        typer.echo(
            "the URL policy is strict (https, no port; spec 3.1); a local stack accepts http "
            "and ports on loopback hosts with MP_URL_POLICY=local (a data directory made by "
            "`mobileplans up` keeps that policy)",
            err=True,
        )


@app.command()
def export(
    file: Annotated[
        Path | None, typer.Argument(help="Write here; standard output if omitted")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the whole stored configuration as YAML."""

    async def action(session: AsyncSession) -> str:
        return dump_document(await registry_service.export_document(session))

    text = run(data_dir, action)
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        console.print(f"configuration written to {file}")
