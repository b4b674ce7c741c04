"""Portal use cases that end a session: orders, receipts, cancels, the account page, re-entry.

:func:`place` and :func:`reissue_profile` call the SM-DP+ between database steps, so they
take the edge's ``Transactions`` and run each step as one short transaction (``orders``
explains why); the others take the session and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import OperatorSite
from mobileplans.db.driver_tx import Tx
from mobileplans.db.reads import Reads
from mobileplans.db.transactions import Steps, Transactions
from mobileplans.domains.purchase import callbacks, journal, orders, reissue, repository
from mobileplans.domains.purchase.es2plus_client import Es2PlusClient
from mobileplans.domains.purchase.schemas import (
    Callback,
    DeviceLaunch,
    LineSummary,
    LpaErrorReport,
    MetaValue,
    OrderKind,
    OrderRead,
    PurchaseMeta,
)
from mobileplans.domains.purchase.service import api_of, chosen
from mobileplans.domains.subscriber import balances
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.domains.subscriber.schemas import LineStatus, PlanRead
from mobileplans.errors import NotFound
from mobileplans.kit.clock import Clock

# ---- orders ----------------------------------------------------------------------------


async def place(
    tx: Steps[Tx],
    es2: Es2PlusClient,
    request: orders.OrderRequest,
    clock: Clock,
) -> OrderRead:
    return await orders.place_order(tx, es2, request, clock)


async def order_request(
    session: AsyncSession | Reads,
    site: OperatorSite,
    device: DeviceLaunch,
    *,
    account_id: int,
    user_account: str,
    plan_id: int,
    target_value: str | None,
    instrument: str,
    card_last4: str | None,
    checkout_key: str,
) -> orders.OrderRequest:
    """The order the review page places, from the choices made on the earlier steps."""
    plan, target = await chosen(session, site, device, account_id, plan_id, target_value)
    return orders.OrderRequest(
        site=site,
        account_id=account_id,
        plan=plan,
        checkout_key=checkout_key,
        transaction_id=device.transaction_id,
        kind=target.kind,
        eid=device.eid,
        iccid=target.iccid,
        notify_iccid=target.kind is OrderKind.TOPUP and not device.is_physical,
        user_account=MetaValue(user_account),
        purchase_instrument=MetaValue.NEW if instrument == "new" else MetaValue.EXISTING,
        card_last4=card_last4 if instrument == "new" else None,
    )


async def order_of_checkout(
    session: AsyncSession | Reads, site: OperatorSite, checkout_key: str
) -> OrderRead | None:
    row = await repository.order_by_key(session, site.operator_id, checkout_key)
    return journal.order_read(row) if row is not None else None


async def receipt(
    session: Tx,
    site: OperatorSite,
    order_id: str,
    now: datetime,
    *,
    reads: Reads | None = None,
) -> tuple[OrderRead, PlanRead]:
    """The order a confirmation (or failure) page shows; logs the callback handed out.

    ``reads``: where the order and its plan are read (the driver's reads); the session
    by default. The session only writes the log entry then."""
    row = await repository.order(reads or session, order_id)
    if row is None or row.operator_id != site.operator_id:
        raise NotFound(f"order {order_id} does not exist")
    order = journal.order_read(row)
    plan = await subscriber.get_plan(reads or session, site.operator_id, order.plan_id)
    journal.log(session, site.operator_id, order.transaction_id, "callback", now,
                orderId=order.id, status=order.status.value, callback=order.callback)  # fmt: skip
    return order, plan


def ended(
    session: Tx,
    site: OperatorSite,
    tx: str,
    meta: PurchaseMeta,
    now: datetime,
    *,
    event: str,
) -> Callback:
    """A session that bought nothing (cancel, refusal): the call handing control back."""
    callback = callbacks.failure(api_of(site), meta, transaction_id=tx)
    journal.log(session, site.operator_id, tx, event, now, meta=meta.wire())
    journal.log(session, site.operator_id, tx, "callback", now, callback=callback.wire())
    return callback


# ---- account page and re-entry ----------------------------------------------------------


async def account_lines(
    session: AsyncSession, site: OperatorSite, device: DeviceLaunch, account_id: int, now: datetime
) -> list[LineSummary]:
    """Every line of the account with its GetBalance view (spec 1.10, 2.3)."""
    journal.log(session, site.operator_id, device.transaction_id, "account-viewed", now)
    summaries = []
    for line in await subscriber.lines_of_account(session, account_id):
        if line.status is LineStatus.CANCELLED:
            continue
        found = await balances.get_balances(session, site.operator_id, line.iccid, now=now)
        summaries.append(LineSummary(line.iccid, line.sim_kind.value, line.status.value,
                                     line.iccid in device.device_iccids,
                                     [b.wire() for b in found]))  # fmt: skip
    return summaries


async def assess_reentry(
    session: AsyncSession,
    site: OperatorSite,
    report: LpaErrorReport,
    device: DeviceLaunch,
    account_id: int,
) -> reissue.Reentry:
    return await reissue.assess(session, site, report, account_id=account_id, device_eid=device.eid)


async def reissue_profile(
    tx: Transactions,
    es2: Es2PlusClient,
    site: OperatorSite,
    report: LpaErrorReport,
    device: DeviceLaunch,
    *,
    account_id: int,
    checkout_key: str,
    clock: Clock,
) -> OrderRead:
    """Re-issue (or hand out again) the profile the app failed to install (spec 1.9)."""
    async with tx.step() as session:
        reentry = await assess_reentry(session, site, report, device, account_id)
    request = reissue.request_for(site, reentry, account_id=account_id, checkout_key=checkout_key,
                                  transaction_id=device.transaction_id)  # fmt: skip
    return await reissue.reissue(tx, es2, reentry, request, clock)
