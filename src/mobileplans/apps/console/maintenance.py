"""The console's maintenance pages (issue #10, spec 5.5): the calendar of windows, the form
that announces one with the five-business-day check shown live, a window's page with
cancellation and the completion notice, and each operator's iCalendar feed.

Every action goes through :mod:`mobileplans.domains.maintenance_notice.service`, as the
API (``/v1/maintenance``) and ``mobileplans maintenance`` do: same rules, same errors,
same notifications and audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from mobileplans.apps.console import ical
from mobileplans.apps.console import maintenance_views as mv
from mobileplans.apps.console import session as console_session
from mobileplans.apps.console.auth import Session, State, check_csrf
from mobileplans.apps.console.pages import page
from mobileplans.apps.console.session import COOKIE_NAME, ConsoleSession
from mobileplans.apps.console.state import ConsoleState
from mobileplans.db.session import session_scope
from mobileplans.domains.access import service as access_service
from mobileplans.domains.access.service import Party
from mobileplans.domains.maintenance_notice import service as notice_service
from mobileplans.domains.maintenance_notice.schemas import NoticeCheck
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.errors import AppError, BadRequest, NotFound, Unauthorized

router = APIRouter()
ICS_HISTORY = timedelta(days=365)
"""The feed holds windows that ended at most this long ago, and every later one."""


@router.get("/maintenance")
async def calendar_page(
    request: Request,
    state: State,
    session: Session,
    month: str | None = None,
    operator: str | None = None,
) -> Response:
    """Spec 5.5: the windows of a month as a calendar (and a list); the platform sees every
    operator's (``?operator=`` for one), an operator's user its own."""
    now = state.clock.now()
    first = mv.parse_month(month, now)
    grid = mv.month_grid(first, now.date())
    party = session.party
    chosen = (operator or None) if party.is_platform else session.operator_id
    async with session_scope(state.sessions) as db:
        notices = await notice_service.list_notices(
            db, party, operator_id=chosen, start=grid.start, end=grid.end
        )
        operators = await _operator_ids(db, party)
    grid.place(notices)
    month_start = datetime.combine(first, datetime.min.time(), UTC)
    month_end = datetime.combine(mv.shift_month(first, 1), datetime.min.time(), UTC)
    in_month = [n for n in notices if n.starts_at < month_end and n.ends_at > month_start]
    return page(
        request,
        state,
        "maintenance.html",
        session,
        grid=grid,
        notices=sorted(in_month, key=lambda n: n.starts_at),
        chosen=chosen,
        operators=operators,
        prev_month=mv.shift_month(first, -1),
        next_month=mv.shift_month(first, 1),
        state_of_window=lambda n: mv.window_state(n, now),
        now=now,
    )


async def _operator_ids(db: Any, party: Party) -> list[str]:
    return [o.id for o in await registry_service.list_operators(db) if party.sees(o.id)]


@router.get("/maintenance/new")
async def new_form(
    request: Request, state: State, session: Session, operator: str | None = None
) -> Response:
    """Spec 5.5: the form that announces a window."""
    values = {"operatorId": operator or ""}
    return await _form(request, state, session, values, error=None, status=200)


async def _form(
    request: Request,
    state: ConsoleState,
    session: ConsoleSession,
    values: dict[str, str],
    *,
    error: AppError | None,
    status: int,
) -> Response:
    async with session_scope(state.sessions) as db:
        operators = await _operator_ids(db, session.party)
        check, check_error = await _check(db, state, session.party, values)
    response = page(
        request,
        state,
        "maintenance_new.html",
        session,
        values=values,
        operators=operators,
        error=error,
        field=error.extra.get("field") if error else None,
        check=check,
        check_error=check_error,
        local_time=mv.local_time,
    )
    response.status_code = status
    return response


async def _check(
    db: Any, state: ConsoleState, party: Party, values: dict[str, str]
) -> tuple[NoticeCheck | None, str | None]:
    """The live check's result, or why there is none yet (a hint, not an error page)."""
    operator = values.get("operatorId", "").strip() or None
    if party.is_platform and operator is None:
        return None, "Choose the operator: notice counts in its business days."
    if not values.get("startsAt", "").strip():
        return None, "Enter the start to see the notice it gives."
    try:
        starts_at = mv.parse_instant(values["startsAt"], "startsAt")
        if starts_at <= state.clock.now():
            return None, "startsAt must be in the future"  # as schedule() refuses it
        found = await notice_service.check_notice(
            db, party, operator, starts_at, now=state.clock.now()
        )
    except AppError as exc:
        return None, exc.detail
    return found, None


@router.get("/maintenance/check")
async def check_fragment(
    request: Request,
    state: State,
    session: Session,
    operator_id: Annotated[str, Query(alias="operatorId", max_length=100)] = "",
    starts_at: Annotated[str, Query(alias="startsAt", max_length=100)] = "",
) -> Response:
    """The five-business-day check (spec 5.5) of the form's start, as htmx asks for it
    while dates are typed: the count :func:`notice_service.schedule` records."""
    values = {"operatorId": operator_id, "startsAt": starts_at}
    async with session_scope(state.sessions) as db:
        check, check_error = await _check(db, state, session.party, values)
    return page(
        request,
        state,
        "_maintenance_check.html",
        session,
        check=check,
        check_error=check_error,
        local_time=mv.local_time,
    )


