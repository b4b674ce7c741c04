"""Sign in, sign up (spec 1.2 step 5) and the account page ("View my account", spec 1.10)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mobileplans.apps.operator.deps import Session, Step
from mobileplans.apps.operator.routes.portal import flow
from mobileplans.apps.operator.routes.portal.web import Portal, PortalDep
from mobileplans.domains.purchase import fulfilment, service
from mobileplans.domains.purchase.schemas import MetaValue
from mobileplans.domains.subscriber.schemas import AccountRead
from mobileplans.errors import BadRequest, Conflict, Unauthorized

router = APIRouter()


def _signin_page(portal: Portal, *, email: str | None, error: str | None = None) -> Response:
    return portal.page("signin.html", "signin", title="title.signin", email=email,
                       error=error, error_field="password" if error else None)  # fmt: skip


@router.get("/{operator_id}/portal/signin")
async def signin_page(portal: PortalDep) -> Response:
    """Sign-in step (``data-mp-step="signin"``: ``email``, ``password``; link to sign-up)."""
    live = flow.at(portal, "signin", flow.Live)
    if isinstance(live, Response):
        return live
    return _signin_page(portal, email=live.state.email)


@router.post("/{operator_id}/portal/signin")
async def signin_submit(portal: PortalDep, session: Step) -> Response:
    """An existing account signs in: ``userAccount`` = ``Existing`` (spec 2.2.1)."""
    live = flow.at(portal, "signin", flow.Live)
    if isinstance(live, Response):
        return live
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, live, "signin")
    email = form.get("email", "")
    try:
        account = await service.sign_in(session, portal.site, live.transaction_id, email,
                                        form.get("password", ""), portal.now)  # fmt: skip
    except Unauthorized:
        return _signin_page(portal, email=email, error=portal.t("signin.failed"))
    return await _signed_in(portal, session, live, account, MetaValue.EXISTING)


@router.get("/{operator_id}/portal/signup")
async def signup_page(portal: PortalDep) -> Response:
    """Sign-up step (``email``, ``password``, ``displayName``)."""
    blocked = flow.guard(portal, "signup")
    if blocked is not None:
        return blocked
    return portal.page("signup.html", "signup", title="title.signup", email=None,
                       display_name=None)  # fmt: skip


@router.post("/{operator_id}/portal/signup")
async def signup_submit(portal: PortalDep, session: Step) -> Response:
    """A new account: ``userAccount`` = ``New`` (spec 2.2.1)."""
    live = flow.at(portal, "signup", flow.Live)
    if isinstance(live, Response):
        return live
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, live, "signin")
    email, name = form.get("email", ""), form.get("displayName", "")
    try:
        account = await service.sign_up(session, portal.site, live.transaction_id, email=email,
                                        password=form.get("password", ""), display_name=name,
                                        now=portal.now)  # fmt: skip
    except (BadRequest, Conflict) as exc:
        message = portal.t("signup.exists") if isinstance(exc, Conflict) else exc.detail
        return portal.page("signup.html", "signup", title="title.signup", email=email,
                           display_name=name, error=message,
                           error_field=exc.extra.get("field"))  # fmt: skip
    return await _signed_in(portal, session, live, account, MetaValue.NEW)


async def _signed_in(
    portal: Portal, session: Step, live: flow.Live, account: AccountRead, value: MetaValue
) -> Response:
    state = live.state
    same = state.account_id == account.id
    user = flow.view_of(portal.update(
        state, account_id=account.id, email=account.email,
        user_account=state.user_account if same and state.user_account else value.value,
        plan_id=state.plan_id if same else None, target=state.target if same else None,
        instrument=state.instrument if same else None, card=state.card if same else None,
        checkout_key=state.checkout_key if same else None, terms=state.terms if same else False,
    ))  # fmt: skip
    if not isinstance(user, flow.SignedIn):  # cannot happen: an account and its kind were set
        return portal.redirect("signin")
    return await flow.after_sign_in(portal, session, user)


@router.get("/{operator_id}/portal/account")
async def account_page(portal: PortalDep, session: Session) -> Response:
    """Account page (``data-mp-step="account"``): lines, balances, Next = buy more."""
    user = flow.at(portal, "plans", flow.SignedIn)
    if isinstance(user, Response):
        return user
    holder = await service.account(session, portal.site, user.account_id)
    lines = await fulfilment.account_lines(session, portal.site, user.launch,
                                           user.account_id, portal.now)  # fmt: skip
    return portal.page("account.html", "account", title="title.account", lines=lines,
                       display_name=holder.display_name,
                       next_label=portal.t("nav.buy_more"))  # fmt: skip


@router.post("/{operator_id}/portal/account")
async def account_submit(portal: PortalDep, session: Step) -> Response:
    user = flow.at(portal, "plans", flow.SignedIn)
    if isinstance(user, Response):
        return user
    form = await portal.form()
    if form.get("action") == "cancel":
        return await flow.cancel(portal, session, user, "account")
    return portal.redirect("plans")
