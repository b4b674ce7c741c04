"""Portal launch and the portal's own static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, Response

from mobileplans.apps.operator.deps import Site, Step
from mobileplans.apps.operator.routes.portal import flow
from mobileplans.apps.operator.routes.portal.web import PortalDep
from mobileplans.domains.purchase import service
from mobileplans.domains.purchase.launch import LaunchRefused, safe_transaction_id

router = APIRouter()
STATIC = Path(__file__).resolve().parents[2] / "static"
STATIC_FILES = {"portal.css": "text/css", "portal.js": "text/javascript"}


@router.get("/{operator_id}/portal/")
async def launch_portal(portal: PortalDep, session: Step) -> Response:
    """MO Direct portal launch (spec 2.1): ``GET`` with ``eid``, ``iccid``, ``iccids``,
    ``imei``, ``market``, ``location``, ``transactionId`` (2.1.1; unknown parameters are
    ignored), ``Accept-Language`` (2.1.2) and, on re-entry after a failed download,
    ``X-MP-LPAError-Codes``/``-TimeStamps``/``-ICCIDs`` (2.1.3).

    Valid: a new session cookie and a 303 to sign-in (or re-entry, or the account page
    for a signed-in user). Refused: an error page (``data-mp-step="error"``) whose
    callback reports ``ClientError`` (bad parameters) or ``InvalidSIM`` (not our SIM).
    """
    request = portal.request
    query = request.query_params.multi_items()
    try:
        launched = await service.start(session, portal.site, query, request.headers, portal.now)
    except LaunchRefused as exc:
        return await flow.refuse_launch(portal, session, exc.problem, safe_transaction_id(query))
    portal.keep(flow.launch_state(portal, launched))
    if launched.reentry is not None:
        return portal.redirect("reentry")
    user = flow.view_of(portal.state)
    if isinstance(user, flow.SignedIn):
        return await flow.after_sign_in(portal, session, user)
    return portal.redirect("signin")


def _static(name: str) -> Response:
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip


@router.get("/{operator_id}/static/portal.css", include_in_schema=False)
async def portal_css(site: Site) -> Response:
    """The portal's stylesheet: same origin, no web fonts or CDN (spec 5.11)."""
    return _static("portal.css")


@router.get("/{operator_id}/static/portal.js", include_in_schema=False)
async def portal_js(site: Site) -> Response:
    """The portal's only script: performs the ``mp-callback`` block (spec 2.2)."""
    return _static("portal.js")
