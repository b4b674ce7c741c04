"""Pages that end a session (confirmation, cancelled, error) and download re-entry (spec 1.9)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from mobileplans.apps.operator.deps import DbReads, Session, State, Step
from mobileplans.apps.operator.portal_session import EndState, ReentryState
from mobileplans.apps.operator.routes.portal import flow
from mobileplans.apps.operator.routes.portal.web import Portal, PortalDep, Tx, callback_json
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
async def confirmation_page(portal: PortalDep, session: Step, reads: DbReads) -> Response:
    """Order confirmation with the ``mp-callback`` block: ``notifyProfileDownload`` (with
    ``downloadDelay`` for a delayed profile), ``notifyBalanceAddition``, or the legacy
    ``DataMart.notifyPurchaseResult`` (spec 2.2.2, 2.2.4). A failed order shows the error
    page with its ``notifyCancelledPurchase``. Both end the session (cookie deleted)."""
    state = portal.state
    if state is None or state.receipt is None:
        return portal.session_ended()
    order, plan = await fulfilment.receipt(session, portal.site, state.receipt, portal.now,
                                           reads=reads)  # fmt: skip
    callback = order.callback
    if callback is None:  # still being placed (its checkout key came back): not the end yet
        return portal.page("error.html", "error", title="title.error",
                           message=portal.t("review.pending"), detail=None)  # fmt: skip
    block = callback_json(callback)
    if order.status is OrderStatus.FAILED:
        status = callbacks.status_of(callback)
        return portal.terminal("error.html", "error", title="title.error",
                               message=portal.t(f"error.{status.value}"), detail=None,
                               callback_json=block)  # fmt: skip
    return portal.terminal("confirmation.html", "confirmation", title="title.confirmation",
                           order=order, plan=plan, message=_message(portal, order, callback),
                           download=callback.get("scripts") is not None,
                           callback_json=block)  # fmt: skip


def _message(portal: Portal, order: OrderRead, callback: dict[str, Any]) -> str:
    delay = callbacks.download_delay(callback)
    if delay:
        return portal.t("confirmation.delayed", minutes=delay)
    if order.kind is OrderKind.REISSUE:
        return portal.t("confirmation.reissued")
    if order.activation_code and order.kind is OrderKind.NEW_ESIM:
        return portal.t("confirmation.download")
    return portal.t("confirmation.balance")


def _ending(portal: Portal, kind: str) -> EndState | Response:
    """How a session of ``kind`` ended; else the page to show (an ended session of another
    kind, or the step to continue at)."""
    state = portal.state
    if state is None:
        return portal.session_ended()
    if state.end is None or state.end.kind != kind:
        return flow.guard(portal, "signin") or portal.redirect(flow.next_step(state))
    return state.end


@router.get("/{operator_id}/portal/cancelled")
async def cancelled_page(portal: PortalDep) -> Response:
    """After Cancel: ``MobilePlans.notifyCancelledPurchase(meta)`` hands control back."""
    end = _ending(portal, "cancelled")
    if isinstance(end, Response):
        return end
    return portal.terminal(
        "cancelled.html",
        "cancelled",
        title="title.cancelled",
        callback_json=callback_json(end.callback) if end.callback else None,
    )


@router.get("/{operator_id}/portal/error")
async def error_page(portal: PortalDep) -> Response:
    """An error found after launch, with support contacts and the callback for the app."""
    end = _ending(portal, "error")
    if isinstance(end, Response):
        return end
    return portal.terminal(
        "error.html",
        "error",
        title="title.error",
        message=portal.t(end.reason),
        detail=None,
        callback_json=callback_json(end.callback) if end.callback else None,
    )


def _report(reentry: ReentryState) -> LpaErrorReport:
    return report_from(reentry.iccid, reentry.errors)


@router.get("/{operator_id}/portal/reentry")
async def reentry_page(portal: PortalDep, session: Session) -> Response:
    """Re-entry after a failed download (``data-mp-step="reentry"``): what the PC reported
    (spec 2.1.3 codes, unknown ones as ``Other``), support contacts, and what Next does."""
    live = flow.at(portal, "reentry", flow.Live)
    if isinstance(live, Response):
        return live
    if live.state.reentry is None:
        return portal.redirect(flow.next_step(live.state))
    t, report = portal.t, _report(live.state.reentry)
    errors = [
        {"code": e.name, "text": t(f"lpa.{status_of(e.name).name}"),
         "when": portal.format.when(parse_timestamp(e.raw_time)) if e.raw_time else ""}
        for e in report.errors
    ]  # fmt: skip
    if not isinstance(live, flow.SignedIn):
        plan_text, label = t("reentry.signin"), t("nav.signin_first")
    else:
        try:
            reentry = await fulfilment.assess_reentry(
                session, portal.site, report, live.launch, live.account_id
            )
        except NotFound:
            return await flow.refuse(portal, session, live, MoDirectStatus.INVALID_SIM,
                                     "error.not_your_sim")  # fmt: skip
        plan_text, label = t(f"reentry.{reentry.action.value}"), t("nav.reissue")
    return portal.page("reentry.html", "reentry", title="title.reentry", iccid=report.iccid,
                       errors=errors, plan_text=plan_text, next_label=label,
                       checkout_key=live.state.reentry.key)  # fmt: skip


@router.post("/{operator_id}/portal/reentry")
async def reentry_submit(portal: PortalDep, tx: Tx, app: State) -> Response:
    """Next: sign in first if needed, then reuse or re-issue the profile (``reissue``).

    No request session: a re-issue calls the SM-DP+ between short transactions of ``tx``
    (docs/architecture.md, "Transactions")."""
    live = flow.at(portal, "reentry", flow.Live)
    if isinstance(live, Response):
        return live
    form = await portal.form()
    if form.get("action") == "cancel":
        async with tx.step() as session:
            return await flow.cancel(portal, session, live, "reentry")
    reentry = live.state.reentry
    if reentry is None:
        return portal.redirect(flow.next_step(live.state))
    if not isinstance(live, flow.SignedIn):
        return portal.redirect("signin")
    es2 = app.es2plus.for_operator(portal.site.operator_id)
    try:
        order = await fulfilment.reissue_profile(
            tx, es2, portal.site, _report(reentry), live.launch,
            account_id=live.account_id, checkout_key=reentry.key, clock=app.clock,
        )  # fmt: skip
    except NotFound:
        async with tx.step() as session:
            return await flow.refuse(portal, session, live, MoDirectStatus.INVALID_SIM,
                                     "error.not_your_sim")  # fmt: skip
    if order.status is OrderStatus.PLACED:
        return portal.redirect("reentry")
    portal.keep(flow.receipt_state(portal, order.id))
    return portal.redirect("confirmation")
