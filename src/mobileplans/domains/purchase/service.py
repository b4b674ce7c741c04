"""Portal use cases (spec 1.2-1.4, 2.1, 2.2, 5.11): one function per thing a page does.

Launch, accounts, plans, checkout, terms and review here; what ends a session (orders,
receipts, cancels, the account page, re-entry) in ``fulfilment``. Functions take the
session and never commit. Everything is logged under the launch ``transactionId``.
What only reads (the plans, checkout and review pages) takes a ``Source``: the session,
or driver-level reads for a page that writes nothing (no transaction at all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mobileplans.config import OperatorSite
from mobileplans.db.driver_tx import Tx
from mobileplans.db.reads import Reads
from mobileplans.domains.purchase import callbacks, journal, launch
from mobileplans.domains.purchase.payment import CardOnFile, check_card
from mobileplans.domains.purchase.schemas import (
    Callback,
    CallbackApi,
    DeviceLaunch,
    LaunchProblem,
    LpaErrorReport,
    MetaValue,
    MoDirectStatus,
    OrderKind,
    PurchaseMeta,
)
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.domains.subscriber.schemas import (
    AccountRead,
    LineRead,
    LineStatus,
    PlanRead,
    SimKind,
)
from mobileplans.domains.subscriber.service import Source
from mobileplans.errors import BadRequest, NotFound, Unauthorized

NEW_ESIM = "new"


@dataclass(frozen=True, slots=True)
class Launched:
    device: DeviceLaunch
    reentry: LpaErrorReport | None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a plan goes: a new eSIM (``value`` = ``new``) or a line by ICCID."""

    value: str
    kind: OrderKind
    iccid: str | None = None


@dataclass(frozen=True, slots=True)
class PlanOptions:
    plans: list[PlanRead]
    targets: list[Target]

    def target(self, value: str | None) -> Target:
        """The chosen target; the first one (a line on this device first) by default."""
        if not self.targets:
            raise BadRequest("there is no line this plan could go to", field="line")
        for target in self.targets:
            if target.value == (value or self.targets[0].value):
                return target
        raise BadRequest("choose where the plan goes", field="line")


def api_of(site: OperatorSite) -> CallbackApi:
    return CallbackApi(site.callback_api)


# ---- launch (spec 2.1) -----------------------------------------------------------------


async def start(
    session: Tx,
    site: OperatorSite,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    now: datetime,
) -> Launched:
    """Validate a launch against the rules and the back office; raise ``LaunchRefused``."""
    op = site.operator_id
    try:
        device = launch.parse_launch(query)
        report = launch.parse_lpa_errors(headers)
        await _known_sims(session, site, device, report)
    except launch.LaunchRefused as exc:
        tx = launch.safe_transaction_id(query) or journal.UNKNOWN_TRANSACTION
        journal.log(session, op, tx, "launch-refused", now, status=exc.problem.status.value,
                    field=exc.problem.field, rule=exc.problem.rule,
                    query=[[k, v[:100]] for k, v in query[:20]])  # fmt: skip
        raise
    journal.log(session, op, device.transaction_id, "launch", now, eid=device.eid,
                iccid=device.iccid, iccids=list(device.iccids) or None, imei=device.imei,
                market=device.market, location=device.location)  # fmt: skip
    if report is not None:
        times = [e.at.isoformat() if e.at else e.raw_time for e in report.errors]
        journal.log(session, op, device.transaction_id, "reentry", now, iccid=report.iccid,
                    codes=[e.name for e in report.errors], times=times)  # fmt: skip
    return Launched(device, report)


def _invalid_sim(field: str, rule: str) -> launch.LaunchRefused:
    return launch.LaunchRefused(LaunchProblem(MoDirectStatus.INVALID_SIM, field, rule))


async def _known_sims(
    session: Tx, site: OperatorSite, device: DeviceLaunch, report: LpaErrorReport | None
) -> None:
    """Every ICCID the app passed must be a SIM of this operator (else ``InvalidSIM``)."""
    op = site.operator_id
    if device.iccid is not None:
        line = await subscriber.find_line(session, op, device.iccid)
        if line is None or line.sim_kind is not SimKind.PHYSICAL:
            raise _invalid_sim("iccid", "is not a SIM of this operator")
        if line.status is LineStatus.CANCELLED or not line.supported:
            raise _invalid_sim("iccid", "this SIM is no longer in service")
    for iccid in device.iccids:
        if await subscriber.find_line(session, op, iccid) is None:
            raise _invalid_sim("iccids", f"{iccid} is not a profile of this operator")
    if report is not None and await subscriber.find_line(session, op, report.iccid) is None:
        raise _invalid_sim("X-MP-LPAError-ICCIDs", "is not a profile of this operator")


