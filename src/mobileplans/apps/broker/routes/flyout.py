"""Flyout-facing broker API: balance proxy and purchase telemetry (spec 1.10, 2.3, 5.8; 7.3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.responses import Response

from mobileplans.apps.broker.deps import State, Step
from mobileplans.config import Environment
from mobileplans.domains.balance.schemas import BalanceAnswer
from mobileplans.domains.telemetry import service as telemetry_service
from mobileplans.domains.telemetry.schemas import PurchaseRecorded, PurchaseReport
from mobileplans.kit import identifiers as ids
from mobileplans.web.problems import PROBLEM_RESPONSES, validation_problem

router = APIRouter(prefix="/v1", tags=["devices"], responses=PROBLEM_RESPONSES)


@router.get(
    "/balances",
    response_class=Response,
    responses={
        200: {"model": BalanceAnswer, "content": {"application/json": {}}},
        502: {"description": "The operator's GetBalance failed"},
        503: {"description": "Held back by the operator's Retry-After"},
        504: {"description": "The operator did not answer in time"},
    },
)
async def get_balance(
    state: State,
    iccid: Annotated[str, Query(description="The SIM whose balance the flyout shows")],
    location: Annotated[
        str | None, Query(description="ISO 3166-1 alpha-2 country of the device")
    ] = None,
    environment: Annotated[Environment | None, Query()] = None,
) -> Response:
    """Get Balance(s) (spec 1.10, 2.10): proxy the SIM's operator GetBalance (spec 2.3) with a
    fresh X-MS-DM-TransactionId and answer the flyout's state.

    Served by the fast path in front of FastAPI when ``MP_BROKER_FAST_PATH`` is on; both
    produce the same bytes from :meth:`BrokerState.balance`.
    """
    country = ids.parse_country(location, field="location") if location else None
    env = (environment or state.settings.environment).value
    body = await state.balance(iccid, location=country, environment=env)
    return Response(body, media_type="application/json")


@router.post(
    "/telemetry/purchase",
    status_code=201,
    response_model=PurchaseRecorded,
    response_model_by_alias=True,
    responses={409: {"description": "Already recorded"}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": PurchaseReport.model_json_schema(by_alias=True)}
            },
            "required": True,
        }
    },
)
async def report_purchase(
    body: Annotated[dict[str, Any], Body()], state: State, session: Step
) -> PurchaseRecorded:
    """Record the purchase metadata of a portal callback (spec 2.2, 5.8)."""
    report = validation_problem(PurchaseReport, body)
    return await telemetry_service.record_purchase(session, report, now=state.clock.now())
