"""The console's pages: overview (platform), operator page, status page and its feed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from mobileplans.apps.console import charts, feed, views
from mobileplans.apps.console.auth import Session, State
from mobileplans.apps.console.session import ConsoleSession
from mobileplans.apps.console.state import ConsoleState
from mobileplans.db.session import session_scope
from mobileplans.domains.onboarding import gates
from mobileplans.domains.onboarding import service as onboarding_service
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.sla import render as sla_render
from mobileplans.domains.sla import service as sla_service
from mobileplans.domains.sla.service import BucketRead
from mobileplans.errors import NotFound

router = APIRouter()
POLL_SECONDS = 15


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
        "status_bars": charts.status_bars,
        "state_of": views.probe_state,
        "targets": (views.AVAILABILITY_TARGET, views.LATENCY_TARGET_MS),
    }
    return state.templates.TemplateResponse(request, name, {**base, **context})


@router.get("/")
async def home(request: Request, state: State, session: Session) -> Response:
    if not session.party.is_platform:
        return RedirectResponse(f"/operators/{session.operator_id}", status_code=303)
    return await _overview(request, state, session, "overview.html")


@router.get("/overview/rows")
async def overview_rows(request: Request, state: State, session: Session) -> Response:
    """The overview's table alone: what htmx polls every 15 s."""
    if not session.party.is_platform:
        raise NotFound("page not found")
    return await _overview(request, state, session, "_overview_rows.html")


async def _overview(
    request: Request, state: ConsoleState, session: ConsoleSession, template: str
) -> Response:
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        rows = await views.overview(db, session.party, now)
    return page(request, state, template, session, rows=rows, now=now)


@router.get("/operators/{operator_id}")
async def operator_page(
    request: Request, operator_id: str, state: State, session: Session
) -> Response:
    party = session.party
    party.check_visible(operator_id, f"operator {operator_id!r}")
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        rows = await views.overview(db, party, now, only=operator_id)
        if not rows:
            raise NotFound(f"operator {operator_id!r} does not exist")
        row = rows[0]
        ids = [p.id for p in row.probes]
        probe_hours = await sla_service.probe_buckets(db, ids, end=now, grain="hour", count=24)
        failures = await probe_service.recent_failures(db, ids, since=now - timedelta(days=1))
        project, gonogo = await _onboarding(db, party, operator_id, now)
    return page(
        request,
        state,
        "operator.html",
        session,
        row=row,
        probe_hours=probe_hours,
        failures=failures,
        probes_by_id={p.id: p for p in row.probes},
        project=project,
        gonogo=gonogo,
        now=now,
    )


async def _onboarding(db: Any, party: Any, operator_id: str, now: datetime) -> tuple[Any, Any]:
    try:
        project = await onboarding_service.show(db, party, operator_id, now=now)
        return project, await gates.go_no_go(db, party, operator_id, now=now)
    except NotFound:
        return None, None


@router.get("/operators/{operator_id}/sla.{fmt}")
async def sla_download(
    operator_id: str,
    fmt: Literal["csv", "json"],
    state: State,
    session: Session,
    period: str | None = None,
) -> Response:
    """This month's SLA statements (or ``period``) rendered by the SLA domain (spec 5.2)."""
    session.party.check_visible(operator_id, f"operator {operator_id!r}")
    async with session_scope(state.sessions) as db:
        report = await sla_service.report(
            db, operator_id=operator_id, period=period, now=state.clock.now()
        )
    media = "text/csv" if fmt == "csv" else "application/json"
    name = f"sla-{operator_id}-{report.period.label if report.period else 'all'}.{fmt}"
    return Response(
        sla_render.render(report, fmt),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
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
