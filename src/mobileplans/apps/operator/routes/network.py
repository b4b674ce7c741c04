"""The core-network stand-in (our design, docs/activation.md "Processes and URLs").

A real operator's packet core meters data and keeps out-of-balance lines in the walled
garden (spec 1.5). Here the device simulator reports data use and asks whether a line
may reach the open internet. Not part of the MO API: no mutual TLS, no rate limit.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from mobileplans.apps.operator.deps import DbReads, Session, Site, State
from mobileplans.domains.subscriber import balances as balance_service
from mobileplans.domains.subscriber.schemas import LineState, UsageReport, UsageResult
from mobileplans.errors import BadRequest
from mobileplans.kit import identifiers as ids
from mobileplans.web.problems import PROBLEM_RESPONSES, validation_problem

router = APIRouter(prefix="/{operator_id}/network", tags=["network"], responses=PROBLEM_RESPONSES)


async def _usage_report(request: Request) -> UsageReport:
    try:
        data: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadRequest("the body must be a JSON object", field="body") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", field="body")
    return validation_problem(UsageReport, data)


@router.post(
    "/usage",
    response_model=UsageResult,
    response_model_by_alias=True,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": UsageReport.model_json_schema()}},
        }
    },
)
async def report_usage(request: Request, site: Site, state: State, session: Session) -> Response:
    """Data used on a line: ``{"iccid", "mb", "location"?}`` → ``{"refusedMb", "state"}``.

    The balance being consumed (usable in ``location``, earliest expiry) is drained
    first; what no balance covers is refused and the line is in the walled garden.
    400: bad JSON, ICCID, ``mb`` (must be > 0) or location; 404: unknown SIM.
    """
    report = await _usage_report(request)
    iccid = ids.parse_iccid(report.iccid, field="iccid", lenient=True)
    location = ids.parse_country(report.location) if report.location is not None else None
    refused, line = await balance_service.use_data(
        session, site.operator_id, iccid, report.mb, now=state.clock.now(), location=location
    )
    result = UsageResult(refused_mb=round(refused, 3), state=line)
    return Response(orjson.dumps(result.wire()), media_type="application/json")


@router.get("/lines/{iccid}", response_model=LineState, response_model_by_alias=True)
async def get_line_state(
    iccid: str,
    site: Site,
    state: State,
    reads: DbReads,
    location: Annotated[str | None, Query(description="ISO 3166-1 alpha-2")] = None,
) -> Response:
    """``{"iccid", "walledGarden", "dataRemaininginMB", "timeRemaining"}``: walled garden
    (spec 1.5) when nothing is consumable (in ``location``, when given). Read-only: the
    driver's reads, no transaction."""
    number = ids.parse_iccid(iccid, field="iccid", lenient=True)
    country = ids.parse_country(location) if location else None
    line = await balance_service.line_state(
        reads, site.operator_id, number, now=state.clock.now(), location=country
    )
    return Response(orjson.dumps(line.wire()), media_type="application/json")
