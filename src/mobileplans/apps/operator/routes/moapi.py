"""The MO API the Mobile Plans service calls (spec 2.3 GetBalance, 2.6 GetOffers,
2.7 GetNotifications), under ``/{operatorId}/api/v1`` (``moBaseUrl``; ``offerUri`` and
``notificationUri`` are the same with a trailing ``/``).

Every route: mutual TLS when the site has ``mtls`` (401/403), a token bucket per client
(429 + ``Retry-After``), ``X-MS-DM-TransactionId`` required and echoed verbatim on every
response, errors as RFC 9457 problem+json naming the bad parameter in ``field``.
GETs never answer 409 (spec 7.1 #4). See docs/mo-api.md.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from mobileplans.apps.operator.deps import Session, Site, State
from mobileplans.apps.operator.mo_request import (
    TRANSACTION_HEADER,
    MoApiRoute,
    MoCaller,
    parse_fields_template,
    parse_imei,
    parse_limit,
    parse_sim_id,
    query_value,
)
from mobileplans.domains.subscriber import balances as balance_service
from mobileplans.domains.subscriber import engagement
from mobileplans.kit import identifiers as ids

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


def _json(body: dict[str, Any]) -> Response:
    return Response(
        orjson.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"}
    )


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
    session: Session,
) -> Response:
    """GetBalance (spec 2.3; 1.5 walled garden, 1.10 flyout; 7.1 #1, #6-#9).

    ``{"balances": [{"id", "type", "dataRemaininginMB", "timeRemaining"[, "locations"]}]}``;
    nothing consumable is one ``NONE`` / ``0`` / ``PT0S`` balance (200, never 404).
    """
    iccid = parse_sim_id(simId, field="simId")
    location = query_value(request, "location")
    country = ids.parse_country(location, field="location") if location else None
    limit = parse_limit(query_value(request, "limit"), required=False)
    full = parse_fields_template(query_value(request, "fieldsTemplate"))
    found = await balance_service.get_balances(
        session,
        site.operator_id,
        iccid,
        now=state.clock.now(),
        location=country,
        full=full,
        limit=limit,
    )
    return _json({"balances": [balance.wire() for balance in found]})


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
    session: Session,
) -> Response:
    """GetOffers (spec 2.6; 7.1 #21-#23): ``{"offers": [{"gatewayId": "<id>"}]}``, at most
    ``limit``, best first (rule in ``domains/subscriber/engagement.py``)."""
    iccid = parse_sim_id(simmri, field="simmri")
    limit = parse_limit(query_value(request, "limit"), required=True)
    parse_imei(query_value(request, "imei"))
    offers = await engagement.get_offers(
        session,
        site.operator_id,
        iccid,
        now=state.clock.now(),
        limit=limit or 0,
        returning_gateway_id=site.returning_gateway_id,
    )
    return _json({"offers": [offer.wire() for offer in offers]})


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
    session: Session,
) -> Response:
    """GetNotifications (spec 2.7; 7.1 #21): ``{"notifications": [{"notificationId": 1,
    "notificationType": "lowBalance"}]}`` when that type applies to the line now, else
    ``[]`` (rules in ``domains/subscriber/engagement.py``)."""
    iccid = parse_sim_id(simmri, field="simmri")
    kind = engagement.parse_notification_type(query_value(request, "notificationType"))
    limit = parse_limit(query_value(request, "limit"), required=True)
    parse_imei(query_value(request, "imei"))
    found = await engagement.get_notifications(
        session, site.operator_id, iccid, kind, now=state.clock.now(), limit=limit or 0
    )
    return _json({"notifications": [notification.wire() for notification in found]})
