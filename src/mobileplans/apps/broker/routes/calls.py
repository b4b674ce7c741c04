"""Phone escalation API: an incident's call tasks and the calls made for them (issue #10;
spec 5.3 "Escalation via phone", 5.4 outages "via telephone and email").

``Authorization: Bearer`` as for the incidents API: the platform sees every task; an
operator sees the tasks of its own incidents (another operator's incident answers 404)
and records only the calls its side owes (403 for the platform's).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from mobileplans.apps.broker.deps import Caller, Session, State
from mobileplans.apps.broker.routes.incidents import context
from mobileplans.domains.incident import call_records
from mobileplans.domains.incident.schemas import CallAttemptIn, CallTaskRead
from mobileplans.web.params import RowId
from mobileplans.web.problems import OPS_PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["incidents"], responses=OPS_PROBLEM_RESPONSES)
IncidentId = RowId
TaskId = RowId


@router.get("/incidents/{incident_id}/calls", response_model=list[CallTaskRead])
async def list_calls(
    incident_id: IncidentId, party: Caller, session: Session
) -> list[CallTaskRead]:
    """The incident's call tasks, oldest first: who must phone whom, the numbers to try
    (``nextNumber`` while open) and every call recorded (spec 5.3, 5.4)."""
    return await call_records.tasks_of(session, party, incident_id)


@router.post(
    "/incidents/{incident_id}/calls/{task_id}/attempts",
    response_model=CallTaskRead,
    status_code=201,
)
async def record_call(
    incident_id: IncidentId,
    task_id: TaskId,
    body: Annotated[CallAttemptIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> CallTaskRead:
    """Record a call (spec 5.3-5.4): ``no_answer`` keeps the task open on the next number;
    ``reached`` closes it; ``acknowledged`` closes it and counts as the called side's
    acknowledgement (the response clock, as ``POST .../acknowledge`` by that side). On an
    outage task a call that reaches someone is the caller's outage communication (its
    30-minute clock). 400 names the field (``outcome``, ``reached``, ``number``, ``at``);
    403 for the other side's call; 409 once the task is closed."""
    return await call_records.record_call(
        session, context(state), party, incident_id, task_id, body, now=state.clock.now()
    )
