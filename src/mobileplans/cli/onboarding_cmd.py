"""``mobileplans onboarding``: an operator's way from Feasibility to an accepted launch
(spec 4.4-4.5, issue #9)."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import orjson
import typer
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.cli.ops_common import (
    AsOperator,
    DataDir,
    JsonFlag,
    console,
    instant,
    party,
    print_json,
    run,
)
from mobileplans.cli.runtime import cli_actor, fail
from mobileplans.cli.tables import fitted_table
from mobileplans.config import Settings
from mobileplans.conformance.reports import seal
from mobileplans.domains.access.service import Party
from mobileplans.domains.onboarding import evidence as intake
from mobileplans.domains.onboarding import gates, service
from mobileplans.domains.onboarding.schemas import (
    GoIn,
    GoNoGoRead,
    NoteIn,
    Plan,
    ProjectRead,
    PromoteIn,
    PromotionRead,
    RangeChoice,
    RecordIn,
    StartIn,
)
from mobileplans.kit.clock import Clock, SystemClock

T = TypeVar("T")
clock: Clock = SystemClock()
"""The command's clock (tests set a frozen one)."""

app = typer.Typer(
    help=(
        "Onboarding (spec 4.4-4.5): start a project from a plan, record manual milestones, "
        "file conformance evidence, Go/No-Go, promote staging to production, launch and "
        "accept. Acts as the platform unless --as-operator is given."
    ),
    no_args_is_help=True,
)
Operator = Annotated[str, typer.Argument(help="Operator id")]
Note = Annotated[str | None, typer.Option("--note", help="A note for the timeline")]


