"""``mobileplans incidents calls``: phone escalation call tasks (issue #10; spec 5.3-5.4)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from pydantic import ValidationError
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
    when,
)
from mobileplans.cli.tables import fitted_table
from mobileplans.config import Settings
from mobileplans.domains.incident import call_records
from mobileplans.domains.incident.call_records import OwedCall
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import CallAttemptIn, CallTaskRead
from mobileplans.kit.clock import SystemClock

app = typer.Typer(
    help=(
        "Phone escalation (spec 5.3-5.4): a High / Sev 1 incident, and an outage declared "
        "under the dynamo or data_marketplace policy, gives the side that must phone a call "
        "task with the numbers from the contacts. Record each call: no answer moves the task "
        "to the next number; reaching someone closes it; 'acknowledged' also counts as the "
        "called side's acknowledgement (its response clock)."
    ),
    no_args_is_help=True,
)


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    REACHED = "reached"
    NO_ANSWER = "no_answer"


def _tasks_table(tasks: list[CallTaskRead], owed: dict[int, OwedCall] | None = None) -> None:
    table = fitted_table(
        "task", "incident", "purpose", "caller", "callee", "status", "tries", "opened (UTC)",
        "next number", wrap=("next number",),
    )  # fmt: skip
    for t in tasks:
        number = f"{t.next_number.phone} {t.next_number.name}" if t.next_number else "—"
        incident = str(t.incident_id)
        if owed is not None:
            incident += f" {owed[t.id].incident.operator_id or ''}".rstrip()
        table.add_row(
            str(t.id), incident, t.purpose, t.caller, t.callee, t.status, str(len(t.attempts)),
            when(t.opened_at), number,
        )  # fmt: skip
    console().print(table)


def _attempts_table(tasks: list[CallTaskRead]) -> None:
    table = fitted_table(
        "task", "at (UTC)", "number", "outcome", "reached", "notes", wrap=("notes",),
        title="Calls",
    )  # fmt: skip
    for t in tasks:
        for a in t.attempts:
            table.add_row(str(t.id), when(a.at), a.number, a.outcome, a.reached, a.notes)
    if table.row_count:
        console().print(table)


@app.command("list")
def list_calls(
    incident_id: Annotated[
        int | None, typer.Argument(help="Incident id; omitted: the open tasks your side owes")
    ] = None,
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """An incident's call tasks and calls, or every open task your side must call."""
    caller = party(as_operator)

    async def action(
        session: AsyncSession, _settings: Settings
    ) -> list[OwedCall] | list[CallTaskRead]:
        if incident_id is None:
            return await call_records.owed_by(session, caller, None)
        return await call_records.tasks_of(session, caller, incident_id)

    found = run(data_dir, action)
    owed = [f for f in found if isinstance(f, OwedCall)]
    tasks = [f.task for f in owed] + [f for f in found if isinstance(f, CallTaskRead)]
    if as_json:
        print_json([t.model_dump(mode="json", by_alias=True) for t in tasks])
        return
    _tasks_table(tasks, {o.task.id: o for o in owed} if incident_id is None else None)
    _attempts_table(tasks)


@app.command("record")
def record(
    incident_id: Annotated[int, typer.Argument(help="Incident id")],
    task_id: Annotated[int, typer.Argument(help="Call task id (incidents calls list ID)")],
    outcome: Annotated[Outcome, typer.Option("--outcome", help="What the call gave")],
    reached: Annotated[
        str, typer.Option("--reached", help="Who answered (required unless no_answer)")
    ] = "",
    number: Annotated[
        str | None, typer.Option("--number", help="Number dialled, E.164 (default: next)")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When, ISO 8601 with offset (default: now)")
    ] = None,
    notes: Annotated[str, typer.Option("--notes", help="What was said")] = "",
    data_dir: DataDir = None,
    as_operator: AsOperator = None,
    as_json: JsonFlag = False,
) -> None:
    """Record one call of a call task (the incident's timeline shows it)."""
    caller = party(as_operator)
    values = {
        "outcome": outcome.value, "reached": reached, "number": number,
        "at": instant(at, "--at"), "notes": notes,
    }  # fmt: skip
    try:
        attempt = CallAttemptIn.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        option = "--" + str(first["loc"][0]) if first["loc"] else "the call"
        raise typer.BadParameter(first["msg"], param_hint=option) from exc

    async def action(session: AsyncSession, settings: Settings) -> CallTaskRead:
        ctx = NotifyContext(list(settings.platform_contacts))
        return await call_records.record_call(
            session, ctx, caller, incident_id, task_id, attempt, now=SystemClock().now()
        )

    task = run(data_dir, action)
    if as_json:
        print_json(task.model_dump(mode="json", by_alias=True))
        return
    _tasks_table([task])
    _attempts_table([task])