@router.post("/maintenance")
async def announce(request: Request, state: State, session: Session) -> Response:
    """Spec 5.5: schedule a window on the caller's side and announce it to the other side;
    late notice is accepted and flagged, exactly as the API and CLI do."""
    form = await request.form()
    check_csrf(str(form.get("csrf", "")), session.csrf)
    values = {name: str(form.get(name, ""))[: mv.MAX_TEXT + 1] for name in mv.FIELDS}
    if not session.party.is_platform:
        values["operatorId"] = session.operator_id or ""
    try:
        spec = mv.notice_in(values, platform=session.party.is_platform)
        async with session_scope(state.sessions) as db:
            created = await notice_service.schedule(
                db,
                session.party,
                spec,
                contacts=state.settings.platform_contacts,
                now=state.clock.now(),
            )
    except AppError as exc:
        return await _form(request, state, session, values, error=exc, status=exc.status_code)
    return RedirectResponse(f"/maintenance/{created.id}", status_code=303)


@router.get("/maintenance/{window_id}")
async def detail(request: Request, window_id: int, state: State, session: Session) -> Response:
    """Spec 5.5: one window (another operator's is 404), its notices and actions."""
    return await _detail(request, state, session, window_id, error=None, status=200)


async def _detail(
    request: Request,
    state: ConsoleState,
    session: ConsoleSession,
    window_id: int,
    *,
    error: AppError | None,
    status: int,
) -> Response:
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        notice = await notice_service.get_notice(db, session.party, window_id)
        earliest = None
        if notice.late_notice:
            earliest = await notice_service.earliest_timely_start(
                db, notice.operator_id, notice.announced_at
            )
    party = session.party
    mine = party.is_platform or notice.side == party.side
    response = page(
        request,
        state,
        "maintenance_detail.html",
        session,
        notice=notice,
        window_state=mv.window_state(notice, now),
        earliest=earliest,
        can_cancel=mine and notice.cancelled_at is None and notice.starts_at > now,
        can_complete=mine
        and notice.cancelled_at is None
        and notice.completion_sent_at is None
        and notice.starts_at <= now,
        error=error,
    )
    response.status_code = status
    return response


@router.post("/maintenance/{window_id}/cancel")
async def cancel(
    request: Request,
    window_id: int,
    state: State,
    session: Session,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Spec 5.5: cancel a window before it starts; a cancellation notice goes out."""
    check_csrf(csrf, session.csrf)
    return await _act(request, state, session, window_id, notice_service.cancel)


@router.post("/maintenance/{window_id}/complete")
async def complete(
    request: Request,
    window_id: int,
    state: State,
    session: Session,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Spec 5.5 "after maintenance: send a completion notice", once the window started."""
    check_csrf(csrf, session.csrf)
    return await _act(request, state, session, window_id, notice_service.complete)


async def _act(
    request: Request, state: ConsoleState, session: ConsoleSession, window_id: int, action: Any
) -> Response:
    try:
        async with session_scope(state.sessions) as db:
            await action(
                db,
                session.party,
                window_id,
                contacts=state.settings.platform_contacts,
                now=state.clock.now(),
            )
    except NotFound:
        raise
    except AppError as exc:
        return await _detail(request, state, session, window_id, error=exc, status=exc.status_code)
    return RedirectResponse(f"/maintenance/{window_id}", status_code=303)


@router.get("/operators/{operator_id}/maintenance.ics")
async def ics_feed(
    request: Request, operator_id: str, state: State, token: str | None = None
) -> Response:
    """An operator's windows as an RFC 5545 feed for the NOC's calendar: the console's
    session, or ``?token=`` an issued credential of that operator or of the platform
    (calendar clients send no cookie; decision D202). The token is never logged."""
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        party = await _feed_party(request, state, db, token)
        party.check_visible(operator_id, f"operator {operator_id!r}")
        operator = await registry_service.get_operator(db, operator_id)
        notices = await notice_service.list_notices(
            db, party, operator_id=operator_id, start=now - ICS_HISTORY
        )
    body = ical.calendar(
        f"Maintenance · {operator.brand_name}",
        [mv.event(n, now) for n in notices],
        stamp=now,
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="maintenance-{operator_id}.ics"'},
    )


async def _feed_party(request: Request, state: ConsoleState, db: Any, token: str | None) -> Party:
    found = console_session.read(
        request.cookies.get(COOKIE_NAME), state.session_secret, state.clock.now()
    )
    if found.session is not None:
        return found.session.party
    if token:
        if len(token) > 500:
            raise BadRequest("token is too long", field="token")
        party = await access_service.authenticate(db, token)
        if party is not None:
            return party
    raise Unauthorized("sign in, or give ?token= an operator credential for the feed")
