"""Placing an order: idempotent by checkout key, never holding a transaction across ES2+.

The edge (the portal request) hands the order a ``Transactions``: each step below is one
short transaction, and no session is open during an ES2+ call (docs/architecture.md,
"Transactions"):

1. *claim*: insert the ``mo_orders`` row (``placed``) and commit. ``UNIQUE(operator_id,
   checkout_key)`` makes a double submit find the first order instead; the second request
   waits (bounded) for the first to settle and shows the same result.
2. *remote* (new eSIM only): ``downloadOrder`` then ``confirmOrder`` with no database
   transaction open: the SM-DP+ may share the database (SQLite has one writer).
   Function call identifiers are ``<orderId>.<function>``, so driving the same order
   again (after a crash: a ``placed`` order older than ``STALE_AFTER`` is taken over)
   replays at the SM-DP+ instead of reserving a second profile.
3. *record*: create the line, credit the plan, store the callback, mark the order; or on
   any failure mark it ``failed`` (nothing credited, no line) and give a reserved profile
   back to the SM-DP+ (``cancelOrder`` Available). An unanswered ``downloadOrder`` also
   marks the order for ``reconcile`` (D245), which learns the ICCID by a replay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import OperatorSite
from mobileplans.db.driver_tx import Tx
from mobileplans.db.transactions import Steps
from mobileplans.domains.purchase import callbacks, journal, repository
from mobileplans.domains.purchase.es2plus_client import (
    Es2PlusClient,
    Es2PlusError,
    Es2PlusUnavailable,
)
from mobileplans.domains.purchase.schemas import (
    SETTLED,
    CallbackApi,
    MetaValue,
    MoDirectStatus,
    OrderKind,
    OrderRead,
    OrderStatus,
    PurchaseMeta,
)
from mobileplans.domains.subscriber import balances
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.domains.subscriber.schemas import LineStatus, PlanRead, SimKind
from mobileplans.errors import AppError, Conflict
from mobileplans.kit.clock import Clock
from mobileplans.kit.esim import ActivationCode, ActivationCodeError
from mobileplans.kit.text import printable

STALE_AFTER = timedelta(minutes=2)
RECONCILE_FIRST = timedelta(seconds=5)  # a lost downloadOrder answer is replayed after (D245)
SETTLE_POLLS = 150
SETTLE_INTERVAL = 0.1


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """Everything an order needs, decided by the portal before the user pressed Next."""

    site: OperatorSite
    account_id: int
    plan: PlanRead
    checkout_key: str
    transaction_id: str
    kind: OrderKind
    eid: str | None = None
    iccid: str | None = None  # the line credited (top-up, physical SIM)
    notify_iccid: bool = False  # notifyBalanceAddition(meta, iccid): the app enables it
    user_account: MetaValue = MetaValue.EXISTING
    purchase_instrument: MetaValue = MetaValue.EXISTING
    card_last4: str | None = None  # a new card to keep on file (last four digits only)

    @property
    def api(self) -> CallbackApi:
        return CallbackApi(self.site.callback_api)

    @property
    def download_delay(self) -> int:
        """Minutes before release; legacy portals cannot say "later", so they release now."""
        return 0 if self.api is CallbackApi.LEGACY else self.plan.download_delay_minutes

    def meta(self, line: MetaValue) -> PurchaseMeta:
        return PurchaseMeta(
            user_account=self.user_account,
            purchase_instrument=self.purchase_instrument,
            line=line,
            mo_direct_status=MoDirectStatus.COMPLETE,
            plan_name=self.plan.name,
        )


@dataclass(frozen=True, slots=True)
class ReservedProfile:
    iccid: str
    activation_code: str


@dataclass
class Drive:
    """One run of an order: the ES2+ calls made are logged when the outcome is recorded."""

    order: OrderRead
    request: OrderRequest
    calls: list[dict[str, Any]] = field(default_factory=list)

    def call_id(self, function: str, iccid: str | None = None) -> str:
        """``<orderId>.<function>[-<iccid>]``: stable across retries of the same call."""
        return f"{self.order.id}.{function}" + (f"-{iccid}" if iccid else "")

    def called(
        self,
        function: str,
        outcome: str,
        *,
        iccid: str | None = None,
        per_iccid: bool = False,
        **detail: Any,
    ) -> None:
        call_id = self.call_id(function, iccid if per_iccid else None)
        self.calls.append({"function": function, "callId": call_id, "outcome": outcome,
                           "iccid": iccid, **detail})  # fmt: skip


class OrderRaced(Exception):
    pass


def new_order_id(now: datetime) -> str:
    return f"{now:%Y%m%d}-{secrets.token_hex(6).upper()}"


def new_checkout_key() -> str:
    return secrets.token_urlsafe(24)


async def place_order(
    tx: Steps[Tx],
    es2: Es2PlusClient,
    request: OrderRequest,
    clock: Clock,
) -> OrderRead:
    """Place (or find again) the order of one checkout and fulfil it."""
    async with tx.step() as session:
        order, drive_it = await claim(session, request, clock.now())
    if not drive_it:
        return await settled(tx, order.id)
    drive = Drive(order, request)
    if request.kind in (OrderKind.TOPUP, OrderKind.ACTIVATE_SIM):
        return await record(tx, drive, clock, _credit_line(drive))
    try:
        profile = await reserve_profile(
            es2, drive, request.eid, request.plan, request.download_delay
        )
    except Es2PlusError as exc:
        return await fail(tx, drive, clock, exc, reconcile=answer_maybe_lost(exc))
    return await record(tx, drive, clock, _new_profile(drive, profile), es2=es2, profile=profile)


async def claim(session: Tx, request: OrderRequest, now: datetime) -> tuple[OrderRead, bool]:
    """Insert the order for this checkout key, or find it; ``True`` when we must drive it."""
    site = request.site
    values: dict[str, Any] = {
        "id": new_order_id(now),
        "operator_id": site.operator_id,
        "account_id": request.account_id,
        "plan_id": request.plan.id,
        "checkout_key": request.checkout_key,
        "transaction_id": request.transaction_id,
        "kind": request.kind.value,
        "status": OrderStatus.PLACED.value,
        "iccid": request.iccid,
        "eid": request.eid,
        "download_delay_minutes": 0,
        "created_at": now,
        "updated_at": now,
    }
    if await repository.insert_order(session, values):
        journal.log(session, site.operator_id, request.transaction_id, "order-placed", now,
                    orderId=values["id"], kind=values["kind"], plan=request.plan.code)  # fmt: skip
        return journal.placed_read(values), True
    existing = await repository.order_by_key(session, site.operator_id, request.checkout_key)
    assert existing is not None  # the unique key said it exists
    journal.log(session, site.operator_id, request.transaction_id, "order-resubmitted", now,
                orderId=existing.id, status=existing.status)  # fmt: skip
    stale = existing.status == OrderStatus.PLACED and existing.updated_at < now - STALE_AFTER
    if stale and await repository.take_over(session, existing.id, existing.updated_at, now):
        return journal.order_read(existing), True
    return journal.order_read(existing), False


async def settled(tx: Steps[Tx], order_id: str) -> OrderRead:
    """The order once its driver is done (bounded wait); may still be ``placed``."""
    for attempt in range(SETTLE_POLLS):
        if attempt:
            await asyncio.sleep(SETTLE_INTERVAL)
        async with tx.step() as session:
            row = await repository.order(session, order_id)
            assert row is not None
            current = journal.order_read(row)
        if current.status in SETTLED:
            break
    return current


async def reserve_profile(
    es2: Es2PlusClient, drive: Drive, eid: str | None, plan: PlanRead, delay: int
) -> ReservedProfile:
    """``downloadOrder`` + ``confirmOrder``; gives the profile back if confirmation fails."""
    try:
        iccid = await es2.download_order(
            call_id=drive.call_id("downloadOrder"), eid=eid, profile_type=plan.profile_type
        )
    except Es2PlusError as exc:
        drive.called("downloadOrder", "failed", message=exc.message)
        raise
    drive.called("downloadOrder", "success", iccid=iccid, profileType=plan.profile_type)
    try:
        confirmed = await es2.confirm_order(
            call_id=drive.call_id("confirmOrder"), iccid=iccid, eid=eid, release_flag=not delay
        )
        address = confirmed.smdp_address or urlsplit(es2.base_url).netloc
        code = ActivationCode.parse(str(ActivationCode(address, confirmed.matching_id)))
    except (Es2PlusError, ActivationCodeError) as exc:
        drive.called("confirmOrder", "failed", message=str(exc))
        await give_back(es2, drive, iccid, eid)
        if isinstance(exc, ActivationCodeError):
            raise Es2PlusUnavailable("confirmOrder", str(exc), retryable=False) from exc
        raise
    drive.called("confirmOrder", "success", iccid=iccid, releaseFlag=not delay)
    return ReservedProfile(iccid=iccid, activation_code=str(code))


async def give_back(es2: Es2PlusClient, drive: Drive, iccid: str, eid: str | None) -> None:
    """Best effort ``cancelOrder`` Available for a profile this order will not use."""
    await cancel_profile(es2, drive, iccid, eid, "Available")


async def cancel_profile(
    es2: Es2PlusClient, drive: Drive, iccid: str, eid: str | None, final_status: str
) -> bool:
    """``cancelOrder`` (SGP.22 5.3.3) for ``iccid``; a failure is logged, not raised."""
    try:
        await es2.cancel_order(call_id=drive.call_id("cancelOrder", iccid), iccid=iccid,
                               eid=eid, final_status=final_status)  # fmt: skip
    except Es2PlusError as exc:  # the SM-DP+ keeps it as it is; support finds it in the log
        drive.called("cancelOrder", "failed", iccid=iccid, per_iccid=True, message=exc.message)
        return False
    drive.called("cancelOrder", "success", iccid=iccid, per_iccid=True,
                 finalProfileStatusIndicator=final_status)  # fmt: skip
    return True


T = TypeVar("T", bound=Tx)
Step = Callable[[Tx, datetime], Awaitable[OrderRead]]
"""A recording step of this module: runs in either kind of transaction."""
SessionStep = Callable[[AsyncSession, datetime], Awaitable[OrderRead]]
"""A recording step that needs a session (ORM work: a re-issue moving balances)."""


async def record(
    tx: Steps[T],
    drive: Drive,
    clock: Clock,
    step: Callable[[T, datetime], Awaitable[OrderRead]],
    *,
    es2: Es2PlusClient | None = None,
    profile: ReservedProfile | None = None,
) -> OrderRead:
    """Run the recording step in one transaction; a business failure fails the order."""
    try:
        async with tx.step() as session:
            return await step(session, clock.now())
    except OrderRaced:
        return await settled(tx, drive.order.id)
    except AppError as exc:
        if es2 is not None and profile is not None:
            await give_back(es2, drive, profile.iccid, drive.request.eid)
        return await fail(tx, drive, clock, exc)


def _credit_line(drive: Drive) -> Step:
    request = drive.request

    async def step(session: Tx, now: datetime) -> OrderRead:
        site, iccid = request.site, request.iccid
        assert iccid is not None
        line = await subscriber.get_line(session, site.operator_id, iccid)
        if request.kind is OrderKind.ACTIVATE_SIM and line.account_id is None:
            await subscriber.attach_line(session, site.operator_id, iccid,
                                         account_id=request.account_id, status=LineStatus.ACTIVE,
                                         now=now)  # fmt: skip
            line_value = MetaValue.NEW
        elif line.account_id == request.account_id:
            line_value = MetaValue.EXISTING
        else:
            raise Conflict(f"SIM {iccid} belongs to another account", iccid=iccid)
        await balances.credit(session, iccid, request.plan, now=now, order_id=drive.order.id,
                              line_known=True)  # fmt: skip
        callback = callbacks.success(request.api, request.meta(line_value),
                                     transaction_id=request.transaction_id, iccid=iccid,
                                     notify_iccid=request.notify_iccid)  # fmt: skip
        return await finish(session, drive, now, OrderStatus.FULFILLED,
                            callback=callback.wire(), iccid=iccid)  # fmt: skip

    return step


def _new_profile(drive: Drive, profile: ReservedProfile) -> Step:
    request = drive.request

    async def step(session: Tx, now: datetime) -> OrderRead:
        site, delay = request.site, request.download_delay
        await subscriber.create_line(
            session, site.operator_id, iccid=profile.iccid, sim_kind=SimKind.ESIM,
            status=LineStatus.RESERVED if delay else LineStatus.RELEASED, now=now,
            eid=request.eid, account_id=request.account_id,
        )  # fmt: skip
        await balances.credit(session, profile.iccid, request.plan, now=now,
                              order_id=drive.order.id, line_known=True)  # fmt: skip
        callback = callbacks.success(request.api, request.meta(MetaValue.NEW),
                                     transaction_id=request.transaction_id, iccid=profile.iccid,
                                     activation_code=profile.activation_code,
                                     download_delay=delay or None)  # fmt: skip
        due = now + timedelta(seconds=delay * site.download_delay_minute_seconds) if delay else None
        return await finish(
            session, drive, now, OrderStatus.PENDING_RELEASE if delay else OrderStatus.FULFILLED,
            callback=callback.wire(), iccid=profile.iccid, eid=request.eid,
            activation_code=profile.activation_code, download_delay_minutes=delay,
            release_due_at=due,
        )  # fmt: skip

    return step


async def finish(
    session: Tx, drive: Drive, now: datetime, status: OrderStatus, **values: Any
) -> OrderRead:
    """Move the order out of ``placed`` (CAS), keep a new card on file, log the run."""
    request, order = drive.request, drive.order
    op, tx = request.site.operator_id, request.transaction_id
    if request.card_last4 and status is not OrderStatus.FAILED:
        await subscriber.save_payment_instrument(session, request.account_id, request.card_last4)
    moved = await repository.update_order(
        session, order.id, expect_status=OrderStatus.PLACED.value,
        status=status.value, updated_at=now, **values,
    )  # fmt: skip
    if not moved:
        raise OrderRaced(order.id)
    for call in drive.calls:
        journal.log(session, op, tx, "es2plus", now, orderId=order.id, **call)
    event = "order-failed" if status is OrderStatus.FAILED else "order-fulfilled"
    journal.log(session, op, tx, event, now, orderId=order.id, status=status.value,
                iccid=values.get("iccid"), failure=values.get("failure"))  # fmt: skip
    return dataclasses.replace(order, status=status, **journal.read_values(values))


def failure_status(exc: Exception) -> MoDirectStatus:
    """What the callback reports when an order fails (spec 2.2.2 moDirectStatus)."""
    if isinstance(exc, AppError) and "iccid" in exc.extra:
        return MoDirectStatus.INVALID_SIM  # the SIM is not (or no longer) the user's to credit
    return MoDirectStatus.SERVICE_ERROR


def answer_maybe_lost(exc: Es2PlusError) -> bool:
    """``downloadOrder`` unanswered: the SM-DP+ may have linked a profile we never saw."""
    return isinstance(exc, Es2PlusUnavailable) and exc.function == "downloadOrder"


async def fail(
    tx: Steps[Tx], drive: Drive, clock: Clock, exc: Exception, *, reconcile: bool = False
) -> OrderRead:
    """Mark the order ``failed`` with the failure callback; nothing is credited. With
    ``reconcile``, the lost-answer pass replays its ``downloadOrder`` soon (D245)."""
    request = drive.request
    meta = callbacks.failure_meta(
        failure_status(exc),
        user_account=request.user_account,
        purchase_instrument=request.purchase_instrument,
    )
    callback = callbacks.failure(request.api, meta, transaction_id=request.transaction_id)
    try:
        async with tx.step() as session:
            now = clock.now()
            due = now + RECONCILE_FIRST if reconcile else None
            failure = printable(str(exc), 500)
            return await finish(session, drive, now, OrderStatus.FAILED, failure=failure,
                                callback=callback.wire(), reconcile_due_at=due)  # fmt: skip
    except OrderRaced:
        return await settled(tx, drive.order.id)
