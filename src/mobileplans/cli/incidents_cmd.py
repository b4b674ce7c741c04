"""``mobileplans incidents``: incidents, their timelines and clocks (spec 5.3-5.4)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.cli.incidents_calls_cmd import app as calls_app
from mobileplans.cli.ops_common import (
    AsOperator,
    DataDir,
    JsonFlag,
    console,
    instant,
    party,
    print_json,
    run,
    when,
)
from mobileplans.cli.tables import fitted_table
from mobileplans.config import Environment, Settings
from mobileplans.domains.incident import lifecycle, profiles
from mobileplans.domains.incident import service as incidents
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import (
    BreachCount,
    DeclareIncident,
    IncidentDetail,
    IncidentRead,
    OpsSettingsPatch,
    OpsSettingsRead,
)
from mobileplans.kit.clock import SystemClock

app = typer.Typer(
    help=(
        "Incidents (spec 5.3-5.4). The worker opens them from probe results and traffic "
        "failure percentages under each operator's severity policy (mobile_plans: Sev 1-3; "
        "dynamo and data_marketplace: High/Low), pages the other side, runs the response, "
        "update and resolution clocks with reminders and breaches, and auto-resolves on "
        "recovery. Either side can declare one (outages start a 30-minute communication "
        "clock). Acts as the platform unless --as-operator is given."
    ),
    no_args_is_help=True,
)
app.add_typer(calls_app, name="calls")
IncidentId = Annotated[int, typer.Argument(help="Incident id")]
Message = Annotated[str, typer.Option("--message", "-m", help="Text sent to the other side")]
OptionalMessage = Annotated[str, typer.Option("--message", "-m", help="Optional note")]


def _table(rows: list[IncidentRead]) -> Table:
    table = fitted_table(
        "id",
        "sev",
        "status",
        "operator",
        "env",
        "opened by",
        "detected (UTC)",
        "title",
        wrap=("title",),
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.severity,
            r.status,
            r.operator_id or "(global)",
            r.environment or "",
            r.opened_by,
            when(r.detected_at),
            r.title,
        )
    return table


def _show(detail: IncidentDetail, as_json: bool) -> None:
    if as_json:
        print_json(detail.model_dump(mode="json", by_alias=True))
        return
    console().print(_table([detail]))
    for line in detail.evidence.get("reasons", []):
        console().print(f"  evidence: {line}")
    clocks = fitted_table(
        "clock",
        "owner",
        "due (UTC)",
        "reminded (UTC)",
        "met (UTC)",
        "breached (UTC)",
        "rule",
        wrap=("rule",),
        title="Clocks",
    )
    for c in detail.clocks:
        state = "cancelled" if c.cancelled_at else when(c.met_at)
        clocks.add_row(
            c.clock,
            c.owner,
            when(c.due_at),
            when(c.reminded_at),
            state,
            when(c.breached_at),
            c.rule,
        )
    console().print(clocks)
    events = fitted_table(
        "at (UTC)", "event", "side", "actor", "message", wrap=("message",), title="Timeline"
    )
    for e in detail.events:
        events.add_row(when(e.at), e.kind, e.side, e.actor, e.message)
    console().print(events)


def _act(
    data_dir: DataDir,
    as_operator: str | None,
    incident_id: int,
    as_json: bool,
    step: lifecycle.Step,
    message: str,
) -> None:
    """Apply one lifecycle step and show the incident afterwards."""
    caller = party(as_operator)

    async def action(session: AsyncSession, settings: Settings) -> IncidentDetail:
        ctx = NotifyContext(list(settings.platform_contacts))
        return await incidents.apply_step(
            session, ctx, caller, incident_id, step, message, now=SystemClock().now()
        )

    _show(run(data_dir, action), as_json)


@app.command("list")
def list_command(
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    operator: Annotated[str | None, typer.Option("--operator", help="One operator")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only unresolved ones")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List incidents, newest first."""
    caller = party(as_operator)

    async def action(session: AsyncSession, _settings: Settings) -> list[IncidentRead]:
        return await incidents.list_for(
            session, caller, operator_id=operator, status=None, open_only=open_only
        )

    rows = run(data_dir, action)
    if as_json:
        print_json([r.model_dump(mode="json", by_alias=True) for r in rows])
    else:
        console().print(_table(rows))


