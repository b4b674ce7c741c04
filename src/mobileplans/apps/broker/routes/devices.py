"""Device-facing API of the broker (spec 2.10 and the suggested contract of 7.3)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from mobileplans.apps.broker.deps import State
from mobileplans.config import Environment
from mobileplans.domains.catalog import service as catalog_service
from mobileplans.domains.catalog.launch import parse_device
from mobileplans.domains.catalog.schemas import ProviderList, SimRead
from mobileplans.web.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["devices"], responses=PROBLEM_RESPONSES)

EnvironmentQuery = Annotated[
    Environment | None, Query(description="Defaults to the broker's MP_ENVIRONMENT")
]


@router.get(
    "/providers",
    response_class=Response,
    responses={200: {"model": ProviderList, "content": {"application/json": {}}}},
)
async def list_providers(
    state: State,
    location: Annotated[str, Query(description="ISO 3166-1 alpha-2 country of the device")],
    market: Annotated[str | None, Query(description="Region setting; defaults to location")] = None,
    imei: Annotated[str | None, Query()] = None,
    eid: Annotated[str | None, Query(description="eSIM PCs: the eUICC's EID")] = None,
    iccids: Annotated[str | None, Query(description="eSIM: comma list of profiles present")] = None,
    iccid: Annotated[str | None, Query(description="Physical SIM: its ICCID")] = None,
    environment: EnvironmentQuery = None,
) -> Response:
    """Get Providers (spec 2.10, 1.2 step 2): operators for the country, sorted by brand name,
    each with a portal launch URL built per spec 2.1.1 and a fresh, recorded transactionId
    (stored before the answer goes out, decision D93).

    Served by the fast path in front of FastAPI when ``MP_BROKER_FAST_PATH`` is on; both
    produce the same bytes from :meth:`BrokerState.providers`.
    """
    device = parse_device(location, market, imei, eid, iccids, iccid)
    env = (environment or state.settings.environment).value
    return Response(await state.providers(device, env), media_type="application/json")


@router.get(
    "/sims/{iccid}",
    response_model=SimRead,
    response_class=Response,
    responses={200: {"model": SimRead, "content": {"application/json": {}}}},
)
async def get_sim(iccid: str, state: State, environment: EnvironmentQuery = None) -> Response:
    """Resolve an ICCID to its operator, environment and range kind (in-memory index).

    Served by the fast path in front of FastAPI when ``MP_BROKER_FAST_PATH`` is on;
    both produce the same bytes from :func:`catalog_service.sim_record`.
    """
    env = (environment or state.settings.environment).value
    body = catalog_service.sim_record(state.snapshot, iccid, env)
    return Response(orjson.dumps(body), media_type="application/json")
