"""The operator's pages (issue #10): the operator page, its onboarding page, a conformance
run, the SLA statement of a month (HTML with plots, CSV, JSON). Platform and that operator
only: another operator's pages answer 404, exactly as the API does (``Party.check_visible``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.apps.console import operator_views as views
from mobileplans.apps.console.auth import Session, State
from mobileplans.apps.console.pages import page
from mobileplans.apps.console.views import OperatorRow, overview
from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import Party
from mobileplans.domains.onboarding import service as onboarding_service
from mobileplans.domains.probe import service as probe_service
from mobileplans.domains.sla import render as sla_render
from mobileplans.domains.sla import service as sla_service
from mobileplans.domains.sla.schemas import SlaReport
from mobileplans.errors import NotFound

router = APIRouter()
Format = Literal["csv", "json"]


async def _row(db: AsyncSession, party: Party, operator_id: str, now: datetime) -> OperatorRow:
    party.check_visible(operator_id, f"operator {operator_id!r}")
    rows = await overview(db, party, now, only=operator_id)
    if not rows:
        raise NotFound(f"operator {operator_id!r} does not exist")
    return rows[0]


@router.get("/operators/{operator_id}")
async def operator_page(
    request: Request, operator_id: str, state: State, session: Session
) -> Response:
    """Configuration, probes (spec 5.1), traffic failures (5.3), SLA months (5.2),
    onboarding (4.4-4.5) and conformance runs (4.1) of one operator."""
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        row = await _row(db, session.party, operator_id, now)
        ids = [p.id for p in row.probes]
        probe_hours = await sla_service.probe_buckets(db, ids, end=now, grain="hour", count=24)
        failures = await probe_service.recent_failures(db, ids, since=now - timedelta(days=1))
        traffic = await views.traffic(db, operator_id, now)
        onboarding = await views.onboarding(db, session.party, operator_id, now)
    return page(
        request,
        state,
        "operator.html",
        session,
        row=row,
        probe_hours=probe_hours,
        failures=failures,
        probes_by_id={p.id: p for p in row.probes},
        traffic=traffic,
        traffic_environment=views.TRAFFIC_ENVIRONMENT,
        months=views.sla_months(now, row.spec.timezone),
        onboarding=onboarding,
        now=now,
    )


@router.get("/operators/{operator_id}/onboarding")
async def onboarding_page(
    request: Request, operator_id: str, state: State, session: Session
) -> Response:
    """The onboarding plan (spec 4.4): milestones, evidence, Go/No-Go (4.5), timeline."""
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        row = await _row(db, session.party, operator_id, now)
        onboarding = await views.onboarding(db, session.party, operator_id, now)
    return page(request, state, "onboarding.html", session, row=row, onboarding=onboarding, now=now)


@router.get("/operators/{operator_id}/conformance/{evidence_id}")
async def conformance_run(
    request: Request, operator_id: str, evidence_id: int, state: State, session: Session
) -> Response:
    """One filed conformance run (spec 4.1 test plan): verdict, seal, each case's outcome."""
    if not 0 < evidence_id < 2**63:
        raise NotFound(f"evidence {evidence_id} does not exist")
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        row = await _row(db, session.party, operator_id, now)
        run = await onboarding_service.evidence_detail(db, session.party, operator_id, evidence_id)
    cases = views.case_rows(run)
    return page(request, state, "conformance_run.html", session, row=row, run=run, cases=cases)


@router.get("/operators/{operator_id}/sla/{month}.{fmt}")
async def sla_month_download(
    operator_id: str,
    month: str,
    fmt: Format,
    state: State,
    session: Session,
    environment: str | None = None,
) -> Response:
    """One month's SLA statements (spec 5.2) as CSV or JSON, rendered by the SLA domain."""
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        row = await _row(db, session.party, operator_id, now)
        views.check_month(month, now, row.spec.timezone)
        env = views.sla_environment(row, environment)
        report = await sla_service.report(
            db, operator_id=operator_id, environment=env, period=month, now=now
        )
    return _download(report, operator_id, fmt)


@router.get("/operators/{operator_id}/sla/{month}")
async def sla_month_page(
    request: Request,
    operator_id: str,
    month: str,
    state: State,
    session: Session,
    environment: str | None = None,
) -> Response:
    """One month's SLA statements (spec 5.2) with daily availability and latency plots."""
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        row = await _row(db, session.party, operator_id, now)
        views.check_month(month, now, row.spec.timezone)
        env = views.sla_environment(row, environment)
        statements = await views.month_statements(
            db, operator_id, env, month, row.spec.timezone, now
        )
    return page(
        request,
        state,
        "sla_month.html",
        session,
        row=row,
        month=month,
        m=statements,
        environment=env,
        environments=views.probed_environments(row),
        now=now,
    )


@router.get("/operators/{operator_id}/sla.{fmt}")
async def sla_download(
    operator_id: str,
    fmt: Format,
    state: State,
    session: Session,
    period: str | None = None,
    environment: str | None = None,
) -> Response:
    """This month's SLA statements (or ``period``) rendered by the SLA domain (spec 5.2),
    for ``environment`` (default: as the month pages choose it, production when probed)."""
    now = state.clock.now()
    async with session_scope(state.sessions) as db:
        row = await _row(db, session.party, operator_id, now)
        env = views.sla_environment(row, environment)
        report = await sla_service.report(
            db, operator_id=operator_id, environment=env, period=period, now=now
        )
    return _download(report, operator_id, fmt)


def _download(report: SlaReport, operator_id: str, fmt: Format) -> Response:
    name = f"sla-{operator_id}-{report.period.label if report.period else 'all'}.{fmt}"
    return Response(
        sla_render.render(report, fmt),
        media_type=sla_render.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
