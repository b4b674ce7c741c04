"""The console's incidents pages (issue #10; spec 5.3-5.4): the list with filters and the
declaration form, the detail page with its timeline, clocks as countdowns, call tasks,
notifications and the actions of each party.

Every action goes through the incident services the API uses (same checks, same errors,
same notifications); an error is shown next to its field with the API's 4xx status.
Another operator's incident is 404, as in the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from mobileplans.apps.console import incident_views as views
from mobileplans.apps.console.auth import Session, State, check_csrf
from mobileplans.apps.console.pages import page
from mobileplans.apps.console.session import ConsoleSession
from mobileplans.apps.console.state import ConsoleState
from mobileplans.db.session import session_scope
from mobileplans.domains.incident import call_records, lifecycle
from mobileplans.domains.incident import service as incident_service
from mobileplans.domains.incident.notify import NotifyContext
from mobileplans.domains.incident.schemas import (
    CallAttemptIn,
    DeclareIncident,
    MessageIn,
    OptionalMessageIn,
    SeverityIn,
)
from mobileplans.errors import AppError, BadRequest, Forbidden, NotFound

router = APIRouter()
STEPS: dict[str, lifecycle.Step] = {
    "acknowledge": lifecycle.acknowledge,
    "update": lifecycle.post_update,
    "communicate": lifecycle.communicate,
    "mitigate": lifecycle.mitigate,
    "resolve": lifecycle.resolve,
    "close": lifecycle.close,
}
NEEDS_MESSAGE = {"update", "communicate"}
Form = dict[str, Any]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class FormError(Exception):
    """A refused form: the fields' messages and the status the API would answer."""

    def __init__(self, status: int, errors: dict[str, str]) -> None:
        super().__init__(status)
        self.status = status
        self.errors = errors


def _refused(exc: ValidationError | AppError) -> FormError:
    if isinstance(exc, AppError):
        return FormError(exc.status_code, {str(exc.extra.get("field") or "form"): exc.detail})
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
    return FormError(400, errors)


def _context(state: ConsoleState) -> NotifyContext:
    return NotifyContext(platform_contacts=list(state.settings.platform_contacts))


async def _form(request: Request, session: ConsoleSession) -> Form:
    data: FormData = await request.form()
    check_csrf(str(data.get("csrf", "")), session.csrf)
    return {k: str(v) for k, v in data.items() if k != "csrf"}


@router.get("/incidents")
async def incident_list(
    request: Request,
    state: State,
    session: Session,
    status: str | None = None,
    severity: str | None = None,
    operator: str | None = None,
    environment: str | None = None,
) -> Response:
    """Incidents the party sees, newest first, with the filters of spec 5.3's fields."""
    filters = views.Filters(status, severity, operator, environment)
    return await _list_page(request, state, session, filters)


async def _list_page(
    request: Request,
    state: ConsoleState,
    session: ConsoleSession,
    filters: views.Filters,
    *,
    errors: dict[str, str] | None = None,
    values: Form | None = None,
    status: int = 200,
) -> Response:
    async with session_scope(state.sessions) as db:
        found = await views.listing(db, session.party, filters)
    response = page(
        request, state, "incidents.html", session, incidents=found, filters=filters,
        states=views.STATES, severities=views.SEVERITIES, environments=views.ENVIRONMENTS,
        categories=views.CATEGORIES, errors=errors or {}, values=values or {},
        now=state.clock.now(),
    )  # fmt: skip
    response.status_code = status
    return response


@router.post("/incidents")
async def declare(request: Request, state: State, session: Session) -> Response:
    """Declare an incident toward the other side (spec 5.4), as ``POST /v1/incidents``."""
    form = await _form(request, session)
    values = {**form, "outage": form.get("outage") == "on"}
    if not values.get("operatorId") or not session.party.is_platform:
        values.pop("operatorId", None)
    if not values.get("message"):
        values.pop("message", None)
    try:
        spec = DeclareIncident.model_validate(values)
        async with session_scope(state.sessions) as db:
            created = await incident_service.declare(
                db, _context(state), session.party, spec, now=state.clock.now()
            )
    except (ValidationError, BadRequest, Forbidden) as exc:
        refused = _refused(exc)
        return await _list_page(
            request, state, session, views.Filters(), errors=refused.errors, values=form,
            status=refused.status,
        )  # fmt: skip
    return RedirectResponse(f"/incidents/{created.id}", status_code=303)


