"""ES2+ endpoints (SGP.22 v2.5 JSON binding, esim-rsp 1.2-1.4): always HTTP 200 with
``header.functionExecutionStatus`` ``Executed-Success`` or ``Failed``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from mobileplans.apps.smdp.deps import State
from mobileplans.apps.smdp.state import SmdpState
from mobileplans.domains.smdp import es2plus
from mobileplans.domains.smdp.envelope import Es2Request

router = APIRouter(prefix="/gsma/rsp2/es2plus", tags=["ES2+"])

JSON = "application/json"
_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": {"type": "object", "required": ["header"]}}},
    },
    "parameters": [
        {
            "name": "X-Admin-Protocol",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "example": "gsma/rsp/v2.5.0"},
        }
    ],
}


async def answer(
    state: SmdpState,
    function: str,
    body: bytes,
    admin_protocol: str | None,
    content_type: str | None,
) -> bytes:
    """The HTTP 200 body of one ES2+ call (the FastAPI routes and ``fastpath`` both)."""
    es2 = Es2Request(function, body, admin_protocol, content_type)
    outcome = await state.run(
        lambda session, now: es2plus.handle(session, es2, config=state.config, now=now),
        busy=es2plus.busy,
    )
    return orjson.dumps(outcome.response)


async def _answer(function: str, request: Request, state: SmdpState) -> Response:
    headers = request.headers
    body = await answer(
        state,
        function,
        await request.body(),
        headers.get("x-admin-protocol"),
        headers.get("content-type"),
    )
    return Response(body, media_type=JSON)


@router.post("/downloadOrder", openapi_extra=_DOC)
async def download_order(request: Request, state: State) -> Response:
    """DownloadOrder (SGP.22 5.3.1; esim-rsp 1.3): ``{header, eid?, iccid?, profileType?}`` →
    ``{header, iccid}``; the profile becomes Linked (with EID) or Allocated."""
    return await _answer("downloadOrder", request, state)


@router.post("/confirmOrder", openapi_extra=_DOC)
async def confirm_order(request: Request, state: State) -> Response:
    """ConfirmOrder (SGP.22 5.3.2; esim-rsp 1.3, 1.6): ``{header, iccid, releaseFlag, eid?,
    matchingId?, confirmationCode?}`` → ``{header, eid?, matchingId, smdpAddress}``."""
    return await _answer("confirmOrder", request, state)


@router.post("/cancelOrder", openapi_extra=_DOC)
async def cancel_order(request: Request, state: State) -> Response:
    """CancelOrder (SGP.22 5.3.3; esim-rsp 1.3, 1.5): ``{header, iccid,
    finalProfileStatusIndicator, eid?, matchingId?}`` → ``{header}``."""
    return await _answer("cancelOrder", request, state)


@router.post("/releaseProfile", openapi_extra=_DOC)
async def release_profile(request: Request, state: State) -> Response:
    """ReleaseProfile (SGP.22 5.3.4; esim-rsp 1.3): ``{header, iccid}`` → ``{header}``;
    Confirmed → Released."""
    return await _answer("releaseProfile", request, state)


@router.post("/{function}", include_in_schema=False)
async def unsupported(function: str, request: Request, state: State) -> Response:
    """Any other ES2+ function: ``Failed`` 1.6/3.1 (esim-rsp 1.2: failures are HTTP 200)."""
    return await _answer(function, request, state)
