"""``mobileplans bugs``: the bug workflow between the platform and operators (spec 5.6)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.cli.ops_common import (
    AsOperator,
    DataDir,
    JsonFlag,
    console,
    party,
    print_json,
    run,
    when,
)
from mobileplans.cli.tables import fitted_table
from mobileplans.config import Environment, Settings
from mobileplans.domains.bug import service
from mobileplans.domains.bug.schemas import (
    BugRead,
    BugReportIn,
    BugStatus,
    DecisionIn,
    DeployIn,
    ScheduleIn,
    TriageIn,
)
from mobileplans.kit.clock import SystemClock

app = typer.Typer(
    help=(
        "Bugs (spec 5.6): report (either side) -> triage with business justification and "
        "impact -> approve | reject -> schedule a tentative deployment date -> deploy (the "
        "operator is emailed). Every step notifies the other side. Acts as the platform "
        "unless --as-operator is given (operators may report, list and show)."
    ),
    no_args_is_help=True,
)
BugId = Annotated[int, typer.Argument(help="Bug id")]
Note = Annotated[str | None, typer.Option("--note", help="A note for the notification")]


def _table(rows: list[BugRead]) -> Table:
    table = fitted_table(
        "id",
        "operator",
        "env",
        "status",
        "reported by",
        "deploy date",
        "title",
        wrap=("title",),
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.operator_id,
            r.environment or "all",
            r.status.value,
            r.reported_by,
            r.tentative_deploy_date.isoformat() if r.tentative_deploy_date else "",
            r.title,
        )
    return table


def _step(
    data_dir: Path | None,
    action: Callable[[AsyncSession], Awaitable[BugRead]],
) -> None:
    async def go(session: AsyncSession, _settings: Settings) -> BugRead:
        return await action(session)

    bug = run(data_dir, go)
    console().print(f"bug {bug.id} is {bug.status.value}")


@app.command()
def report(
    title: Annotated[str, typer.Option("--title", help="One line")],
    description: Annotated[str, typer.Option("--description", help="What happens, how to see it")],
    operator: Annotated[
        str | None, typer.Option("--operator", help="Operator id (required unless --as-operator)")
    ] = None,
    environment: Annotated[
        Environment | None, typer.Option("--environment", help="staging or production")
    ] = None,
    as_operator: AsOperator = None,
    data_dir: DataDir = None,
) -> None:
    """Step 1: log a bug; the other side is notified."""

    async def action(session: AsyncSession, settings: Settings) -> BugRead:
        spec = BugReportIn(
            operator_id=operator, environment=environment, title=title, description=description
        )
        return await service.report(
            session,
            party(as_operator),
            spec,
            contacts=settings.platform_contacts,
            now=SystemClock().now(),
        )

    bug = run(data_dir, action)
    console().print(f"reported bug {bug.id} for {bug.operator_id}")


@app.command("list")
def list_cmd(
    operator: Annotated[
        str | None, typer.Option("--operator", help="Only this operator (default: all)")
    ] = None,
    status: Annotated[
        BugStatus | None, typer.Option("--status", help="Only bugs in this status")
    ] = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Bugs, newest first."""

    async def action(session: AsyncSession, _settings: Settings) -> list[BugRead]:
        return await service.list_bugs(
            session, party(as_operator), operator_id=operator, status=status
        )

    rows = run(data_dir, action)
    if as_json:
        print_json([r.wire() for r in rows])
    else:
        console().print(_table(rows))


@app.command()
def show(
    bug_id: BugId,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """One bug with its timeline."""

    async def action(session: AsyncSession, _settings: Settings) -> BugRead:
        return await service.get_bug(session, party(as_operator), bug_id)

    bug = run(data_dir, action)
    if as_json:
        print_json(bug.wire())
        return
    out = console()
    out.print(_table([bug]))
    for label, value in (
        ("Description", bug.description),
        ("Business justification", bug.business_justification),
        ("Impact", bug.impact),
        ("Decision reason", bug.decision_reason),
    ):
        if value:
            out.print(f"[bold]{label}:[/bold] {value}")
    events = fitted_table("at (UTC)", "step", "side", "actor", "message", wrap=("message",))
    for e in bug.events or []:
        events.add_row(when(e.at), e.kind, e.side, e.actor, e.message)
    out.print(events)


@app.command()
def triage(
    bug_id: BugId,
    justification: Annotated[str, typer.Option("--justification", help="Business justification")],
    impact: Annotated[str, typer.Option("--impact", help="Impact")],
    data_dir: DataDir = None,
) -> None:
    """Step 2 (platform): give the business justification and the impact."""
    spec = TriageIn(business_justification=justification, impact=impact)
    _step(
        data_dir,
        lambda s: service.triage(s, party(None), bug_id, spec, now=SystemClock().now()),
    )


@app.command()
def approve(
    bug_id: BugId,
    reason: Annotated[str | None, typer.Option("--reason", help="Optional comment")] = None,
    data_dir: DataDir = None,
) -> None:
    """Approve the fix of a triaged bug (platform)."""
    spec = DecisionIn(reason=reason)
    _step(
        data_dir,
        lambda s: service.approve(s, party(None), bug_id, spec, now=SystemClock().now()),
    )


@app.command()
def reject(
    bug_id: BugId,
    reason: Annotated[str, typer.Option("--reason", help="Why")],
    data_dir: DataDir = None,
) -> None:
    """Reject a triaged bug (platform)."""
    spec = DecisionIn(reason=reason)
    _step(
        data_dir,
        lambda s: service.reject(s, party(None), bug_id, spec, now=SystemClock().now()),
    )


@app.command()
def schedule(
    bug_id: BugId,
    deploy_date: Annotated[
        str, typer.Option("--date", help="Tentative deployment date, YYYY-MM-DD (not past)")
    ],
    note: Note = None,
    data_dir: DataDir = None,
) -> None:
    """Step 3 (platform): share (or move) the tentative deployment date."""
    try:
        day = date.fromisoformat(deploy_date)
    except ValueError as exc:
        raise typer.BadParameter("expected YYYY-MM-DD", param_hint="--date") from exc
    spec = ScheduleIn(tentative_deploy_date=day, note=note)
    _step(
        data_dir,
        lambda s: service.schedule(s, party(None), bug_id, spec, now=SystemClock().now()),
    )


@app.command()
def deploy(bug_id: BugId, note: Note = None, data_dir: DataDir = None) -> None:
    """Step 3 (platform): the fix is deployed; the operator is emailed."""
    spec = DeployIn(note=note)
    _step(
        data_dir,
        lambda s: service.deploy(s, party(None), bug_id, spec, now=SystemClock().now()),
    )
