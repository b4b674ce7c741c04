"""Recording the calls of phone escalation tasks (issue #10; decisions D195, D196).

A call that reaches someone closes its task (``done``). It counts for the clocks exactly as
the API would count the same thing said by that side:

- outcome ``acknowledged`` (the side called acknowledged the incident on the call): an
  acknowledgement by the *called* side at the call's time, through
  :func:`lifecycle.acknowledge` — from the responding side it meets the response clock,
  moves the incident to acknowledged and notifies both sides, as
  ``POST /v1/incidents/{id}/acknowledge`` by that side would;
- on an ``outage`` task, any call that reaches someone is the caller's outage
  communication (:func:`lifecycle.communicate`), which meets its 30-minute clock;
- ``reached`` on an escalation task: the escalation is done, no clock changes;
- ``no_answer``: the task stays open and its next number is the one after the number
  dialled.

Every call is an ``call`` event on the incident's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import Incident, IncidentCallTask
from mobileplans.domains.access.service import Party
from mobileplans.domains.incident import calls, lifecycle, notify, repository, service
from mobileplans.domains.incident.schemas import (
    CallAttemptIn,
    CallTaskRead,
    IncidentRead,
    Status,
)
from mobileplans.errors import BadRequest, Conflict, Forbidden, NotFound
from mobileplans.kit.identifiers import IdentifierError, parse_phone_number

CLOCK_SKEW = timedelta(minutes=1)
"""A call may be dated this far past the server's now (the recorder's clock)."""


@dataclass(frozen=True)
class OwedCall:
    """An open task with its incident, for the pages of the side that must call."""

    task: CallTaskRead
    incident: IncidentRead


async def tasks_of(session: AsyncSession, party: Party, incident_id: int) -> list[CallTaskRead]:
    row = await service.visible(session, party, incident_id)
    return await calls.read_tasks(session, row.id)


async def owed_by(session: AsyncSession, party: Party, operator_id: str | None) -> list[OwedCall]:
    """Open tasks ``party``'s side must call (an operator: on its own incidents only)."""
    if not party.is_platform:
        operator_id = party.operator_id
    out = []
    for task in await repository.open_call_tasks_of(session, party.side, operator_id):
        incident = await repository.get(session, task.incident_id)
        assert incident is not None
        out.append(OwedCall(calls.to_read(task, []), service.to_read(incident)))
    return out


async def _task(
    session: AsyncSession, party: Party, incident: Incident, task_id: int
) -> IncidentCallTask:
    task = await repository.call_task(session, task_id)
    if task is None or task.incident_id != incident.id:
        raise NotFound(f"call task {task_id} of incident {incident.id} does not exist")
    if not party.is_platform and party.side != task.caller:
        raise Forbidden(f"call task {task_id} is the {task.caller} side's call to make")
    if task.status != "open":
        raise Conflict(f"call task {task_id} is {task.status}", field="task")
    return task


def _when(attempt: CallAttemptIn, task: IncidentCallTask, now: datetime) -> datetime:
    at = attempt.at or now
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at > now + CLOCK_SKEW:
        raise BadRequest(f"the call at {at.isoformat()} is in the future", field="at")
    if at < task.opened_at:
        raise BadRequest(
            f"the call at {at.isoformat()} is before the task was opened "
            f"({task.opened_at.isoformat()})",
            field="at",
        )
    return at


def _number(attempt: CallAttemptIn, task: IncidentCallTask) -> tuple[int | None, str, str]:
    """``(index in the task's numbers or None, number, name)`` of the number dialled."""
    if attempt.number is None:
        if not task.numbers:
            raise BadRequest(
                f"no number is on file for the {task.callee} side: give the number you called",
                field="number",
            )
        index = task.next_index % len(task.numbers)
        return index, task.numbers[index]["phone"], task.numbers[index]["name"]
    try:
        number = parse_phone_number(attempt.number, field="number")
    except IdentifierError as exc:
        raise BadRequest.from_identifier(exc) from exc
    for index, entry in enumerate(task.numbers):
        if entry["phone"] == number:
            return index, number, entry["name"]
    return None, number, ""


def _check_reached(attempt: CallAttemptIn) -> str:
    reached = attempt.reached.strip()
    if attempt.outcome == "no_answer" and reached:
        raise BadRequest("nobody is reached on a call with no answer", field="reached")
    if attempt.outcome != "no_answer" and not reached:
        raise BadRequest(f"name who was reached (outcome {attempt.outcome!r})", field="reached")
    return reached


def _message(
    task: IncidentCallTask, number: str, name: str, attempt: CallAttemptIn, reached: str
) -> str:
    who = f"{name} ({number})" if name else number
    if attempt.outcome == "no_answer":
        following = calls.next_number(task)
        after = f"{following.name} ({following.phone})" if following else "the same number"
        text = f"called {who}: no answer; next: {after}"
    else:
        acked = ", who acknowledged the incident" if attempt.outcome == "acknowledged" else ""
        text = f"called {who}: reached {reached}{acked}"
    return f"{text}. {attempt.notes}".strip() if attempt.notes else text


async def record_call(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    party: Party,
    incident_id: int,
    task_id: int,
    attempt: CallAttemptIn,
    *,
    now: datetime,
) -> CallTaskRead:
    """Record one call of task ``task_id``; the task as it is afterwards."""
    incident = await service.acting_on(session, party, incident_id)
    task = await _task(session, party, incident, task_id)
    at = _when(attempt, task, now)
    index, number, name = _number(attempt, task)
    reached = _check_reached(attempt)
    task.attempts += 1
    task.updated_at = now
    if attempt.outcome == "no_answer":
        if task.numbers:
            task.next_index = ((index if index is not None else task.next_index) + 1) % len(
                task.numbers
            )
    else:
        task.open_key, task.status, task.closed_at = None, "done", at
        task.outcome, task.reached = attempt.outcome, reached
    data = {
        "task": task.id, "number": number, "name": name, "outcome": attempt.outcome,
        "reached": reached, "notes": attempt.notes,
    }  # fmt: skip
    message = _message(task, number, name, attempt, reached)
    repository.add_event(
        session,
        calls.event(incident.id, "call", at, side=task.caller, actor=party.actor,
                    message=message, data=data),
    )  # fmt: skip
    await _count(session, ctx, incident, task, attempt, at, message, reached)
    await session.flush()
    return calls.to_read(task, await repository.events(session, incident.id))


async def _count(
    session: AsyncSession,
    ctx: notify.NotifyContext,
    incident: Incident,
    task: IncidentCallTask,
    attempt: CallAttemptIn,
    at: datetime,
    message: str,
    reached: str,
) -> None:
    """What a call that reached someone counts for (see the module's docstring)."""
    if attempt.outcome == "no_answer":
        return
    if task.purpose == "outage":
        await lifecycle.communicate(
            session, ctx, incident, at, side=task.caller, actor=f"{task.caller} by phone",
            message=f"By telephone: {message}",
        )  # fmt: skip
    if attempt.outcome == "acknowledged" and incident.status in (Status.OPEN, Status.CONTACTED):
        await lifecycle.acknowledge(
            session, ctx, incident, at, side=task.callee, actor=f"{reached} (by phone)",
            message=attempt.notes or f"acknowledged on a call from the {task.caller} side",
        )  # fmt: skip
