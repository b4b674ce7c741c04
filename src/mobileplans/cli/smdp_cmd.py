"""``mobileplans smdp``: the SM-DP+'s profile inventory and ES2+ requesters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.cli.runtime import run
from mobileplans.cli.tables import fitted_table
from mobileplans.config import Environment
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.smdp import callbacks, inventory
from mobileplans.domains.smdp.schemas import CallbackRead, ProfileCount, RequesterRead
from mobileplans.kit.clock import SystemClock

app = typer.Typer(
    help=(
        "The SM-DP+ (SGP.22): generate eSIM profiles in an operator's ICCID range, "
        "register ES2+ requesters, count profiles by type and state."
    ),
    no_args_is_help=True,
)
requester_app = typer.Typer(
    help="ES2+ requesters: the functionRequesterIdentifier an operator's BSS sends, "
    "and where the SM-DP+ posts handleDownloadProgressInfo.",
    no_args_is_help=True,
)
app.add_typer(requester_app, name="requester")
console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="MP_DATA_DIR", help="Data directory")
]
OperatorOption = Annotated[
    str, typer.Option("--operator", help="Operator id in the registry (e.g. contoso)")
]


@app.command()
def generate(
    operator: OperatorOption,
    profile_type: Annotated[
        str, typer.Option("--profile-type", help="Profile type ES2+ downloadOrder asks for")
    ],
    count: Annotated[int, typer.Option("--count", min=1, help="How many profiles to create")],
    environment: Annotated[
        Environment, typer.Option(help="Whose ICCID ranges to fill")
    ] = Environment.PRODUCTION,
    spn: Annotated[
        str | None, typer.Option(help="Service provider name (default: the brand name)")
    ] = None,
    profile_name: Annotated[
        str | None,
        typer.Option("--profile-name", help="Profile name (default: '<brand> <profile type>')"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Create COUNT Available profiles of PROFILE_TYPE with new Luhn-valid ICCIDs inside the
    operator's ICCID ranges of ENVIRONMENT (ICCIDs the SM-DP+ already holds are skipped).

    Fails, creating nothing, when the operator has no range there or the range is full.
    """
    created = run(
        data_dir,
        lambda session: _generate(
            session, operator, profile_type, count, environment, spn, profile_name
        ),
    )
    console.print(
        f"[green]{len(created)} profiles[/green] {created[0]} … {created[-1]} "
        f"({operator}, {profile_type}, {environment.value})"
    )


async def _generate(
    session: AsyncSession,
    operator: str,
    profile_type: str,
    count: int,
    environment: Environment,
    spn: str | None,
    profile_name: str | None,
) -> list[str]:
    """Read the operator and its ranges, then generate under a Rich progress bar."""
    spec = await registry_service.get_operator(session, operator)
    ranges = await inventory.ranges_for(session, operator, environment)
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("profiles", total=count)
        return await inventory.generate_profiles(
            session,
            operator_id=operator,
            ranges=ranges,
            profile_type=profile_type,
            count=count,
            now=SystemClock().now(),
            spn=spn or spec.brand_name[:32],
            profile_name=profile_name or f"{spec.brand_name} {profile_type}"[:64],
            on_progress=lambda n: bar.advance(task, n),
        )


@requester_app.command("add")
def requester_add(
    requester_id: Annotated[
        str, typer.Option("--id", help="functionRequesterIdentifier of the ES2+ client")
    ],
    operator: OperatorOption,
    callback_url: Annotated[
        str | None,
        typer.Option(
            "--callback-url",
            help="Its handleDownloadProgressInfo URL, e.g. "
            "http://127.0.0.1:8701/contoso/gsma/rsp2/es2plus/handleDownloadProgressInfo",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Admit (or update) an ES2+ requester for an operator; its orders see only that
    operator's profiles."""

    async def action(session: AsyncSession) -> None:
        await inventory.register_requester(
            session,
            requester_id=requester_id,
            operator_id=operator,
            callback_url=callback_url,
            now=SystemClock().now(),
        )

    run(data_dir, action)
    console.print(f"[green]requester[/green] {requester_id} → {operator} ({callback_url or '-'})")


@requester_app.command("list")
def requester_list(
    operator: Annotated[str | None, typer.Option("--operator", help="Only this operator")] = None,
    data_dir: DataDir = None,
) -> None:
    """List ES2+ requesters and their callback URLs."""
    rows: list[RequesterRead] = run(
        data_dir, lambda session: inventory.list_requesters(session, operator)
    )
    table = fitted_table("requester", "operator", "callback URL", wrap=("callback URL",))
    for row in rows:
        table.add_row(row.requester_id, row.operator_id, row.callback_url or "-")
    console.print(table)


@app.command()
def profiles(
    operator: Annotated[str | None, typer.Option("--operator", help="Only this operator")] = None,
    data_dir: DataDir = None,
) -> None:
    """Count profiles by operator, profile type and state."""
    rows: list[ProfileCount] = run(
        data_dir, lambda session: inventory.profile_counts(session, operator)
    )
    table = fitted_table(
        "operator",
        "profile type",
        "state",
        "count",
        title="SM-DP+ profiles",
    )
    for row in rows:
        table.add_row(row.operator_id, row.profile_type, row.state.value, str(row.count))
    console.print(table if rows else "no profiles")


@app.command("callbacks")
def callbacks_list(
    delivered: Annotated[
        bool, typer.Option("--delivered", help="Also list delivered callbacks")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """List HandleDownloadProgressInfo callbacks still pending or failed (the outbox)."""
    statuses = ["pending", "failed", *(["delivered"] if delivered else [])]
    rows: list[CallbackRead] = run(
        data_dir, lambda session: callbacks.outbox_listing(session, statuses)
    )
    table = fitted_table(
        "id", "ICCID", "point", "status", "attempts", "next attempt", "last error", "URL",
        wrap=("last error", "URL"), title="SM-DP+ callbacks",
    )  # fmt: skip
    for row in rows:
        table.add_row(
            str(row.id), row.iccid, str(row.notification_point_id), row.status,
            str(row.attempts), row.next_attempt_at.isoformat(timespec="seconds"),
            row.last_error or "-", row.url,
        )  # fmt: skip
    console.print(table if rows else "no callbacks pending or failed")
