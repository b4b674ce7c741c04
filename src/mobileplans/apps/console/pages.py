"""The console's pages: overview (platform), status page and its feed; ``page()`` renders
every page with what the templates share (the operator's pages are in ``operators.py``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from mobileplans.apps.console import charts, feed, views
from mobileplans.apps.console.auth import Session, State
from mobileplans.apps.console.session import ConsoleSession
from mobileplans.apps.console.state import ConsoleState
from mobileplans.db.session import session_scope
from mobileplans.domains.sla.service import BucketRead
from mobileplans.errors import BadRequest, NotFound

router = APIRouter()
POLL_SECONDS = 15
MAX_FILTER = 100


def bars_24h(title: str, hours: list[BucketRead]) -> Markup:
    bars = [
        charts.Bar(b.start, b.availability_percent, f"{b.start:%d %b %H:00} UTC") for b in hours
    ]
    return charts.availability_bars(
        title, bars, target=views.AVAILABILITY_TARGET, first="−24 h", last="now"
    )


def bars_90d(title: str, days: list[BucketRead]) -> Markup:
    bars = [charts.Bar(b.start, b.availability_percent, f"{b.start:%d %b %Y}") for b in days]
    return charts.availability_bars(
        title, bars, target=views.AVAILABILITY_TARGET, first="−90 d", last="today"
    )


def latency_24h(title: str, hours: list[BucketRead]) -> Markup:
    points = [(b.start, b.p50_ms, b.p99_ms) for b in hours]
    return charts.latency_lines(
        title, points, threshold_ms=views.LATENCY_TARGET_MS, first="−24 h", last="now"
    )


def bars_month(title: str, days: list[BucketRead]) -> Markup:
    bars = [charts.Bar(b.start, b.availability_percent, f"{b.start:%d %b %Y}") for b in days]
    first, last = f"{days[0].start:%d %b}", f"{days[-1].start:%d %b}"
    return charts.availability_bars(
        title, bars, target=views.AVAILABILITY_TARGET, first=first, last=last
    )


def latency_month(title: str, days: list[BucketRead]) -> Markup:
    points = [(b.start, b.p50_ms, b.p99_ms) for b in days]
    first, last = f"{days[0].start:%d %b}", f"{days[-1].start:%d %b}"
    return charts.latency_lines(
        title,
        points,
        threshold_ms=views.LATENCY_TARGET_MS,
        first=first,
        last=last,
        point_format="%d %b %Y",
    )


def page(
    request: Request,
    state: ConsoleState,
    name: str,
    session: ConsoleSession | None,
    **context: Any,
) -> Response:
    base = {
        "session": session,
        "poll": POLL_SECONDS,
        "bars_24h": bars_24h,
        "bars_90d": bars_90d,
        "latency_24h": latency_24h,
        "bars_month": bars_month,
        "latency_month": latency_month,
        "status_bars": charts.status_bars,
        "state_of": views.probe_state,
        "targets": (views.AVAILABILITY_TARGET, views.LATENCY_TARGET_MS),
    }
    return state.templates.TemplateResponse(request, name, {**base, **context})


@router.get("/")
async def home(
    request: Request,
    state: State,
    session: Session,
    sort: str = views.DEFAULT_SORT,
    q: str = "",
    page: int = 1,
) -> Response:
    """The platform's overview of the operators (spec 5), a page of them at a time
    (``sort``, then the ``q`` filter, then ``page``); an operator's user lands on its own
    operator page."""
    if not session.party.is_platform:
        return RedirectResponse(f"/operators/{session.operator_id}", status_code=303)
    return await _overview(request, state, session, "overview.html", sort, q, page)


@router.get("/overview/rows")
async def overview_rows(
    request: Request,
    state: State,
    session: Session,
    sort: str = views.DEFAULT_SORT,
    q: str = "",
    page: int = 1,
) -> Response:
    """The overview's cards alone: what htmx polls every 15 s and what the filter asks
    for (keeping ``sort``, ``q`` and ``page``)."""
    if not session.party.is_platform:
        raise NotFound("page not found")
    return await _overview(request, state, session, "_overview_rows.html", sort, q, page)


def overview_query(sort: str, q: str, page: int) -> str:
    """The query string of an overview URL (the defaults left out but ``sort``)."""
    params: dict[str, str | int] = {"sort": sort}
    if q:
        params["q"] = q
    if page > 1:
        params["page"] = page
    return urlencode(params)


async def _overview(
    request: Request,
    state: ConsoleState,
    session: ConsoleSession,
    template: str,
    sort: str,
    q: str,
    number: int,
) -> Response:
    if sort not in views.SORTS:
        raise BadRequest(f"sort is one of {', '.join(views.SORTS)}", field="sort")
    if number < 1:
        raise BadRequest("page is a whole number from 1", field="page")
    if len(q) > MAX_FILTER:
        raise BadRequest(f"q is at most {MAX_FILTER} characters", field="q")
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        found = await views.overview_page(
            db, session.party, now, sort=sort, q=q.strip(), page=number
        )
    return page(
        request,
        state,
        template,
        session,
        rows=found.rows,
        paging=found,
        now=now,
        sort=sort,
        q=q.strip(),
        sorts=views.SORTS,
        query=overview_query,
    )


@router.get("/status")
async def status_page(request: Request, state: State) -> Response:
    """The platform's status page: no sign-in."""
    async with session_scope(state.sessions) as db:
        status = await views.platform_status(db, state.clock.now())
    return page(request, state, "status.html", None, status=status)


@router.get("/status/feed.atom")
async def status_feed(request: Request, state: State) -> Response:
    async with session_scope(state.sessions) as db:
        status = await views.platform_status(db, state.clock.now())
    base = str(request.base_url).rstrip("/")
    return Response(feed.atom(status, base), media_type="application/atom+xml; charset=utf-8")
