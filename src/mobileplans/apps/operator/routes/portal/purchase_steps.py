"""Plan choice, checkout, Terms of Service and order review (spec 1.2 step 5, 5.11)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mobileplans.apps.operator.deps import DbReads, State, Step
from mobileplans.apps.operator.portal_session import CardState
from mobileplans.apps.operator.routes.portal import flow
from mobileplans.apps.operator.routes.portal.web import Portal, PortalDep
from mobileplans.domains.purchase import fulfilment, service
from mobileplans.domains.purchase.orders import new_checkout_key
from mobileplans.domains.purchase.payment import CardOnFile
from mobileplans.domains.purchase.schemas import OrderStatus
from mobileplans.domains.subscriber.service import Source
from mobileplans.errors import BadRequest

router = APIRouter()


async def _plans_page(
    portal: Portal, session: Source, user: flow.SignedIn, error: BadRequest | None = None
) -> Response:
    state = user.state
    options = await service.plan_options(session, portal.site, user.launch, user.account_id)
    chosen_target = state.target or (options.targets[0].value if options.targets else None)
    return portal.page("plans.html", "plans", title="title.plans", plans=options.plans,
                       targets=options.targets, chosen_plan=state.plan_id,
                       chosen_target=chosen_target, back=None,
                       error=portal.t("plans.pick") if error else None,
                       error_field=error.extra.get("field") if error else None)  # fmt: skip


@router.get("/{operator_id}/portal/plans")
async def plans_page(portal: PortalDep, reads: DbReads) -> Response:
    """Plan choice (``plan`` radios with ``data-mp-plan-code``; ``line`` when there is a choice
    between a line on this device and a new eSIM): price, data and validity shown.

    Read-only: driver-level reads, no transaction (docs/architecture.md, "Transactions")."""
    user = flow.at(portal, "plans", flow.SignedIn)
    if isinstance(user, Response):
        return user
    return await _plans_page(portal, reads, user)


@router.post("/{operator_id}/portal/plans")
async def plans_submit(portal: PortalDep, session: Step, reads: DbReads) -> Response:
    """The plan chosen on the plans page: checked, then the checkout page (or back to the
    plans page naming what was wrong).

    The choice is checked on driver-level reads; the transaction only logs it."""
    user = flow.at(portal, "plans", flow.SignedIn)
    if isinstance(user, Response):
        return user
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, user, "plans")
    try:
        plan, target = await service.choose_plan(session, portal.site, user.launch,
                                                 user.account_id, form.get("plan"),
                                                 form.get("line"), portal.now,
                                                 reads=reads)  # fmt: skip
    except BadRequest as exc:
        return await _plans_page(portal, reads, user, exc)
    state = portal.update(user.state, plan_id=plan.id, target=target.value,
                          checkout_key=new_checkout_key())  # fmt: skip
    return portal.redirect(flow.next_step(state, "plans"))


async def _checkout_page(
    portal: Portal, session: Source, chosen: flow.Chosen, error: BadRequest | None = None
) -> Response:
    state = chosen.state
    holder, plan, _ = await service.review(
        session, portal.site, chosen.launch, chosen.account_id, chosen.plan_id, chosen.target
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
async def checkout_page(portal: PortalDep, reads: DbReads) -> Response:
    """Checkout (``instrument`` saved|new; ``cardNumber``, ``expiry`` MM/YY, ``cvv``).
    Read-only: no transaction."""
    chosen = flow.at(portal, "checkout", flow.Chosen)
    if isinstance(chosen, Response):
        return chosen
    return await _checkout_page(portal, reads, chosen)


@router.post("/{operator_id}/portal/checkout")
async def checkout_submit(portal: PortalDep, session: Step) -> Response:
    """A saved card is ``purchaseInstrument`` Existing, a new one New: Luhn, expiry and CVV
    are checked and only the last four digits are kept."""
    chosen = flow.at(portal, "checkout", flow.Chosen)
    if isinstance(chosen, Response):
        return chosen
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, chosen, "checkout")
    state = chosen.state
    kept = CardOnFile(state.card.last4, state.card.expiry) if state.card else None
    try:
        _, card = await service.checkout(
            session, portal.site, chosen.transaction_id, chosen.account_id,
            instrument=form.get("instrument", ""), card_number=form.get("cardNumber", ""),
            expiry=form.get("expiry", ""), cvv=form.get("cvv", ""), kept_card=kept, now=portal.now,
        )  # fmt: skip
    except BadRequest as exc:
        return await _checkout_page(portal, session, chosen, exc)
    state = portal.update(
        state,
        instrument=form.get("instrument"),
        checkout_key=new_checkout_key(),
        card=CardState(last4=card.last4, expiry=card.expiry) if card else state.card,
    )
    return portal.redirect(flow.next_step(state, "checkout"))


def _terms_page(portal: Portal, live: flow.Live, error: BadRequest | None = None) -> Response:
    return portal.page("terms.html", "terms", title="title.terms", accepted=live.state.terms,
                       back=portal.url("checkout"),
                       error=portal.t("terms.accept") if error else None,
                       error_field="acceptTerms" if error else None)  # fmt: skip


@router.get("/{operator_id}/portal/terms")
async def terms_page(portal: PortalDep) -> Response:
    """Terms of Service and privacy, visible before purchase; ``acceptTerms=yes`` required."""
    live = flow.at(portal, "terms", flow.Live)
    if isinstance(live, Response):
        return live
    return _terms_page(portal, live)


@router.post("/{operator_id}/portal/terms")
async def terms_submit(portal: PortalDep, session: Step) -> Response:
    live = flow.at(portal, "terms", flow.Live)
    if isinstance(live, Response):
        return live
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, live, "terms")
    try:
        service.accept_terms(session, portal.site, live.transaction_id,
                             form.get("acceptTerms") == "yes", portal.now)  # fmt: skip
    except BadRequest as exc:
        return _terms_page(portal, live, exc)
    state = portal.update(live.state, terms=True)
    return portal.redirect(flow.next_step(state, "terms"))


async def _review_page(
    portal: Portal, session: Source, ready: flow.Ready, notice: str | None = None
) -> Response:
    state = ready.state
    holder, plan, target = await service.review(
        session, portal.site, ready.launch, ready.account_id, ready.plan_id, ready.target
    )
    new_card = ready.instrument == "new"
    last4 = state.card.last4 if new_card and state.card else holder.payment_last4
    payment = portal.t("payment.new" if new_card else "payment.saved", last4=last4 or "")
    return portal.page("review.html", "review", title="title.review", plan=plan, target=target,
                       payment_text=payment, checkout_key=state.checkout_key, notice=notice,
                       back=portal.url("terms"), next_label=portal.t("nav.buy"))  # fmt: skip


@router.get("/{operator_id}/portal/review")
async def review_page(portal: PortalDep, reads: DbReads) -> Response:
    """Order review: plan, price, where it goes, payment; the ToS link stays visible.
    Read-only: no transaction."""
    ready = flow.at(portal, "review", flow.Ready)
    if isinstance(ready, Response):
        return ready
    return await _review_page(portal, reads, ready)


@router.post("/{operator_id}/portal/review")
async def review_submit(portal: PortalDep, app: State) -> Response:
    """Place the order. The form's ``checkoutKey`` makes a double submit the same order.

    No request transaction: the order calls the SM-DP+ between short transactions of
    ``app.steps``, on the driver where the engine has a driver kind (docs/architecture.md,
    "Transactions"; D297)."""
    form = await portal.form()
    state = portal.state
    key = form.get("checkoutKey") or (state.checkout_key if state else None)
    live = flow.view_of(state)
    if live is not None and form.get("action") == "cancel":
        async with app.steps.step() as session:
            return await flow.cancel(portal, session, live, "review")
    if state is None or not state.signed_in or key != state.checkout_key:
        placed = None
        if key:
            async with app.reads.hold() as reads:
                placed = await fulfilment.order_of_checkout(reads, portal.site, key)
        if placed is not None:
            portal.keep(flow.receipt_state(portal, placed.id))
            return portal.redirect("confirmation")
        return flow.guard(portal, "review") or portal.redirect("review")
    ready = flow.at(portal, "review", flow.Ready)
    if isinstance(ready, Response):
        return ready
    if key is None:
        return portal.redirect("plans")
    return await _place(portal, app, ready, key)


async def _place(portal: Portal, app: State, ready: flow.Ready, key: str) -> Response:
    """Build the order from reads (no transaction), then place it (ES2+ calls between the
    order's own short transactions); no session is open while the SM-DP+ works."""
    card = ready.state.card
    async with app.reads.hold() as reads:
        request = await fulfilment.order_request(
            reads, portal.site, ready.launch, account_id=ready.account_id,
            user_account=ready.user_account, plan_id=ready.plan_id, target_value=ready.target,
            instrument=ready.instrument, card_last4=card.last4 if card else None,
            checkout_key=key,
        )  # fmt: skip
    es2 = app.es2plus.for_operator(portal.site.operator_id)
    order = await fulfilment.place(app.steps, es2, request, app.clock)
    if order.status is OrderStatus.PLACED:
        async with app.reads.hold() as reads:
            return await _review_page(portal, reads, ready, notice=portal.t("review.pending"))
    portal.keep(flow.receipt_state(portal, order.id))
    return portal.redirect("confirmation")
