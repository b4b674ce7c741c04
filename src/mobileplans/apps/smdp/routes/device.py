"""Device download interface (docs/activation.md "Device download interface"): the LPA's
SGP.22-shaped calls; errors are HTTP 200 ``Failed`` bodies with ``esimOperationStatus``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from mobileplans.apps.smdp.deps import State
from mobileplans.apps.smdp.state import SmdpState
from mobileplans.domains.smdp import download, notifications
from mobileplans.domains.smdp.schemas import (
    CancelSessionIn,
    GetBoundProfilePackageIn,
    HandleNotificationIn,
    InitiateDownloadIn,
    Outcome,
)

router = APIRouter(prefix="/rsp/device/v1", tags=["device"])


def _doc(model: Any) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


UseCase = Callable[..., Awaitable[Outcome]]
USE_CASES: Final[dict[str, UseCase]] = {
    "initiateDownload": download.initiate_download,
    "getBoundProfilePackage": download.get_bound_profile_package,
    "handleNotification": notifications.handle_notification,
    "cancelSession": notifications.cancel_session,
}


async def answer(state: SmdpState, use_case: UseCase, raw: bytes) -> bytes | None:
    """The HTTP 200 body of one device call, ``None`` for 204 (the FastAPI routes and
    ``fastpath`` both)."""
    outcome = await state.run(
        lambda session, now: use_case(session, raw, config=state.config, now=now),
        busy=download.busy,
    )
    return None if outcome.response is None else orjson.dumps(outcome.response)


async def _answer(use_case: UseCase, request: Request, state: SmdpState) -> Response:
    body = await answer(state, use_case, await request.body())
    if body is None:
        return Response(status_code=204)
    return Response(body, media_type="application/json")


@router.post("/initiateDownload", openapi_extra=_doc(InitiateDownloadIn))
async def initiate_download(request: Request, state: State) -> Response:
    """``{eid, matchingId, imei?}`` → ``{transactionId, ccRequired, profileMetadata}``
    (docs/activation.md; esim-rsp 1.7 InitiateAuthentication + AuthenticateClient)."""
    return await _answer(download.initiate_download, request, state)


@router.post("/getBoundProfilePackage", openapi_extra=_doc(GetBoundProfilePackageIn))
async def get_bound_profile_package(request: Request, state: State) -> Response:
    """``{transactionId, hashCc?}`` → ``{transactionId, boundProfilePackage}``; the profile
    becomes Downloaded (docs/activation.md; esim-rsp 1.6, 1.7 GetBoundProfilePackage)."""
    return await _answer(download.get_bound_profile_package, request, state)


@router.post("/handleNotification", openapi_extra=_doc(HandleNotificationIn))
async def handle_notification(request: Request, state: State) -> Response:
    """``{transactionId, eid, iccid, event, success, reason?}`` → 204 (docs/activation.md;
    esim-rsp 1.7 HandleNotification)."""
    return await _answer(notifications.handle_notification, request, state)


@router.post("/cancelSession", openapi_extra=_doc(CancelSessionIn))
async def cancel_session(request: Request, state: State) -> Response:
    """``{transactionId, reason}`` → ``{transactionId}`` (docs/activation.md; esim-rsp 1.7
    CancelSession)."""
    return await _answer(notifications.cancel_session, request, state)
