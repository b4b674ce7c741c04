"""Plan choice, checkout, Terms of Service and order review (spec 1.2 step 5, 5.11)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mobileplans.apps.operator.deps import Session, State
from mobileplans.apps.operator.portal_session import CardState
from mobileplans.apps.operator.routes.portal import flow
from mobileplans.apps.operator.routes.portal.web import Portal, PortalDep
from mobileplans.domains.purchase import fulfilment, service
from mobileplans.domains.purchase.orders import new_checkout_key
from mobileplans.domains.purchase.payment import CardOnFile
from mobileplans.domains.purchase.schemas import OrderStatus
from mobileplans.errors import BadRequest

router = APIRouter()


async def _plans_page(
    portal: Portal, session: Session, error: BadRequest | None = None
) -> Response:
    state = portal.state
    assert state is not None
    assert state.account_id is not None
    options = await service.plan_options(session, portal.site, flow.device_of(state),
                                         state.account_id)  # fmt: skip
    chosen_target = state.target or (options.targets[0].value if options.targets else None)
    return portal.page("plans.html", "plans", title="title.plans", plans=options.plans,
                       targets=options.targets, chosen_plan=state.plan_id,
                       chosen_target=chosen_target, back=None,
                       error=portal.t("plans.pick") if error else None,
                       error_field=error.extra.get("field") if error else None)  # fmt: skip


@router.get("/{operator_id}/portal/plans")
async def plans_page(portal: PortalDep, session: Session) -> Response:
    """Plan choice (``plan`` radios with ``data-mp-plan-code``; ``line`` when there is a choice
    between a line on this device and a new eSIM): price, data and validity shown."""
    return flow.guard(portal, "plans") or await _plans_page(portal, session)


@router.post("/{operator_id}/portal/plans")
async def plans_submit(portal: PortalDep, session: Session) -> Response:
    blocked = flow.guard(portal, "plans")
    if blocked is not None:
        return blocked
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, "plans")
    state = portal.state
    assert state is not None
    assert state.account_id is not None
    try:
        plan, target = await service.choose_plan(session, portal.site, flow.device_of(state),
                                                 state.account_id, form.get("plan"),
                                                 form.get("line"), portal.now)  # fmt: skip
    except BadRequest as exc:
        return await _plans_page(portal, session, exc)
    portal.update(plan_id=plan.id, target=target.value, checkout_key=new_checkout_key())
    return portal.redirect(flow.next_step(portal, "plans"))


async def _checkout_page(
    portal: Portal, session: Session, error: BadRequest | None = None
) -> Response:
    state = portal.state
    assert state is not None
    assert state.account_id is not None
    assert state.plan_id is not None
    holder, plan, _ = await service.review(
        session, portal.site, flow.device_of(state), state.account_id, state.plan_id, state.target
    )
    instrument = state.instrument or ("saved" if holder.payment_last4 else "new")
    return portal.page("checkout.html", "checkout", title="title.checkout", plan=plan,
                       saved_last4=holder.payment_last4, instrument=instrument,
                       kept_card=state.card, back=portal.url("plans"),
                       error=_field_error(portal, error),
                       error_field=error.extra.get("field") if error else None)  # fmt: skip


def _field_error(portal: Portal, error: BadRequest | None) -> str | None:
    if error is None:
        return None
    field = str(error.extra.get("field", ""))
    label = portal.t(f"field.{field}") if portal.t.has(f"field.{field}") else field
    return f"{label}: {error.detail}"


@router.get("/{operator_id}/portal/checkout")
async def checkout_page(portal: PortalDep, session: Session) -> Response:
    """Checkout (``instrument`` saved|new; ``cardNumber``, ``expiry`` MM/YY, ``cvv``)."""
    return flow.guard(portal, "checkout") or await _checkout_page(portal, session)


@router.post("/{operator_id}/portal/checkout")
async def checkout_submit(portal: PortalDep, session: Session) -> Response:
    """A saved card is ``purchaseInstrument`` Existing, a new one New: Luhn, expiry and CVV
    are checked and only the last four digits are kept."""
    blocked = flow.guard(portal, "checkout")
    if blocked is not None:
        return blocked
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, "checkout")
    state = portal.state
    assert state is not None
    assert state.account_id is not None
    kept = CardOnFile(state.card.last4, state.card.expiry) if state.card else None
    try:
        _, card = await service.checkout(
            session, portal.site, state.transaction_id, state.account_id,
            instrument=form.get("instrument", ""), card_number=form.get("cardNumber", ""),
            expiry=form.get("expiry", ""), cvv=form.get("cvv", ""), kept_card=kept, now=portal.now,
        )  # fmt: skip
    except BadRequest as exc:
        return await _checkout_page(portal, session, exc)
    portal.update(
        instrument=form.get("instrument"),
        checkout_key=new_checkout_key(),
        card=CardState(last4=card.last4, expiry=card.expiry) if card else state.card,
    )
    return portal.redirect(flow.next_step(portal, "checkout"))


def _terms_page(portal: Portal, error: BadRequest | None = None) -> Response:
    state = portal.state
    assert state is not None
    return portal.page("terms.html", "terms", title="title.terms", accepted=state.terms,
                       back=portal.url("checkout"),
                       error=portal.t("terms.accept") if error else None,
                       error_field="acceptTerms" if error else None)  # fmt: skip


@router.get("/{operator_id}/portal/terms")
async def terms_page(portal: PortalDep) -> Response:
    """Terms of Service and privacy, visible before purchase; ``acceptTerms=yes`` required."""
    return flow.guard(portal, "terms") or _terms_page(portal)


@router.post("/{operator_id}/portal/terms")
async def terms_submit(portal: PortalDep, session: Session) -> Response:
    blocked = flow.guard(portal, "terms")
    if blocked is not None:
        return blocked
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, "terms")
    state = portal.state
    assert state is not None
    try:
        service.accept_terms(session, portal.site, state.transaction_id,
                             form.get("acceptTerms") == "yes", portal.now)  # fmt: skip
    except BadRequest as exc:
        return _terms_page(portal, exc)
    portal.update(terms=True)
    return portal.redirect(flow.next_step(portal, "terms"))


async def _review_page(portal: Portal, session: Session, notice: str | None = None) -> Response:
    state = portal.state
    assert state is not None
    assert state.account_id is not None
    assert state.plan_id is not None
    holder, plan, target = await service.review(
        session, portal.site, flow.device_of(state), state.account_id, state.plan_id, state.target
    )
    last4 = state.card.last4 if state.instrument == "new" and state.card else holder.payment_last4
    payment = portal.t("payment.new" if state.instrument == "new" else "payment.saved",
                       last4=last4 or "")  # fmt: skip
    return portal.page("review.html", "review", title="title.review", plan=plan, target=target,
                       payment_text=payment, checkout_key=state.checkout_key, notice=notice,
                       back=portal.url("terms"), next_label=portal.t("nav.buy"))  # fmt: skip


@router.get("/{operator_id}/portal/review")
async def review_page(portal: PortalDep, session: Session) -> Response:
    """Order review: plan, price, where it goes, payment; the ToS link stays visible."""
    return flow.guard(portal, "review") or await _review_page(portal, session)


@router.post("/{operator_id}/portal/review")
async def review_submit(portal: PortalDep, session: Session, app: State) -> Response:
    """Place the order. The form's ``checkoutKey`` makes a double submit the same order."""
    form = await portal.form()
    state = portal.state
    key = form.get("checkoutKey") or (state.checkout_key if state else None)
    if state is not None and state.device is not None and form.get("action") == "cancel":
        return await flow.cancel(portal, session, "review")
    if state is None or not state.signed_in or key != state.checkout_key:
        placed = await fulfilment.order_of_checkout(session, portal.site, key) if key else None
        if placed is not None:
            portal.keep(flow.receipt_state(portal, placed.id))
            return portal.redirect("confirmation")
        return flow.guard(portal, "review") or portal.redirect("review")
    blocked = flow.guard(portal, "review")
    if blocked is not None or key is None:
        return blocked or portal.redirect("plans")
    return await _place(portal, session, app, key)


async def _place(portal: Portal, session: Session, app: State, key: str) -> Response:
    state = portal.state
    assert state is not None
    assert state.account_id is not None
    assert state.plan_id is not None
    assert state.user_account is not None
    assert state.instrument is not None
    request = await fulfilment.order_request(
        session, portal.site, flow.device_of(state), account_id=state.account_id,
        user_account=state.user_account, plan_id=state.plan_id, target_value=state.target,
        instrument=state.instrument, card_last4=state.card.last4 if state.card else None,
        checkout_key=key,
    )  # fmt: skip
    es2 = app.es2plus.for_operator(portal.site.operator_id)
    # Give this request's connection back before the order calls out over ES2+: the
    # SM-DP+ may draw from the same pool, and under load held connections deadlock it.
    await session.close()
    order = await fulfilment.place(app.sessions, es2, request, app.clock)
    if order.status is OrderStatus.PLACED:
        return await _review_page(portal, session, notice=portal.t("review.pending"))
    portal.keep(flow.receipt_state(portal, order.id))
    return portal.redirect("confirmation")