@app.command()
def show(
    incident_id: IncidentId,
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """One incident with its evidence, clocks and timeline."""
    caller = party(as_operator)

    async def action(session: AsyncSession, _settings: Settings) -> IncidentDetail:
        return await incidents.detail(
            session, await incidents.visible(session, caller, incident_id)
        )

    _show(run(data_dir, action), as_json)


@app.command()
def declare(
    title: Annotated[str, typer.Option("--title", help="What is wrong")],
    severity: Annotated[str, typer.Option("--severity", help="sev1-3 or high/low, per policy")],
    operator: Annotated[str | None, typer.Option("--operator", help="Operator concerned")] = None,
    environment: Annotated[Environment, typer.Option("--environment")] = Environment.PRODUCTION,
    category: Annotated[str, typer.Option("--category", help="e.g. core_network_outage")] = "other",
    outage: Annotated[bool, typer.Option("--outage", help="Start the 30-min comms clock")] = False,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="First communication")
    ] = None,
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """Open an incident toward the other side (spec 5.4)."""
    caller = party(as_operator)
    values = {
        "operatorId": operator,
        "environment": environment,
        "category": category,
        "title": title,
        "severity": severity,
        "outage": outage,
        "message": message,
    }

    async def action(session: AsyncSession, settings: Settings) -> IncidentDetail:
        spec = DeclareIncident.model_validate(values)  # invalid: message and exit 1 (run)
        ctx = NotifyContext(list(settings.platform_contacts))
        return await incidents.declare(session, ctx, caller, spec, now=SystemClock().now())

    _show(run(data_dir, action), as_json)


@app.command("ack")
def acknowledge(
    incident_id: IncidentId,
    message: OptionalMessage = "",
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """Acknowledge (meets the initial-response clock when the responding side does it)."""
    _act(data_dir, as_operator, incident_id, as_json, lifecycle.acknowledge, message)


@app.command()
def update(
    incident_id: IncidentId,
    message: Message,
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """Post an update (meets the update-cadence clock when the responding side does it)."""
    _act(data_dir, as_operator, incident_id, as_json, lifecycle.post_update, message)


@app.command()
def communicate(
    incident_id: IncidentId,
    message: Message,
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """Send an outage communication to the other side (meets the 30-minute clock)."""
    _act(data_dir, as_operator, incident_id, as_json, lifecycle.communicate, message)


@app.command()
def mitigate(
    incident_id: IncidentId,
    message: OptionalMessage = "",
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark mitigated (impact removed, root cause still open)."""
    _act(data_dir, as_operator, incident_id, as_json, lifecycle.mitigate, message)


@app.command()
def resolve(
    incident_id: IncidentId,
    message: OptionalMessage = "",
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """Resolve (meets the resolution clock; stops the update cadence)."""
    _act(data_dir, as_operator, incident_id, as_json, lifecycle.resolve, message)


@app.command()
def close(
    incident_id: IncidentId,
    message: OptionalMessage = "",
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Close a resolved incident (platform)."""
    _act(data_dir, None, incident_id, as_json, lifecycle.close, message)


@app.command()
def policy(
    operator: Annotated[str, typer.Argument(help="Operator id")],
    name: Annotated[
        str | None, typer.Option("--set", help="mobile_plans | dynamo | data_marketplace")
    ] = None,
    holiday_country: Annotated[str | None, typer.Option("--holiday-country")] = None,
    healthy_probes: Annotated[
        int | None, typer.Option("--healthy-probes", help="Auto-resolve after N good runs")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Show or set an operator's severity policy and business calendar."""
    values = {
        "policy": name,
        "holidayCountry": holiday_country,
        "healthyProbesToResolve": healthy_probes,
    }
    given = {k: v for k, v in values.items() if v is not None}

    async def action(session: AsyncSession, _settings: Settings) -> OpsSettingsRead:
        patch = OpsSettingsPatch.model_validate(given)  # invalid: message and exit 1 (run)
        if patch.model_fields_set:
            return await profiles.update_settings(session, operator, patch, now=SystemClock().now())
        return await profiles.read_settings(session, operator)

    result = run(data_dir, action)
    print_json(result.model_dump(mode="json", by_alias=True))


@app.command()
def breaches(
    start: Annotated[str, typer.Option("--from", help="ISO 8601 with offset")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 with offset")],
    operator: Annotated[str | None, typer.Option("--operator")] = None,
    data_dir: DataDir = None,
) -> None:
    """Clock breaches per operator, clock and owing side in a period (for reports)."""
    begin, finish = instant(start, "--from"), instant(end, "--to")
    if begin is None or finish is None:
        raise typer.BadParameter("--from and --to are required")

    async def action(session: AsyncSession, _settings: Settings) -> list[BreachCount]:
        return await incidents.breach_report(session, party(None), begin, finish, operator)

    table = fitted_table("operator", "clock", "owed by", "breaches")
    for row in run(data_dir, action):
        table.add_row(row.operator_id or "(global)", row.clock, row.owner, str(row.breaches))
    console().print(table)
