"""Admin API of live-site reporting: SLA statements, contracts, maintenance windows, burn
rates and traffic failure percentages (spec 5.1-5.3, 5.5, 7.2 #31-#33; issue #4).

Every route needs ``Authorization: Bearer <MP_ADMIN_TOKEN>``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from mobileplans.apps.broker.deps import Admin, Session, State
from mobileplans.config import Environment
from mobileplans.domains.sla import burnrate, contracts, issuance, maintenance, render, service
from mobileplans.domains.sla.policy import SlaPolicy
from mobileplans.domains.sla.schemas import (
    BurnReport,
    ContractRead,
    ContractTerms,
    IssuedStatement,
    MaintenanceWindowIn,
    MaintenanceWindowRead,
    ProbeKind,
    SlaReport,
    Verification,
)
from mobileplans.domains.traffic import service as traffic_service
from mobileplans.domains.traffic.schemas import TrafficFailures
from mobileplans.web.params import IsoDateTime, RowId
from mobileplans.web.problems import OPS_PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["sla"], responses=OPS_PROBLEM_RESPONSES)

EnvironmentQuery = Annotated[Environment, Query(description="Probe environment")]
KindQuery = Annotated[ProbeKind | None, Query(description="Endpoint kind; all when absent")]
PeriodQuery = Annotated[
    str | None, Query(description="YYYY-MM (calendar month) or YYYY-MM-DD (day), operator's zone")
]
FromQuery = Annotated[
    str | None,
    Query(alias="from", description="Custom range start: ISO 8601 with offset, or a local date"),
]
ToQuery = Annotated[str | None, Query(alias="to", description="Custom range end (exclusive)")]
FormatQuery = Annotated[render.Format, Query(description="json (default), csv, html or table")]
_REPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "model": SlaReport,
        "content": {"application/json": {}, "text/csv": {}, "text/html": {}, "text/plain": {}},
    }
}


@lru_cache(maxsize=1)
def policy() -> SlaPolicy:
    return SlaPolicy()


@router.get("/sla/{operator_id}", response_class=Response, responses=_REPORT_CONTENT)
async def sla_report(
    operator_id: str,
    _: Admin,
    session: Session,
    state: State,
    period: PeriodQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    kind: KindQuery = None,
    environment: EnvironmentQuery = Environment.PRODUCTION,
    format: FormatQuery = "json",
) -> Response:
    """SLA statements of an operator's probes for a period (spec 5.2, 7.2 #33): probes,
    availability, latency average and p50/p95/p99, downtime, error budget, verdicts."""
    report = await service.report(
        session,
        operator_id=operator_id,
        environment=environment.value,
        kind=kind,
        period=period,
        start=start,
        end=end,
        now=state.clock.now(),
    )
    return Response(render.render(report, format), media_type=render.MEDIA_TYPES[format])


@router.get("/sla/{operator_id}/statements", response_model=list[IssuedStatement])
async def list_statements(
    operator_id: str, _: Admin, session: Session, environment: Environment | None = None
) -> list[IssuedStatement]:
    """Issued (frozen) statements of an operator, newest period first."""
    return await issuance.list_issued(
        session, operator_id, environment.value if environment else None
    )


@router.post("/sla/{operator_id}/statements", response_model=list[IssuedStatement])
async def issue_statements(
    operator_id: str,
    _: Admin,
    session: Session,
    state: State,
    period: PeriodQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    kind: KindQuery = None,
    environment: EnvironmentQuery = Environment.PRODUCTION,
) -> list[IssuedStatement]:
    """Freeze the statements of a closed period (idempotent; 409 while the period is open)."""
    return await issuance.issue(
        session,
        operator_id=operator_id,
        environment=environment.value,
        kind=kind,
        period=period,
        start=start,
        end=end,
        now=state.clock.now(),
        policy=policy(),
    )


@router.get("/sla/{operator_id}/statements/{statement_id}", response_model=IssuedStatement)
async def get_statement(
    operator_id: str, statement_id: RowId, _: Admin, session: Session
) -> IssuedStatement:
    return await issuance.get_issued(session, operator_id, statement_id)


@router.get(
    "/sla/{operator_id}/statements/{statement_id}/verification", response_model=Verification
)
async def verify_statement(
    operator_id: str, statement_id: RowId, _: Admin, session: Session
) -> Verification:
    """Recompute an issued statement from its raw evidence and compare digests."""
    return await issuance.verify(session, operator_id, statement_id)


@router.get("/sla/{operator_id}/contract", response_model=ContractRead)
async def get_contract(operator_id: str, _: Admin, session: Session) -> ContractRead:
    """The operator's SLA targets (spec 5.2 defaults when none is stored)."""
    return await contracts.get_contract(session, operator_id)


@router.put("/sla/{operator_id}/contract", response_model=ContractRead)
async def put_contract(
    operator_id: str,
    terms: Annotated[ContractTerms, Body()],
    _: Admin,
    session: Session,
    state: State,
) -> ContractRead:
    return await contracts.put_contract(session, operator_id, terms, now=state.clock.now())


@router.get("/sla/{operator_id}/maintenance", response_model=list[MaintenanceWindowRead])
async def list_windows(
    operator_id: str,
    _: Admin,
    session: Session,
    start: Annotated[IsoDateTime | None, Query(alias="from")] = None,
    end: Annotated[IsoDateTime | None, Query(alias="to")] = None,
) -> list[MaintenanceWindowRead]:
    """Maintenance windows overlapping ``[from, to)`` (spec 5.5)."""
    return await maintenance.list_windows(session, operator_id, start=start, end=end)


@router.post(
    "/sla/{operator_id}/maintenance", response_model=MaintenanceWindowRead, status_code=201
)
async def create_window(
    operator_id: str,
    window: Annotated[MaintenanceWindowIn, Body()],
    actor: Admin,
    session: Session,
    state: State,
) -> MaintenanceWindowRead:
    """Record planned maintenance (spec 5.5); with five business days' notice it is
    excluded from SLA statements and burn rates."""
    return await maintenance.create_window(
        session, operator_id, window, actor=actor, now=state.clock.now()
    )


@router.post(
    "/sla/{operator_id}/maintenance/{window_id}/cancel", response_model=MaintenanceWindowRead
)
async def cancel_window(
    operator_id: str, window_id: RowId, _: Admin, session: Session, state: State
) -> MaintenanceWindowRead:
    return await maintenance.cancel_window(session, operator_id, window_id, now=state.clock.now())


@router.get("/sla/{operator_id}/burn-rates", response_model=BurnReport)
async def burn_rates(
    operator_id: str,
    _: Admin,
    session: Session,
    state: State,
    environment: Environment | None = None,
) -> BurnReport:
    """Multi-window burn rates and firing alerts of the operator's probes."""
    return await burnrate.burn_rates(
        session,
        now=state.clock.now(),
        policy=policy(),
        operator_id=operator_id,
        environment=environment.value if environment else None,
    )


@router.get("/traffic/failures", response_model=TrafficFailures, response_model_by_alias=True)
async def traffic_failures(
    _: Admin,
    session: Session,
    state: State,
    window: Annotated[
        int | None, Query(ge=10, le=604800, description="Seconds; default 300 (spec 7.2 #31)")
    ] = None,
    environment: Environment | None = None,
) -> TrafficFailures:
    """Partner and global failure percentages of real traffic (spec 5.3) over a rolling
    window, with request counts."""
    return await traffic_service.failure_percentages(
        session,
        now=state.clock.now(),
        window=window,
        environment=environment.value if environment else None,
    )
