"""The MO API the Mobile Plans service calls (spec 2.3 GetBalance, 2.6 GetOffers,
2.7 GetNotifications), under ``/{operatorId}/api/v1`` (``moBaseUrl``; ``offerUri`` and
``notificationUri`` are the same with a trailing ``/``).

Every route: mutual TLS when the site has ``mtls`` (401/403), a token bucket per client
(429 + ``Retry-After``), ``X-MS-DM-TransactionId`` required and echoed verbatim on every
response, errors as RFC 9457 problem+json naming the bad parameter in ``field``.
GETs never answer 409 (spec 7.1 #4). See docs/mo-api.md.

Each route's work after the request checks is an ``answer_*`` function (the SIM, the
query parameters, the reads, the body bytes), shared with ``apps/operator/fastpath.py``,
which answers the same three routes in front of FastAPI. The reads run on the raw
driver (``DbReads``: no session, no begin/commit).
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from mobileplans.apps.operator.deps import DbReads, Site, State
from mobileplans.apps.operator.mo_request import (
    TRANSACTION_HEADER,
    MoApiRoute,
    MoCaller,
    QueryValues,
    parse_fields_template,
    parse_imei,
    parse_limit,
    parse_sim_id,
    parsed,
    query_value,
)
from mobileplans.config import OperatorSite
from mobileplans.db.reads import Reads
from mobileplans.domains.subscriber import balances as balance_service
from mobileplans.domains.subscriber import engagement
from mobileplans.kit import identifiers as ids
from mobileplans.kit.clock import Clock

router = APIRouter(prefix="/{operator_id}/api/v1", tags=["mo-api"], route_class=MoApiRoute)


def _param(name: str, description: str, *, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


_HEADER_DOC = {
    "name": TRANSACTION_HEADER,
    "in": "header",
    "required": True,
    "description": 'Sent with quotes ("MSFT-<uuid>"); echoed verbatim (spec 2.9)',
    "schema": {"type": "string"},
}
_ERRORS = {
    str(code): {"description": text}
    for code, text in (
        (400, "Bad parameter or header; `field` names it"),
        (401, "Missing or expired client certificate"),
        (403, "Client certificate not trusted (subject, purpose)"),
        (404, "Unknown SIM or operator"),
        (429, "Too many requests; see Retry-After"),
    )
}


JSON_HEADERS: Final = {"Cache-Control": "no-store"}


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json", headers=JSON_HEADERS)


def balance_parameters(query: QueryValues) -> tuple[str | None, int | None, bool]:
    """GetBalance's query parameters in the order of spec 2.3: ``location`` (a country),
    ``limit``, ``fieldsTemplate`` (True for ``full``)."""
    location = query_value(query, "location")
    country = ids.parse_country(location, field="location") if location else None
    limit = parse_limit(query_value(query, "limit"), required=False)
    return country, limit, parse_fields_template(query_value(query, "fieldsTemplate"))


async def answer_balance(
    site: OperatorSite, clock: Clock, reads: Reads, sim_id: str, query: QueryValues
) -> bytes:
    """GetBalance after the request checks: parameters in the order of spec 2.3, then
    the reads (``NotFound`` for an unknown SIM); the response body."""
    iccid = parse_sim_id(sim_id, field="simId")
    country, limit, full = parsed(query, balance_parameters)
    found = await balance_service.get_balances_wire(
        reads,
        site.operator_id,
        iccid,
        now=clock.now(),
        location=country,
        full=full,
        limit=limit,
    )
    return orjson.dumps({"balances": found})


async def answer_offers(
    site: OperatorSite, clock: Clock, reads: Reads, sim_id: str, query: QueryValues
) -> bytes:
    """GetOffers after the request checks (spec 2.6)."""
    iccid = parse_sim_id(sim_id, field="simmri")
    limit = parse_limit(query_value(query, "limit"), required=True)
    parse_imei(query_value(query, "imei"))
    offers = await engagement.get_offers(
        reads,
        site.operator_id,
        iccid,
        now=clock.now(),
        limit=limit or 0,
        returning_gateway_id=site.returning_gateway_id,
    )
    return orjson.dumps({"offers": [offer.wire() for offer in offers]})


async def answer_notifications(
    site: OperatorSite, clock: Clock, reads: Reads, sim_id: str, query: QueryValues
) -> bytes:
    """GetNotifications after the request checks (spec 2.7)."""
    iccid = parse_sim_id(sim_id, field="simmri")
    kind = engagement.parse_notification_type(query_value(query, "notificationType"))
    limit = parse_limit(query_value(query, "limit"), required=True)
    parse_imei(query_value(query, "imei"))
    found = await engagement.get_notifications(
        reads, site.operator_id, iccid, kind, now=clock.now(), limit=limit or 0
    )
    return orjson.dumps({"notifications": [notification.wire() for notification in found]})


@router.get(
    "/sims/{simId}/balances",
    openapi_extra={
        "parameters": [
            _HEADER_DOC,
            _param("location", "ISO 3166-1 alpha-2, any case, UK = GB; missing: all balances"),
            _param("limit", "0 to 2147483647; missing: all balances"),
            _param("fieldsTemplate", "basic (default) or full (adds locations)"),
        ],
        "responses": _ERRORS,
    },
)
async def get_balance(
    simId: str,  # the spec's path variable name
    request: Request,
    _caller: MoCaller,
    site: Site,
    state: State,
    reads: DbReads,
) -> Response:
    """GetBalance (spec 2.3; 1.5 walled garden, 1.10 flyout; 7.1 #1, #6-#9).

    ``{"balances": [{"id", "type", "dataRemaininginMB", "timeRemaining"[, "locations"]}]}``;
    nothing consumable is one ``NONE`` / ``0`` / ``PT0S`` balance (200, never 404).
    """
    return _json(await answer_balance(site, state.clock, reads, simId, request.query_params))


@router.get(
    "/sims/{simmri}/offers",
    openapi_extra={
        "parameters": [
            _HEADER_DOC,
            _param("limit", "Required: the most offers to return", required=True),
            _param("imei", "Optional: the device's IMEI (15 digits, Luhn)"),
        ],
        "responses": _ERRORS,
    },
)
async def get_offers(
    simmri: str,
    request: Request,
    _caller: MoCaller,
    site: Site,
    state: State,
    reads: DbReads,
) -> Response:
    """GetOffers (spec 2.6; 7.1 #21-#23): ``{"offers": [{"gatewayId": "<id>"}]}``, at most
    ``limit``, best first (rule in ``domains/subscriber/engagement.py``)."""
    return _json(await answer_offers(site, state.clock, reads, simmri, request.query_params))


@router.get(
    "/sims/{simmri}/notifications",
    openapi_extra={
        "parameters": [
            _HEADER_DOC,
            _param(
                "notificationType",
                "Required: lowBalance, zeroBalance, newOffer, trialOffer, trialEnding or"
                " trialEnded (display names accepted, any case)",
                required=True,
            ),
            _param("limit", "Required: the most notifications to return", required=True),
            _param("imei", "Optional: the device's IMEI (15 digits, Luhn)"),
        ],
        "responses": _ERRORS,
    },
)
async def get_notifications(
    simmri: str,
    request: Request,
    _caller: MoCaller,
    site: Site,
    state: State,
    reads: DbReads,
) -> Response:
    """GetNotifications (spec 2.7; 7.1 #21): ``{"notifications": [{"notificationId": 1,
    "notificationType": "lowBalance"}]}`` when that type applies to the line now, else
    ``[]`` (rules in ``domains/subscriber/engagement.py``)."""
    return _json(await answer_notifications(site, state.clock, reads, simmri, request.query_params))