def refused(
    session: Tx,
    site: OperatorSite,
    problem: LaunchProblem,
    transaction_id: str | None,
    now: datetime,
) -> Callback:
    """The call an error page makes: ``notifyCancelledPurchase`` with ClientError/InvalidSIM."""
    meta = callbacks.failure_meta(problem.status)
    tx = transaction_id or journal.UNKNOWN_TRANSACTION
    callback = callbacks.failure(api_of(site), meta, transaction_id=transaction_id or "")
    journal.log(session, site.operator_id, tx, "callback", now, callback=callback.wire())
    return callback


# ---- accounts ----------------------------------------------------------------------------


async def sign_in(
    session: Tx, site: OperatorSite, tx: str, email: str, password: str, now: datetime
) -> AccountRead:
    try:
        account = await subscriber.sign_in(
            session, site.operator_id, email=email, password=password
        )
    except Unauthorized:
        journal.log(session, site.operator_id, tx, "signin-failed", now, email=email[:254])
        raise
    journal.log(session, site.operator_id, tx, "signin", now, accountId=account.id)
    return account


async def sign_up(
    session: Tx,
    site: OperatorSite,
    tx: str,
    *,
    email: str,
    password: str,
    display_name: str,
    now: datetime,
) -> AccountRead:
    account = await subscriber.sign_up(session, site.operator_id, email=email, password=password,
                                       display_name=display_name, now=now)  # fmt: skip
    journal.log(session, site.operator_id, tx, "signup", now, accountId=account.id)
    return account


async def account(source: Source, site: OperatorSite, account_id: int) -> AccountRead:
    return await subscriber.get_account(source, site.operator_id, account_id)


async def landing(
    session: Source, site: OperatorSite, device: DeviceLaunch, account_id: int
) -> str:
    """Where a signed-in user starts: ``account`` when the device holds their lines
    ("View my account", spec 1.10), else ``plans``. ``NotFound`` (iccid): the physical
    SIM in the PC belongs to another account."""
    owned = await device_lines(session, site, device, account_id)
    return "account" if owned else "plans"


async def device_lines(
    session: Source, site: OperatorSite, device: DeviceLaunch, account_id: int
) -> list[LineRead]:
    """The account's lines among the SIMs the device reported, in the device's order.

    Raises ``NotFound`` (``iccid``) for a physical SIM that belongs to another account.
    """
    found = []
    for iccid in device.device_iccids:
        line = await subscriber.find_line(session, site.operator_id, iccid)
        if line is None or line.status is LineStatus.CANCELLED:
            continue
        if line.account_id == account_id:
            found.append(line)
        elif device.is_physical and line.account_id is not None:
            raise NotFound(f"SIM {iccid} belongs to another account", iccid=iccid)
    return found


# ---- plans, checkout, terms ------------------------------------------------------------


async def plan_options(
    session: Source, site: OperatorSite, device: DeviceLaunch, account_id: int
) -> PlanOptions:
    """Plans sold where the device is, and where a plan can go (spec 1.2-1.4)."""
    plans = [
        p for p in await subscriber.list_plans(session, site.operator_id)
        if device.location in p.countries
    ]  # fmt: skip
    owned = await device_lines(session, site, device, account_id)
    targets = [Target(line.iccid, OrderKind.TOPUP, line.iccid) for line in owned]
    if device.iccid is not None and not owned:
        targets.append(Target(device.iccid, OrderKind.ACTIVATE_SIM, device.iccid))
    if device.eid is not None:
        targets.append(Target(NEW_ESIM, OrderKind.NEW_ESIM))
    return PlanOptions(plans, targets)


async def choose_plan(
    session: Tx,
    site: OperatorSite,
    device: DeviceLaunch,
    account_id: int,
    plan_id: str | None,
    target_value: str | None,
    now: datetime,
    *,
    reads: Reads | None = None,
) -> tuple[PlanRead, Target]:
    """Check the choice (``reads``: where the plans and lines are read; the session by
    default) and log it in the session."""
    options = await plan_options(reads or session, site, device, account_id)
    if not plan_id or not plan_id.isdigit():
        raise BadRequest("choose a plan", field="plan")
    plan = next((p for p in options.plans if p.id == int(plan_id)), None)
    if plan is None:
        raise BadRequest("this plan is not sold here", field="plan")
    target = options.target(target_value)
    journal.log(session, site.operator_id, device.transaction_id, "plan-chosen", now,
                plan=plan.code, target=target.value, kind=target.kind.value)  # fmt: skip
    return plan, target


