"""The portal's step machine: which step may be shown, and how a session ends.

Steps in order: ``signin``/``signup`` → (``account``) → ``plans`` → ``checkout`` →
``terms`` → ``review`` → ``confirmation``. Each step is a GET-able URL; its form POSTs
to the same URL and is answered with a 303 to the next step (POST-redirect-GET), so the
browser's back and forward buttons move between steps and show the values chosen. A
step whose predecessors are not done redirects to the first missing one.

Ending: Cancel on any step → ``cancelled`` (``notifyCancelledPurchase``); a refusal after
sign-in → ``error``; a placed order → ``confirmation``. The terminal page renders the
call for the app and deletes the session cookie (secure logout).

Typed views: :func:`at` guards a step and hands the route a frozen view of the session
whose fields are non-optional once the step's prerequisites hold (:class:`Live` →
:class:`SignedIn` → :class:`Chosen` → :class:`Ready`), so the routes need no asserts and
mypy checks every field they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from starlette.responses import Response

from mobileplans.apps.operator.portal_session import (
    DeviceState,
    EndState,
    PortalState,
    ReentryState,
)
from mobileplans.apps.operator.routes.portal.web import Portal, callback_json
from mobileplans.db.driver_tx import Tx
from mobileplans.domains.purchase import fulfilment, service
from mobileplans.domains.purchase.orders import new_checkout_key
from mobileplans.domains.purchase.schemas import DeviceLaunch, LaunchProblem, MoDirectStatus
from mobileplans.errors import NotFound

REQUIRES = {"plans": 1, "checkout": 2, "review": 4}  # terms: readable any time (footer link)
ORDER = ("signin", "plans", "checkout", "terms", "review")


# ---- typed views of the session ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Live:
    """A session in progress: launched on a device, not ended, no order placed yet."""

    state: PortalState
    device: DeviceState

    @property
    def transaction_id(self) -> str:
        return self.device.transaction_id

    @property
    def launch(self) -> DeviceLaunch:
        """The launch parameters, as the purchase domain takes them."""
        d = self.device
        return DeviceLaunch(
            transaction_id=d.transaction_id, location=d.location, market=d.market, eid=d.eid,
            iccid=d.iccid, iccids=tuple(d.iccids), imei=d.imei,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SignedIn(Live):
    """Signed in: the account and how it came (``userAccount`` New or Existing)."""

    account_id: int
    user_account: str


@dataclass(frozen=True, slots=True)
class Chosen(SignedIn):
    """A plan chosen, and where it goes (``"new"`` or an ICCID)."""

    plan_id: int
    target: str


@dataclass(frozen=True, slots=True)
class Ready(Chosen):
    """Everything the order needs: the payment instrument too (``saved`` or ``new``)."""

    instrument: str


View = TypeVar("View", bound=Live)


def view_of(state: PortalState | None) -> Live | None:
    """The narrowest view ``state`` allows; ``None`` without a launched device."""
    if state is None or state.device is None:
        return None
    device, account, user = state.device, state.account_id, state.user_account
    if account is None or user is None:
        return Live(state, device)
    if state.plan_id is None or state.target is None:
        return SignedIn(state, device, account, user)
    if state.instrument is None:
        return Chosen(state, device, account, user, state.plan_id, state.target)
    return Ready(state, device, account, user, state.plan_id, state.target, state.instrument)


def at(portal: Portal, step: str, kind: type[View]) -> View | Response:
    """The view of ``step`` (of type ``kind``) when it may be shown; else the answer
    :func:`guard` gives (session ended, earlier step)."""
    blocked = guard(portal, step)
    if blocked is not None:
        return blocked
    view = view_of(portal.state)
    if view is None:
        return portal.session_ended()
    if isinstance(view, kind):
        return view
    return portal.redirect(first_missing(view.state) or "signin")


# ---- the step machine ----------------------------------------------------------------------


def first_missing(state: PortalState) -> str | None:
    if not state.signed_in:
        return "signin"
    if state.plan_id is None or state.target is None:
        return "plans"
    if state.instrument is None:
        return "checkout"
    if not state.terms:
        return "terms"
    return None


def next_step(state: PortalState, after: str | None = None) -> str:
    """The step after ``after`` (a wizard: plans → checkout → terms → review), or the first
    step still missing when an earlier one is not done."""
    missing = first_missing(state)
    following = ORDER[ORDER.index(after) + 1] if after in ORDER[:-1] else "review"
    if missing is not None and ORDER.index(missing) < ORDER.index(following):
        return missing
    return following


def guard(portal: Portal, step: str) -> Response | None:
    """``None`` when ``step`` may be shown; else the answer (session ended, earlier step)."""
    state = portal.state
    if state is None or state.device is None:
        return portal.session_ended()
    if state.end is not None:
        return portal.redirect("error" if state.end.kind == "error" else "cancelled")
    if state.receipt is not None:
        return portal.redirect("confirmation")
    missing = first_missing(state)
    if missing is not None and step in REQUIRES and ORDER.index(missing) < REQUIRES[step]:
        return portal.redirect(missing)
    return None


def launch_state(portal: Portal, launched: service.Launched) -> PortalState:
    """A fresh session for this launch; a still-valid sign-in of this site is kept."""
    device, report, previous = launched.device, launched.reentry, portal.state
    carry = previous if previous is not None and previous.signed_in and not previous.end else None
    return PortalState(
        operator_id=portal.site.operator_id,
        issued=portal.now.timestamp(),
        device=DeviceState(
            transaction_id=device.transaction_id, location=device.location, market=device.market,
            eid=device.eid, iccid=device.iccid, iccids=list(device.iccids), imei=device.imei,
        ),
        account_id=carry.account_id if carry else None,
        user_account=carry.user_account if carry else None,
        email=carry.email if carry else None,
        reentry=ReentryState(
            iccid=report.iccid, errors=[(e.name, e.raw_time) for e in report.errors],
            key=new_checkout_key(),
        ) if report else None,
    )  # fmt: skip


async def refuse_launch(
    portal: Portal, session: Tx, problem: LaunchProblem, tx: str | None
) -> Response:
    """Bad launch parameters (ClientError) or a SIM not ours (InvalidSIM): error page."""
    callback = service.refused(session, portal.site, problem, tx, portal.now)
    t = portal.t
    return portal.terminal(
        "error.html", "error", title="title.error", message=t(f"error.{problem.status.value}"),
        detail=t("error.detail", field=problem.field, rule=problem.rule),
        callback_json=callback_json(callback.wire()),
    )  # fmt: skip


async def cancel(portal: Portal, session: Tx, live: Live, step: str) -> Response:
    """Cancel pressed on ``step``: hand control back with ``notifyCancelledPurchase``."""
    state = live.state
    meta = service.abandoned_meta(portal.site, step=step, user_account=state.user_account,
                                  instrument=state.instrument)  # fmt: skip
    callback = fulfilment.ended(session, portal.site, live.transaction_id, meta, portal.now,
                                event="cancelled")  # fmt: skip
    end = EndState(kind="cancelled", reason="cancelled.text", callback=callback.wire())
    portal.keep(_signed_out(state, end=end))
    return portal.redirect("cancelled")


async def refuse(
    portal: Portal, session: Tx, live: Live, status: MoDirectStatus, reason: str
) -> Response:
    """End the session on an error found after launch (e.g. another account's SIM)."""
    state = live.state
    meta = service.refusal_meta(status, state.user_account)
    callback = fulfilment.ended(session, portal.site, live.transaction_id, meta, portal.now,
                                event="refused")  # fmt: skip
    portal.keep(_signed_out(state, end=EndState(kind="error", reason=reason,
                                                 callback=callback.wire())))  # fmt: skip
    return portal.redirect("error")


async def after_sign_in(portal: Portal, session: Tx, user: SignedIn) -> Response:
    """Re-entry first, then the account page for a device with the user's lines, else plans."""
    if user.state.reentry is not None:
        return portal.redirect("reentry")
    try:
        step = await service.landing(session, portal.site, user.launch, user.account_id)
    except NotFound:
        return await refuse(portal, session, user, MoDirectStatus.INVALID_SIM, "error.InvalidSIM")
    return portal.redirect(step)


def receipt_state(portal: Portal, order_id: str) -> PortalState:
    """After an order: signed out, only the receipt left for the confirmation page."""
    state = portal.state
    if state is None:  # the order's checkout key came back after the session ended
        return PortalState(operator_id=portal.site.operator_id, issued=portal.now.timestamp(),
                           receipt=order_id)  # fmt: skip
    return _signed_out(state, receipt=order_id)


def _signed_out(
    state: PortalState, *, end: EndState | None = None, receipt: str | None = None
) -> PortalState:
    return PortalState(operator_id=state.operator_id, issued=state.issued, device=state.device,
                       end=end, receipt=receipt)  # fmt: skip
