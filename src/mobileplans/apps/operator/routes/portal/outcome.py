"""Pages that end a session (confirmation, cancelled, error) and download re-entry (spec 1.9)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mobileplans.apps.operator.deps import Session, State
from mobileplans.apps.operator.portal_session import PortalState
from mobileplans.apps.operator.routes.portal import flow
from mobileplans.apps.operator.routes.portal.web import Portal, PortalDep, callback_json
from mobileplans.domains.purchase import callbacks, fulfilment
from mobileplans.domains.purchase.launch import parse_timestamp, report_from, status_of
from mobileplans.domains.purchase.schemas import (
    LpaErrorReport,
    MoDirectStatus,
    OrderKind,
    OrderRead,
    OrderStatus,
)
from mobileplans.errors import NotFound

router = APIRouter()


@router.get("/{operator_id}/portal/confirmation")
async def confirmation_page(portal: PortalDep, session: Session) -> Response:
    """Order confirmation with the ``mp-callback`` block: ``notifyProfileDownload`` (with
    ``downloadDelay`` for a delayed profile), ``notifyBalanceAddition``, or the legacy
    ``DataMart.notifyPurchaseResult`` (spec 2.2.2, 2.2.4). A failed order shows the error
    page with its ``notifyCancelledPurchase``. Both end the session (cookie deleted)."""
    state = portal.state
    if state is None or state.receipt is None:
        return portal.session_ended()
    order, plan = await fulfilment.receipt(session, portal.site, state.receipt, portal.now)
    assert order.callback is not None
    block = callback_json(order.callback)
    if order.status is OrderStatus.FAILED:
        status = callbacks.status_of(order.callback)
        return portal.terminal("error.html", "error", title="title.error",
                               message=portal.t(f"error.{status.value}"), detail=None,
                               callback_json=block)  # fmt: skip
    return portal.terminal("confirmation.html", "confirmation", title="title.confirmation",
                           order=order, plan=plan, message=_message(portal, order),
                           download=order.callback.get("scripts") is not None,
                           callback_json=block)  # fmt: skip


def _message(portal: Portal, order: OrderRead) -> str:
    assert order.callback is not None
    delay = callbacks.download_delay(order.callback)
    if delay:
        return portal.t("confirmation.delayed", minutes=delay)
    if order.kind is OrderKind.REISSUE:
        return portal.t("confirmation.reissued")
    if order.activation_code and order.kind is OrderKind.NEW_ESIM:
        return portal.t("confirmation.download")
    return portal.t("confirmation.balance")


def _ending(portal: Portal, kind: str) -> Response | None:
    """The terminal page of an ended session of ``kind``; ``None`` if it did not end so."""
    state = portal.state
    if state is None:
        return portal.session_ended()
    if state.end is None or state.end.kind != kind:
        return flow.guard(portal, "signin") or portal.redirect(flow.next_step(portal))
    return None


@router.get("/{operator_id}/portal/cancelled")
async def cancelled_page(portal: PortalDep) -> Response:
    """After Cancel: ``MobilePlans.notifyCancelledPurchase(meta)`` hands control back."""
    other = _ending(portal, "cancelled")
    if other is not None:
        return other
    assert portal.state is not None
    assert portal.state.end is not None
    end = portal.state.end
    return portal.terminal(
        "cancelled.html",
        "cancelled",
        title="title.cancelled",
        callback_json=callback_json(end.callback) if end.callback else None,
    )


@router.get("/{operator_id}/portal/error")
async def error_page(portal: PortalDep) -> Response:
    """An error found after launch, with support contacts and the callback for the app."""
    other = _ending(portal, "error")
    if other is not None:
        return other
    assert portal.state is not None
    assert portal.state.end is not None
    end = portal.state.end
    return portal.terminal(
        "error.html",
        "error",
        title="title.error",
        message=portal.t(end.reason),
        detail=None,
        callback_json=callback_json(end.callback) if end.callback else None,
    )


def _report(state: PortalState) -> LpaErrorReport:
    assert state.reentry is not None
    return report_from(state.reentry.iccid, state.reentry.errors)


@router.get("/{operator_id}/portal/reentry")
async def reentry_page(portal: PortalDep, session: Session) -> Response:
    """Re-entry after a failed download (``data-mp-step="reentry"``): what the PC reported
    (spec 2.1.3 codes, unknown ones as ``Other``), support contacts, and what Next does."""
    blocked = flow.guard(portal, "reentry")
    if blocked is not None:
        return blocked
    state = portal.state
    assert state is not None
    if state.reentry is None:
        return portal.redirect(flow.next_step(portal))
    t, report = portal.t, _report(state)
    errors = [
        {"code": e.name, "text": t(f"lpa.{status_of(e.name).name}"),
         "when": portal.format.when(parse_timestamp(e.raw_time)) if e.raw_time else ""}
        for e in report.errors
    ]  # fmt: skip
    if not state.signed_in or state.account_id is None:
        plan_text, label = t("reentry.signin"), t("nav.signin_first")
    else:
        try:
            reentry = await fulfilment.assess_reentry(
                session, portal.site, report, flow.device_of(state), state.account_id
            )
        except NotFound:
            return await flow.refuse(portal, session, MoDirectStatus.INVALID_SIM,
                                     "error.not_your_sim")  # fmt: skip
        plan_text, label = t(f"reentry.{reentry.action.value}"), t("nav.reissue")
    return portal.page("reentry.html", "reentry", title="title.reentry", iccid=report.iccid,
                       errors=errors, plan_text=plan_text, next_label=label,
                       checkout_key=state.reentry.key)  # fmt: skip


@router.post("/{operator_id}/portal/reentry")
async def reentry_submit(portal: PortalDep, session: Session, app: State) -> Response:
    """Next: sign in first if needed, then reuse or re-issue the profile (``reissue``)."""
    blocked = flow.guard(portal, "reentry")
    if blocked is not None:
        return blocked
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, "reentry")
    state = portal.state
    assert state is not None
    if state.reentry is None:
        return portal.redirect(flow.next_step(portal))
    if state.account_id is None:
        return portal.redirect("signin")
    es2 = app.es2plus.for_operator(portal.site.operator_id)
    try:
        order = await fulfilment.reissue_profile(
            app.sessions, es2, portal.site, _report(state), flow.device_of(state),
            account_id=state.account_id, checkout_key=state.reentry.key, clock=app.clock,
        )  # fmt: skip
    except NotFound:
        return await flow.refuse(portal, session, MoDirectStatus.INVALID_SIM, "error.not_your_sim")
    if order.status is OrderStatus.PLACED:
        return portal.redirect("reentry")
    portal.keep(flow.receipt_state(portal, order.id))
    return portal.redirect("confirmation")