def _run(data_dir: Path | None, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go(session: AsyncSession, _settings: Settings) -> T:
        return await action(session)

    return run(data_dir, go)


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _evidence(m: Any) -> str:
    if m.evidence:
        run_id = m.evidence.get("runId", m.evidence.get("source", ""))
        return f"{run_id}: {m.evidence.get('summary', '')}"
    return "; ".join(f"{s.side}: {s.note}" for s in m.signoffs)


def print_project(project: ProjectRead) -> None:
    out = console()
    out.print(
        f"{project.operator_id}: {project.plan.value} plan, phase {project.phase}, production "
        f"{project.production_stage}; launch planned {project.planned_launch}, projected "
        f"{project.projected_launch}"
        + (f"; slipping: {', '.join(project.slipping)}" if project.slipping else "")
    )
    table = fitted_table(
        "phase", "milestone", "owner", "due", "state", "evidence", wrap=("evidence",)
    )
    for m in project.milestones:
        state = "done" if m.done_at else ("SLIPPING" if m.slipping else m.kind.value)
        table.add_row(m.phase, m.key, m.owner.value, _day(m.due_date), state, _evidence(m))
    out.print(table)
    if project.go_override:
        o = project.go_override
        out.print(f"Go override by {o['actor']} at {o['at']}: {o['justification']}")
    if project.accepted_at:
        out.print(f"accepted by the operator at {project.accepted_at.isoformat()}")


@app.command()
def start(
    operator: Operator,
    start_date: Annotated[
        str, typer.Option("--start", help="First day of the project, YYYY-MM-DD")
    ],
    plan: Annotated[Plan, typer.Option("--plan", help="Plan template")] = Plan.MOBILE_PLANS,
    live: Annotated[
        bool,
        typer.Option("--live", help="Live before onboarding was tracked: all done, accepted"),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Start the project: milestones laid out from the plan's estimates in business days."""
    try:
        first = date.fromisoformat(start_date)
    except ValueError as exc:
        raise typer.BadParameter(f"{start_date!r} is not YYYY-MM-DD", param_hint="--start") from exc
    project = _run(
        data_dir,
        lambda s: (service.adopt_live if live else service.start)(
            s, party(None), operator, StartIn(plan=plan, start=first), now=clock.now()
        ),
    )
    print_project(project)


@app.command()
def show(
    operator: Operator,
    as_json: JsonFlag = False,
    as_operator: AsOperator = None,
    data_dir: DataDir = None,
) -> None:
    """Phases, milestones, owners, due dates, what is slipping and the evidence of each."""
    project = _run(
        data_dir, lambda s: service.show(s, party(as_operator), operator, now=clock.now())
    )
    if as_json:
        print_json(project.model_dump(mode="json", by_alias=True))
    else:
        print_project(project)


@app.command()
def record(
    operator: Operator,
    milestone: Annotated[str, typer.Argument(help="Milestone key (see onboarding show)")],
    note: Annotated[str, typer.Option("--note", help="What was agreed or done")],
    as_operator: AsOperator = None,
    data_dir: DataDir = None,
) -> None:
    """Record a manual milestone (its owning side; a joint one needs both sides)."""
    if not note.strip():
        raise typer.BadParameter("must not be empty", param_hint="--note")
    spec = RecordIn(note=note)
    project = _run(
        data_dir,
        lambda s: service.record(s, party(as_operator), operator, milestone, spec, now=clock.now()),
    )
    m = next(x for x in project.milestones if x.key == milestone)
    state = "done" if m.done_at else "recorded, waiting for the other side"
    console().print(f"{operator} {milestone}: {state}")


@app.command()
def evidence(
    operator: Operator,
    file: Annotated[Path, typer.Option("--file", help="JSON report of conformance run|load")],
    as_operator: AsOperator = None,
    data_dir: DataDir = None,
) -> None:
    """File a sealed conformance report as onboarding evidence (its SHA-256 is checked)."""
    try:
        document = orjson.loads(file.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise fail(f"--file {file}: not a readable JSON report ({exc})") from exc
    if not isinstance(document, dict):
        raise fail(f"--file {file}: not a conformance report (a JSON object)")
    filed = _run(
        data_dir,
        lambda s: intake.file_evidence(s, party(as_operator), operator, document, now=clock.now()),
    )
    console().print(f"filed {filed.run_id} ({filed.environment}, {filed.verdict})")


def print_criteria(verdict: GoNoGoRead) -> None:
    table = fitted_table("criterion", "verdict", "evidence", "since (UTC)", wrap=("evidence",))
    for c in verdict.criteria:
        mark = c.verdict if c.mandatory else f"{c.verdict} (optional)"
        since = c.since.strftime("%Y-%m-%d %H:%M") if c.since else ""
        table.add_row(c.key, mark, c.evidence, since)
    console().print(table)
    console().print(f"{verdict.operator_id}: {verdict.verdict.upper()}")


@app.command("go-no-go")
def go_no_go(
    operator: Operator,
    as_json: JsonFlag = False,
    as_operator: AsOperator = None,
    data_dir: DataDir = None,
) -> None:
    """Evaluate every launch criterion now (exit 1 on No-Go)."""
    verdict = _run(
        data_dir, lambda s: gates.go_no_go(s, party(as_operator), operator, now=clock.now())
    )
    if as_json:
        print_json(verdict.model_dump(mode="json", by_alias=True))
    else:
        print_criteria(verdict)
    if verdict.verdict != "go":
        raise typer.Exit(1)


@app.command()
def go(
    operator: Operator,
    note: Note = None,
    override: Annotated[
        str | None,
        typer.Option("--override", help="Platform: written justification to go anyway"),
    ] = None,
    as_operator: AsOperator = None,
    data_dir: DataDir = None,
) -> None:
    """Record this side's Go (both sides are needed)."""
    spec = GoIn(note=note, override=override)
    project = _run(
        data_dir, lambda s: gates.go(s, party(as_operator), operator, spec, now=clock.now())
    )
    done = next(m for m in project.milestones if m.key == "go-no-go").done_at
    console().print(f"{operator}: Go " + ("recorded by both sides" if done else "recorded"))


def print_promotion(read: PromotionRead) -> None:
    table = fitted_table("field", "staging", "production", wrap=("staging", "production"))
    for d in read.differences:
        table.add_row(d.field, d.staging, d.production)
    console().print(table)
    if read.applied:
        console().print(f"applied: production now serves the {read.range.value} range")
    elif read.at is not None:
        console().print(f"scheduled for {read.at.isoformat()}")


@app.command()
def promote(
    operator: Operator,
    range_: Annotated[RangeChoice, typer.Option("--range", help="test or full")] = RangeChoice.TEST,
    at: Annotated[str | None, typer.Option("--at", help="Apply later: ISO 8601 instant")] = None,
    next_release: Annotated[
        bool, typer.Option("--next-release", help="Apply at the next 1st/3rd-Friday release")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show the difference")] = False,
    data_dir: DataDir = None,
) -> None:
    """Show the staging -> production difference and apply it (full range after Go)."""
    spec = PromoteIn(
        range=range_, at=instant(at, "--at"), next_release=next_release, dry_run=dry_run
    )
    read = _run(data_dir, lambda s: gates.promote(s, party(None), operator, spec, now=clock.now()))
    print_promotion(read)


@app.command()
def launch(operator: Operator, note: Note = None, data_dir: DataDir = None) -> None:
    """Launch at the agreed date and time: the phase becomes live (platform)."""
    _run(
        data_dir,
        lambda s: gates.launch(s, party(None), operator, NoteIn(note=note), now=clock.now()),
    )
    console().print(f"{operator} is live")


@app.command()
def accept(operator: Operator, note: Note = None, data_dir: DataDir = None) -> None:
    """Record the operator's formal acceptance of the live service (acts as the operator)."""
    side = Party("operator", operator, f"{operator}:{cli_actor()}")
    _run(data_dir, lambda s: gates.accept(s, side, operator, NoteIn(note=note), now=clock.now()))
    console().print(f"{operator} accepted the live service")


def file_over_http(endpoints_file: Path, operator: str, document: dict[str, Any]) -> str:
    """File a registry run of the kit as onboarding evidence: ``POST`` it, sealed, to the
    broker of ``endpoints.json`` (the kit stays HTTP-only). One line saying what happened."""
    try:
        data = orjson.loads(endpoints_file.read_bytes())
        broker, token = str(data["broker"]).rstrip("/"), str(data["admin_token"])
        tls = data.get("tls") or {}
        bundle = tls.get("trust_bundle") or tls.get("ca_file")
        response = httpx.post(
            f"{broker}/v1/operators/{operator}/onboarding/evidence",
            content=orjson.dumps(seal(document)),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            verify=ssl.create_default_context(cafile=bundle) if bundle else True,
            timeout=30,
        )
    except (
        OSError,
        KeyError,
        TypeError,
        ssl.SSLError,
        orjson.JSONDecodeError,
        httpx.HTTPError,
    ) as exc:
        return f"onboarding evidence not filed: {exc}"
    if response.status_code == 201:
        return f"filed as onboarding evidence {response.json()['runId']} of {operator}"
    detail = response.json().get("detail", response.text[:200]) if response.content else ""
    return f"onboarding evidence not filed ({response.status_code}): {detail}"
