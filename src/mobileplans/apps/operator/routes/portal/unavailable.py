"""The portal while the database is away: its own error page, status 503 (issue #11, D265).

The operator app answers a database outage through ``web.unavailable``: problem+json on
the MO API, ES2+ and network routes. A portal page is shown by the Mobile Plans app's
WebView (spec 2.1, 5.11 reference design), so it gets the portal's error page instead:
``data-mp-step="error"``, the portal's headers (Content-Security-Policy, ``no-store``...),
status 503 with ``Retry-After``, and, like every error page, the call handing control
back to the app (spec 2.2.4: ``notifyCancelledPurchase`` with ``moDirectStatus``
``ServiceError``; legacy portals ``DataMart.notifyPurchaseResult``, spec 2.2.2), which
ends the portal session. Nothing is written: the call is not journalled.

One exception: a session that has sent its order (a receipt in the session, or the
review's ``POST`` itself) gets no call: the order may well have been placed, and a
``ServiceError`` would contradict it. Its page keeps the session and links back (to the
confirmation, or to the review, whose checkout key makes pressing Buy now again the
same order).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from mobileplans.apps.operator.routes.portal.web import Portal, callback_json
from mobileplans.apps.operator.state import OperatorState
from mobileplans.config import OperatorSite
from mobileplans.db.errors import DatabaseUnavailable
from mobileplans.domains.purchase import callbacks, service
from mobileplans.domains.purchase.schemas import MoDirectStatus
from mobileplans.web.unavailable import problem

MAX_TRANSACTION_ID = 64
"""A launch's ``transactionId`` is 1-64 printable characters (docs/portal.md "Launch")."""


def _site(request: Request) -> OperatorSite | None:
    """The portal's site when ``request`` is for ``/{operatorId}/portal/...``, else None."""
    parts = request.url.path.split("/", 3)
    if len(parts) < 3 or parts[2] != "portal":
        return None
    state: OperatorState = request.app.state.operator
    return state.config.site(parts[1])


def render(request: Request, error: DatabaseUnavailable) -> Response:
    """The operator app's 503: the portal's error page on a portal page, else the problem."""
    site = _site(request)
    if site is None:
        return problem(request, error)
    response = _page(Portal(request, site, request.app.state.operator))
    response.status_code = 503
    response.headers["Retry-After"] = str(error.extra["retryAfter"])
    return response


def _page(portal: Portal) -> Response:
    state = portal.state
    sent = _order_sent(portal)
    if sent is not None:
        return portal.page("error.html", "error", title="title.unavailable",
                           message=portal.t("error.unavailable_order"), detail=None,
                           retry=portal.url(sent))  # fmt: skip
    if state is not None and state.device is not None:
        transaction_id, account = state.device.transaction_id, state.user_account
    else:  # the launch itself: the app's transactionId, as the launch's own refusals
        transaction_id, account = portal.request.query_params.get("transactionId", ""), None
    meta = service.refusal_meta(MoDirectStatus.SERVICE_ERROR, account)
    call = callbacks.failure(service.api_of(portal.site), meta,
                             transaction_id=transaction_id[:MAX_TRANSACTION_ID])  # fmt: skip
    return portal.terminal("error.html", "error", title="title.unavailable",
                           message=portal.t("error.unavailable"), detail=None,
                           callback_json=callback_json(call.wire()))  # fmt: skip


def _order_sent(portal: Portal) -> str | None:
    """The step to try again when the session's order may be placed, else None."""
    state = portal.state
    if state is None or state.end is not None:
        return None
    if state.receipt is not None:
        return "confirmation"
    request = portal.request
    if request.method == "POST" and request.url.path == portal.url("review"):
        return "review"
    return None