@router.get("/incidents/calls")
async def owed_calls(
    request: Request, state: State, session: Session, operator: str | None = None
) -> Response:
    """The open call tasks the party's side must make (the fragment the overview and the
    operator page poll); ``operator``: that operator's only."""
    if operator is not None:
        session.party.check_visible(operator, f"operator {operator!r}")
    async with session_scope(state.sessions) as db:
        owed = await call_records.owed_by(db, session.party, operator)
    return page(request, state, "_call_tasks.html", session, owed=owed)


@router.get("/incidents/{incident_id}")
async def incident_page(
    request: Request, incident_id: IncidentId, state: State, session: Session
) -> Response:
    """One incident (spec 5.3-5.4): timeline, severity and policy, countdowns, calls."""
    return await _detail_page(request, state, session, incident_id)


@router.get("/incidents/{incident_id}/clocks")
async def incident_clocks(
    request: Request, incident_id: IncidentId, state: State, session: Session
) -> Response:
    """The clocks fragment htmx polls every 15 s."""
    return await _detail_page(
        request, state, session, incident_id, template="_incident_clocks.html"
    )


async def _detail_page(
    request: Request,
    state: ConsoleState,
    session: ConsoleSession,
    incident_id: int,
    *,
    template: str = "incident.html",
    refused: FormError | None = None,
    values: Form | None = None,
) -> Response:
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        view = await views.detail_view(db, session.party, incident_id, now)
    if refused is not None:
        view.errors, view.values = refused.errors, values or {}
    response = page(request, state, template, session, view=view, now=now, may_call=views.may_call)
    response.status_code = refused.status if refused else 200
    return response


@router.post("/incidents/{incident_id}/{action}")
async def act(
    request: Request, incident_id: IncidentId, action: str, state: State, session: Session
) -> Response:
    """declare's siblings: acknowledge, update, communicate, severity, mitigate, resolve,
    close, call (spec 5.3-5.4), each through the same service as the API."""
    if action not in {*STEPS, "severity", "call"}:
        raise NotFound("page not found")
    form = await _form(request, session)
    try:
        async with session_scope(state.sessions) as db:
            await _apply(db, state, session, incident_id, action, form)
    except NotFound:
        raise
    except (ValidationError, AppError) as exc:
        refused = _refused(exc)
        refused.errors = {f"{action}.{k}": v for k, v in refused.errors.items()}
        return await _detail_page(
            request, state, session, incident_id, refused=refused, values=form
        )
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


async def _apply(
    db: Any, state: ConsoleState, session: ConsoleSession, incident_id: int, action: str,
    form: Form,
) -> None:  # fmt: skip
    party, ctx, now = session.party, _context(state), state.clock.now()
    if action in ("severity", "close") and not party.is_platform:
        what = "change an incident's severity" if action == "severity" else "close an incident"
        raise Forbidden(f"only the platform side can {what}")
    if action == "call":
        attempt = CallAttemptIn.model_validate(
            {k: v for k, v in form.items() if k != "task" and (v or k == "outcome")}
        )
        task_id = _task_id(form.get("task", ""))
        await call_records.record_call(db, ctx, party, incident_id, task_id, attempt, now=now)
        return
    if action == "severity":
        body = SeverityIn.model_validate(form)
        row = await incident_service.acting_on(db, party, incident_id)
        reason = body.message or "set by hand"
        await lifecycle.change_severity(
            db, ctx, row, body.severity, now, side=party.side, actor=party.actor, reason=reason
        )
        return
    model = MessageIn if action in NEEDS_MESSAGE else OptionalMessageIn
    message = model.model_validate({"message": form.get("message", "")}).message
    await incident_service.apply_step(db, ctx, party, incident_id, STEPS[action], message, now=now)


def _task_id(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise BadRequest(f"task {value!r} is not a call task id", field="task")
    return int(value)
