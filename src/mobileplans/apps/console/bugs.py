"""The console's bug board (issue #10, spec 5.6): the workflow reported → triaged
(business justification and impact) → approved | rejected → scheduled → deployed as
columns, a bug's page with its history and the steps its status allows, and the report form.

Every step goes through :mod:`mobileplans.domains.bug.service`, as the API (``/v1/bugs``)
and ``mobileplans bugs`` do: the same validation and messages (403 for an operator on the
platform's steps, 409 from the wrong status, 404 for another operator's bug), the same
events and notifications."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from mobileplans.apps.console.auth import Session, State, check_csrf
from mobileplans.apps.console.pages import page
from mobileplans.apps.console.session import ConsoleSession
from mobileplans.apps.console.state import ConsoleState
from mobileplans.db.session import session_scope
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
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.errors import AppError, BadRequest, NotFound

router = APIRouter()
COLUMNS = [
    (BugStatus.REPORTED, "Reported"),
    (BugStatus.TRIAGED, "Triaged"),
    (BugStatus.APPROVED, "Approved"),
    (BugStatus.REJECTED, "Rejected"),
    (BugStatus.SCHEDULED, "Scheduled"),
    (BugStatus.DEPLOYED, "Deployed"),
]
REPORT_FIELDS = ("operatorId", "environment", "title", "description")
MAX_FIELD = 20001
Step = Callable[..., Awaitable[BugRead]]
M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, Any]) -> M:
    """``model`` from form fields (wire names), its first error as a :class:`BadRequest`
    naming the field, as the API reports a body it cannot read."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        name = loc[0] if loc else "body"
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise BadRequest(f"{name}: {message}", field=name) from None


async def _form(request: Request, session: ConsoleSession) -> dict[str, str]:
    form = await request.form()
    check_csrf(str(form.get("csrf", "")), session.csrf)
    return {k: str(v)[:MAX_FIELD] for k, v in form.items() if k != "csrf"}


def _optional(text: str | None) -> str | None:
    return (text or "").strip() or None


@router.get("/bugs")
async def board(
    request: Request, state: State, session: Session, operator: str | None = None
) -> Response:
    """Spec 5.6: every bug the party sees, one column per status (newest first)."""
    return await _board(request, state, session, operator, values={}, error=None, status=200)


async def _board(
    request: Request,
    state: ConsoleState,
    session: ConsoleSession,
    operator: str | None,
    *,
    values: dict[str, str],
    error: AppError | None,
    status: int,
) -> Response:
    party = session.party
    chosen = (operator or None) if party.is_platform else session.operator_id
    async with session_scope(state.sessions) as db:
        bugs = await bug_service.list_bugs(db, party, operator_id=chosen)
        operators = [o.id for o in await registry_service.list_operators(db) if party.sees(o.id)]
    columns = [(s, title, [b for b in bugs if b.status is s]) for s, title in COLUMNS]
    response = page(
        request,
        state,
        "bugs.html",
        session,
        columns=columns,
        chosen=chosen,
        operators=operators,
        values=values,
        error=error,
        field=error.extra.get("field") if error else None,
    )
    response.status_code = status
    return response


@router.post("/bugs")
async def report(request: Request, state: State, session: Session) -> Response:
    """Step 1, report (spec 5.6): either side logs a bug; the other side is notified."""
    values = await _form(request, session)
    if not session.party.is_platform:
        values["operatorId"] = session.operator_id or ""
    data = {k: values.get(k, "") for k in REPORT_FIELDS}
    data["operatorId"] = _optional(data["operatorId"]) or ""
    try:
        spec = validated(
            BugReportIn,
            {
                **data,
                "operatorId": data["operatorId"] or None,
                "environment": _optional(data["environment"]),
            },
        )
        async with session_scope(state.sessions) as db:
            bug = await bug_service.report(
                db,
                session.party,
                spec,
                contacts=state.settings.platform_contacts,
                now=state.clock.now(),
            )
    except AppError as exc:
        return await _board(
            request, state, session, None, values=data, error=exc, status=exc.status_code
        )
    return RedirectResponse(f"/bugs/{bug.id}", status_code=303)


@router.get("/bugs/{bug_id}")
async def detail(request: Request, bug_id: int, state: State, session: Session) -> Response:
    """Spec 5.6: one bug with its history and the steps open to the party."""
    return await _detail(request, state, session, bug_id, step=None, values={}, error=None)


async def _detail(
    request: Request,
    state: ConsoleState,
    session: ConsoleSession,
    bug_id: int,
    *,
    step: str | None,
    values: dict[str, str],
    error: AppError | None,
) -> Response:
    async with session_scope(state.sessions) as db:
        bug = await bug_service.get_bug(db, session.party, bug_id)
    steps = (
        [
            verb
            for target, verb in bug_service.VERBS.items()
            if bug.status in bug_service.ALLOWED_FROM[target]
        ]
        if session.party.is_platform
        else []
    )
    response = page(
        request,
        state,
        "bug_detail.html",
        session,
        bug=bug,
        steps=steps,
        step=step,
        values=values,
        error=error,
        field=error.extra.get("field") if error else None,
        today=state.clock.now().date(),
        columns=COLUMNS,
    )
    response.status_code = error.status_code if error else 200
    return response


def _triage(v: dict[str, str]) -> TriageIn:
    return validated(
        TriageIn,
        {"businessJustification": v.get("businessJustification"), "impact": v.get("impact")},
    )


def _decision(v: dict[str, str]) -> DecisionIn:
    return validated(DecisionIn, {"reason": _optional(v.get("reason"))})


def _schedule(v: dict[str, str]) -> ScheduleIn:
    text = (v.get("tentativeDeployDate") or "").strip()
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        raise BadRequest(
            "tentativeDeployDate: enter a date as YYYY-MM-DD", field="tentativeDeployDate"
        ) from None
    return validated(ScheduleIn, {"tentativeDeployDate": day, "note": _optional(v.get("note"))})


def _deploy(v: dict[str, str]) -> DeployIn:
    return validated(DeployIn, {"note": _optional(v.get("note"))})


STEPS: dict[str, tuple[Callable[[dict[str, str]], Any], Step]] = {
    "triage": (_triage, bug_service.triage),
    "approve": (_decision, bug_service.approve),
    "reject": (_decision, bug_service.reject),
    "schedule": (_schedule, bug_service.schedule),
    "deploy": (_deploy, bug_service.deploy),
}


@router.post("/bugs/{bug_id}/{step}")
async def act(request: Request, bug_id: int, step: str, state: State, session: Session) -> Response:
    """Spec 5.6 steps 2-3 (platform): triage with justification and impact, approve or
    reject (with the reason), schedule (a tentative date, again to re-schedule), deploy."""
    if step not in STEPS:
        raise NotFound("page not found")
    values = await _form(request, session)
    read, action = STEPS[step]
    try:
        body = read(values)
        async with session_scope(state.sessions) as db:
            await action(db, session.party, bug_id, body, now=state.clock.now())
    except NotFound:
        raise
    except AppError as exc:
        return await _detail(request, state, session, bug_id, step=step, values=values, error=exc)
    return RedirectResponse(f"/bugs/{bug_id}", status_code=303)
