"""ES2+ callbacks from the SM-DP+ to this operator (SGP.22 v2.5 JSON binding)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mobileplans.apps.operator.deps import Site, State, Step
from mobileplans.domains.purchase.progress import DownloadProgressInfo, record_download_progress
from mobileplans.errors import BadRequest
from mobileplans.web.problems import PROBLEM_RESPONSES, validation_problem

router = APIRouter(tags=["es2plus"], responses=PROBLEM_RESPONSES)


@router.post(
    "/{operator_id}/gsma/rsp2/es2plus/handleDownloadProgressInfo",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Recorded"}, 404: {"description": "Unknown ICCID"}},
)
async def handle_download_progress_info(
    request: Request, site: Site, state: State, session: Step
) -> Response:
    """ES2+ HandleDownloadProgressInfo (SGP.22 5.3.5; esim-rsp 1.3): the SM-DP+ reports a
    notification point (1 eligibility, 3 BPP download, 4 installation) for a profile.

    204 once recorded (the line moves to ``downloaded`` / ``installed`` on success);
    400 problem+json naming the field for a body that is not JSON or misses ``iccid``,
    ``profileType``, ``timestamp``, ``notificationPointId`` or ``notificationPointStatus``;
    404 for an ICCID this operator does not know.
    """
    try:
        payload = await request.json()
    except ValueError as exc:
        raise BadRequest("body must be a JSON object", field="body") from exc
    if not isinstance(payload, dict):
        raise BadRequest("body must be a JSON object", field="body")
    info = validation_problem(DownloadProgressInfo, payload)
    async with state.reads.hold() as reads:  # the reads on the driver; the session writes
        await record_download_progress(session, site.operator_id, info, payload,
                                       state.clock.now(), reads=reads)  # fmt: skip
    return Response(status_code=204)
