"""Operations API shared by the platform and operators: planned maintenance (spec 5.5) and
the bug workflow (spec 5.6); issue #5.

Every route takes ``Authorization: Bearer <token>``: the admin token or a platform
credential acts for the platform, an operator's credential (``mobileplans credentials
create --operator ID``) for that operator only. An operator's credential never sees another
operator's records (404, as if absent), cannot name another operator (403), and gets 403 on
the platform's bug steps.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from mobileplans.apps.broker.deps import Caller, Session, State
from mobileplans.domains.bug import service as bug_service
from mobileplans.domains.bug.schemas import (
    BugRead,
    BugReportIn,
    BugStatus,
    DecisionIn,
    DeployIn,
    ScheduleIn,
    TriageIn,
)
from mobileplans.domains.maintenance_notice import service as notice_service
from mobileplans.domains.maintenance_notice.schemas import NoticeIn, NoticeRead
from mobileplans.web.params import IsoDateTime, RowId
from mobileplans.web.problems import OPS_PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["operations"], responses=OPS_PROBLEM_RESPONSES)

OperatorQuery = Annotated[
    str | None,
    Query(alias="operatorId", description="Platform: one operator (all when absent)"),
]
FromQuery = Annotated[
    IsoDateTime | None, Query(alias="from", description="Overlapping from (ISO 8601 with offset)")
]
ToQuery = Annotated[IsoDateTime | None, Query(alias="to", description="Overlapping until")]


# --- planned maintenance (spec 5.5) ----------------------------------------------------


@router.get("/maintenance", response_model=list[NoticeRead])
async def list_maintenance(
    party: Caller,
    session: Session,
    operator_id: OperatorQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> list[NoticeRead]:
    """Maintenance windows (spec 5.5): the platform sees all operators' (or
    ``?operatorId=``'s), an operator only its own."""
    return await notice_service.list_notices(
        session, party, operator_id=operator_id, start=start, end=end
    )


@router.post("/maintenance", response_model=NoticeRead, status_code=201)
async def schedule_maintenance(
    notice: Annotated[NoticeIn, Body()], party: Caller, session: Session, state: State
) -> NoticeRead:
    """Schedule planned maintenance on the caller's side and announce it to the other side
    (spec 5.5). Less than five business days' notice (operator's holidays excluded) is
    flagged as late notice and keeps the window inside the SLA."""
    return await notice_service.schedule(
        session,
        party,
        notice,
        contacts=state.settings.platform_contacts,
        now=state.clock.now(),
    )


@router.get("/maintenance/{window_id}", response_model=NoticeRead)
async def get_maintenance(window_id: RowId, party: Caller, session: Session) -> NoticeRead:
    """One maintenance window (spec 5.5), with when its reminder and completion notice
    went out."""
    return await notice_service.get_notice(session, party, window_id)


@router.post("/maintenance/{window_id}/cancel", response_model=NoticeRead)
async def cancel_maintenance(
    window_id: RowId, party: Caller, session: Session, state: State
) -> NoticeRead:
    """Cancel a window before it starts and send a cancellation notice (spec 5.5); 409 once
    it has started."""
    return await notice_service.cancel(
        session,
        party,
        window_id,
        contacts=state.settings.platform_contacts,
        now=state.clock.now(),
    )


# --- bugs (spec 5.6) -------------------------------------------------------------------


@router.get("/bugs", response_model=list[BugRead])
async def list_bugs(
    party: Caller,
    session: Session,
    operator_id: OperatorQuery = None,
    status: Annotated[BugStatus | None, Query(description="Only bugs in this status")] = None,
) -> list[BugRead]:
    """Bugs, newest first (spec 5.6): an operator sees only its own."""
    return await bug_service.list_bugs(session, party, operator_id=operator_id, status=status)


@router.post("/bugs", response_model=BugRead, status_code=201)
async def report_bug(
    report: Annotated[BugReportIn, Body()], party: Caller, session: Session, state: State
) -> BugRead:
    """Step 1, report (spec 5.6): either side logs a bug; the other side is notified."""
    return await bug_service.report(
        session,
        party,
        report,
        contacts=state.settings.platform_contacts,
        now=state.clock.now(),
    )


@router.get("/bugs/{bug_id}", response_model=BugRead)
async def get_bug(bug_id: RowId, party: Caller, session: Session) -> BugRead:
    """One bug with its event timeline (spec 5.6)."""
    return await bug_service.get_bug(session, party, bug_id)


@router.post("/bugs/{bug_id}/triage", response_model=BugRead)
async def triage_bug(
    bug_id: RowId, body: Annotated[TriageIn, Body()], party: Caller, session: Session, state: State
) -> BugRead:
    """Step 2, triage (spec 5.6; platform only): business justification and impact, both
    required."""
    return await bug_service.triage(session, party, bug_id, body, now=state.clock.now())


@router.post("/bugs/{bug_id}/approve", response_model=BugRead)
async def approve_bug(
    bug_id: RowId,
    party: Caller,
    session: Session,
    state: State,
    body: Annotated[DecisionIn | None, Body()] = None,
) -> BugRead:
    """Approve the fix of a triaged bug (spec 5.6; platform only)."""
    return await bug_service.approve(
        session, party, bug_id, body or DecisionIn(), now=state.clock.now()
    )


@router.post("/bugs/{bug_id}/reject", response_model=BugRead)
async def reject_bug(
    bug_id: RowId,
    body: Annotated[DecisionIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> BugRead:
    """Reject a triaged bug with a reason (spec 5.6; platform only)."""
    return await bug_service.reject(session, party, bug_id, body, now=state.clock.now())


@router.post("/bugs/{bug_id}/schedule", response_model=BugRead)
async def schedule_bug(
    bug_id: RowId,
    body: Annotated[ScheduleIn, Body()],
    party: Caller,
    session: Session,
    state: State,
) -> BugRead:
    """Step 3, share the tentative deployment date (spec 5.6; platform only); again to
    re-schedule. The date may not be in the past."""
    return await bug_service.schedule(session, party, bug_id, body, now=state.clock.now())


@router.post("/bugs/{bug_id}/deploy", response_model=BugRead)
async def deploy_bug(
    bug_id: RowId,
    party: Caller,
    session: Session,
    state: State,
    body: Annotated[DeployIn | None, Body()] = None,
) -> BugRead:
    """Step 3, the fix is deployed (spec 5.6; platform only): the operator is emailed."""
    return await bug_service.deploy(
        session, party, bug_id, body or DeployIn(), now=state.clock.now()
    )