async def checkout(
    session: Tx,
    site: OperatorSite,
    tx: str,
    account_id: int,
    *,
    instrument: str,
    card_number: str,
    expiry: str,
    cvv: str,
    kept_card: CardOnFile | None,
    now: datetime,
) -> tuple[MetaValue, CardOnFile | None]:
    """A saved instrument (``Existing``) or a checked new card (``New``, last four kept)."""
    try:
        if instrument == "saved":
            holder = await subscriber.get_account(session, site.operator_id, account_id)
            if not holder.payment_last4:
                raise BadRequest("there is no saved card on this account", field="instrument")
            card, value = None, MetaValue.EXISTING
        elif instrument == "new":
            untouched = kept_card is not None and not card_number.strip() and not cvv.strip()
            card = kept_card if untouched else check_card(card_number, expiry, cvv, now=now)
            value = MetaValue.NEW
        else:
            raise BadRequest("choose a payment method", field="instrument")
    except BadRequest as exc:
        journal.log(session, site.operator_id, tx, "checkout-refused", now,
                    field=exc.extra.get("field"))  # fmt: skip
        raise
    journal.log(session, site.operator_id, tx, "checkout", now, instrument=value.value,
                last4=card.last4 if card else None)  # fmt: skip
    return value, card


def accept_terms(session: Tx, site: OperatorSite, tx: str, accepted: bool, now: datetime) -> None:
    if not accepted:
        raise BadRequest("accept the terms of service to continue", field="acceptTerms")
    journal.log(session, site.operator_id, tx, "terms-accepted", now)


async def review(
    session: Source,
    site: OperatorSite,
    device: DeviceLaunch,
    account_id: int,
    plan_id: int,
    target_value: str | None,
) -> tuple[AccountRead, PlanRead, Target]:
    """What the review page shows, checked again (the plan may have stopped being sold)."""
    holder = await subscriber.get_account(session, site.operator_id, account_id)
    plan, target = await chosen(session, site, device, account_id, plan_id, target_value)
    return holder, plan, target


async def chosen(
    session: Source,
    site: OperatorSite,
    device: DeviceLaunch,
    account_id: int,
    plan_id: int,
    target_value: str | None,
) -> tuple[PlanRead, Target]:
    """The chosen plan and target, checked again (the plan may have stopped being sold)."""
    options = await plan_options(session, site, device, account_id)
    plan = next((p for p in options.plans if p.id == plan_id), None)
    if plan is None:
        raise BadRequest("this plan is not sold here", field="plan")
    return plan, options.target(target_value)


def abandoned_meta(
    site: OperatorSite, *, step: str, user_account: str | None, instrument: str | None
) -> PurchaseMeta:
    """Metadata of a cancel (spec 1.6 cancel row; 2.2.1 value meanings).

    ``userAccount``: the account value once signed in, else ``Bailed`` (quit at sign-in).
    ``line``: ``Bailed`` once past sign-in (no line was added), else ``None``.
    ``purchaseInstrument``: ``Bailed`` when quitting at checkout, the chosen value when
    quitting after it, else ``None``. ``moDirectStatus``: see ``callbacks.cancel_status``.
    """
    if step == "checkout":
        chosen = MetaValue.BAILED
    elif instrument and step in ("terms", "review"):
        chosen = MetaValue.NEW if instrument == "new" else MetaValue.EXISTING
    else:
        chosen = MetaValue.NONE
    return callbacks.failure_meta(
        callbacks.cancel_status(api_of(site)),
        user_account=MetaValue(user_account) if user_account else MetaValue.BAILED,
        purchase_instrument=chosen,
        line=MetaValue.BAILED if user_account else MetaValue.NONE,
    )


def refusal_meta(status: MoDirectStatus, user_account: str | None) -> PurchaseMeta:
    """Metadata of a session refused after sign-in (a SIM of another account...)."""
    value = MetaValue(user_account) if user_account else MetaValue.NONE
    return callbacks.failure_meta(status, user_account=value)
