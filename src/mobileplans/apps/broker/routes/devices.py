"""Device-facing API of the broker (spec 2.10 and the suggested contract of 7.3)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from mobileplans.apps.broker.deps import Session, State
from mobileplans.config import Environment
from mobileplans.domains.catalog import service as catalog_service
from mobileplans.domains.catalog.launch import DeviceContext
from mobileplans.domains.catalog.schemas import ProviderList, SimRead
from mobileplans.errors import BadRequest
from mobileplans.kit import identifiers as ids
from mobileplans.web.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["devices"], responses=PROBLEM_RESPONSES)

EnvironmentQuery = Annotated[
    Environment | None, Query(description="Defaults to the broker's MP_ENVIRONMENT")
]


def parse_device(
    location: str,
    market: str | None,
    imei: str | None,
    eid: str | None,
    iccids: str | None,
    iccid: str | None,
) -> DeviceContext:
    """Validate the device parameters; every rule broken names its parameter."""
    if iccid and (eid or iccids):
        raise BadRequest("a physical SIM (iccid) excludes eid and iccids", field="iccid")
    country = ids.parse_country(location, field="location")
    return DeviceContext(
        location=country,
        market=ids.parse_country(market, field="market") if market else country,
        imei=ids.parse_imei(imei) if imei else None,
        eid=ids.parse_eid(eid) if eid else None,
        iccids=tuple(ids.parse_iccid_list(iccids, lenient=True)),
        iccid=ids.parse_iccid(iccid, lenient=True) if iccid else None,
    )


@router.get("/providers", response_model=ProviderList, response_model_by_alias=True)
async def list_providers(
    state: State,
    session: Session,
    location: Annotated[str, Query(description="ISO 3166-1 alpha-2 country of the device")],
    market: Annotated[str | None, Query(description="Region setting; defaults to location")] = None,
    imei: Annotated[str | None, Query()] = None,
    eid: Annotated[str | None, Query(description="eSIM PCs: the eUICC's EID")] = None,
    iccids: Annotated[str | None, Query(description="eSIM: comma list of profiles present")] = None,
    iccid: Annotated[str | None, Query(description="Physical SIM: its ICCID")] = None,
    environment: EnvironmentQuery = None,
) -> ProviderList:
    """Get Providers (spec 2.10, 1.2 step 2): operators for the country, sorted by brand name,
    each with a portal launch URL built per spec 2.1.1 and a fresh, recorded transactionId."""
    device = parse_device(location, market, imei, eid, iccids, iccid)
    env = (environment or state.settings.environment).value
    return await catalog_service.list_providers(
        session, state.snapshot, device, environment=env, now=state.clock.now()
    )


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
