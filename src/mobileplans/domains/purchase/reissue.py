"""Re-entry after a failed eSIM download (spec 1.9, 2.1.3, 2.2.5): reuse or re-issue.

The app re-opens the portal with ``X-MP-LPAError-*`` headers naming the profile it could
not install. Once the user is signed in, that ICCID must be an eSIM line of their
account that this portal handed an activation code for; otherwise the re-entry is
refused (``InvalidSIM``).

Rule (our decision, spec 1.9 "re-issue or reuse the activation code"):

- **reuse** the same activation code (spec 2.2.5: it "may be reused to retry the download
  of the same profile") when the SM-DP+ never reported the profile downloaded (the line
  is still ``reserved``/``released``), the device is the one the profile is bound to, and
  no reported error says the profile itself is unusable (``UNUSABLE``). No ES2+ call; a
  profile whose delayed release is still pending is handed out with the remaining delay.
- otherwise **re-issue**: order a fresh profile bound to the device's EID (if that fails,
  the old one is left as it was), then ``cancelOrder`` the old one with
  ``finalProfileStatusIndicator: Unavailable`` (it must never be handed to anyone else),
  move the balances to the new line and retire the old line (``cancelled``).

Both answer with a new ``notifyProfileDownload`` and purchase metadata
``userAccount: Existing, purchaseInstrument: None, line: Existing, moDirectStatus:
Complete`` and the plan's name: no new purchase, an existing line moved to the device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import OperatorSite
from mobileplans.db.transactions import Transactions
from mobileplans.domains.purchase import callbacks, journal, orders, repository
from mobileplans.domains.purchase.es2plus_client import Es2PlusClient, Es2PlusError
from mobileplans.domains.purchase.schemas import (
    LpaErrorReport,
    MetaValue,
    OrderKind,
    OrderRead,
    OrderStatus,
    ReentryAction,
)
from mobileplans.domains.subscriber import balances
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.domains.subscriber.schemas import LineRead, LineStatus, PlanRead, SimKind
from mobileplans.errors import NotFound
from mobileplans.kit.clock import Clock
from mobileplans.kit.esim import ESimOperationStatus as S

UNUSABLE = frozenset(
    {S.InvalidMatchingId, S.EidMismatch, S.ProfileNotAvailableForNewBinding,
     S.NoEligibleProfileForThisDevice, S.ProfileNotPresent, S.ConfirmationCodeMissing,
     S.IncorrectConfirmationCode, S.ConfirmationCodeMaxRetriesExceeded,
     S.OperationProhibitedByProfileClass}
)  # fmt: skip
REUSABLE_LINE = frozenset({LineStatus.RESERVED, LineStatus.RELEASED})


@dataclass(frozen=True, slots=True)
class Reentry:
    """A re-entry the user may act on: the line, the order that handed out its code, what to do."""

    report: LpaErrorReport
    line: LineRead
    order: OrderRead
    plan: PlanRead
    action: ReentryAction
    eid: str | None


def choose_action(report: LpaErrorReport, line: LineRead, device_eid: str | None) -> ReentryAction:
    same_device = device_eid is None or device_eid == line.eid
    if line.status in REUSABLE_LINE and same_device and not report.statuses & UNUSABLE:
        return ReentryAction.REUSE
    return ReentryAction.REISSUE


async def assess(
    session: AsyncSession,
    site: OperatorSite,
    report: LpaErrorReport,
    *,
    account_id: int,
    device_eid: str | None,
) -> Reentry:
    """Check the ICCID is this account's eSIM from this portal; ``NotFound`` (iccid) if not."""
    line = await subscriber.find_line(session, site.operator_id, report.iccid)
    if line is None or line.account_id != account_id or line.sim_kind is not SimKind.ESIM:
        raise NotFound(f"SIM {report.iccid} is not an eSIM of this account", iccid=report.iccid)
    row = await repository.latest_profile_order(session, site.operator_id, report.iccid)
    if row is None or line.status is LineStatus.CANCELLED:
        raise NotFound(f"no activation code to re-issue for {report.iccid}", iccid=report.iccid)
    order = journal.order_read(row)
    plan = await subscriber.get_plan(session, site.operator_id, order.plan_id)
    return Reentry(report, line, order, plan, choose_action(report, line, device_eid),
                   device_eid or line.eid)  # fmt: skip


def request_for(
    site: OperatorSite, reentry: Reentry, *, account_id: int, checkout_key: str, transaction_id: str
) -> orders.OrderRequest:
    return orders.OrderRequest(
        site=site,
        account_id=account_id,
        plan=reentry.plan,
        checkout_key=checkout_key,
        transaction_id=transaction_id,
        kind=OrderKind.REISSUE,
        eid=reentry.eid,
        iccid=reentry.line.iccid,
        user_account=MetaValue.EXISTING,
        purchase_instrument=MetaValue.NONE,
    )


async def reissue(
    tx: Transactions,
    es2: Es2PlusClient,
    reentry: Reentry,
    request: orders.OrderRequest,
    clock: Clock,
) -> OrderRead:
    """Hand the profile out again (reuse) or replace it (re-issue); idempotent by key."""
    async with tx.step() as session:
        order, drive_it = await orders.claim(session, request, clock.now())
    if not drive_it:
        return await orders.settled(tx, order.id)
    drive = orders.Drive(order, request)
    if reentry.action is ReentryAction.REUSE:
        return await orders.record(tx, drive, clock, _reuse(drive, reentry))
    try:
        profile = await orders.reserve_profile(es2, drive, reentry.eid, reentry.plan, 0)
    except Es2PlusError as exc:
        return await orders.fail(tx, drive, clock, exc)
    old = reentry.line
    await orders.cancel_profile(es2, drive, old.iccid, old.eid, "Unavailable")
    step = _replace(drive, reentry, profile)
    return await orders.record(tx, drive, clock, step, es2=es2, profile=profile)


def _reuse(drive: orders.Drive, reentry: Reentry) -> orders.SessionStep:
    async def step(session: AsyncSession, now: datetime) -> OrderRead:
        original = reentry.order
        assert original.activation_code is not None
        delay = _remaining_minutes(drive.request.site, original, now)
        callback = callbacks.success(drive.request.api, drive.request.meta(MetaValue.EXISTING),
                                     transaction_id=drive.request.transaction_id,
                                     iccid=original.iccid, activation_code=original.activation_code,
                                     download_delay=delay or None)  # fmt: skip
        return await orders.finish(session, drive, now, OrderStatus.FULFILLED,
                                   callback=callback.wire(), iccid=original.iccid,
                                   activation_code=original.activation_code,
                                   eid=reentry.line.eid)  # fmt: skip

    return step


def _remaining_minutes(site: OperatorSite, original: OrderRead, now: datetime) -> int:
    """Minutes until a still-pending delayed release (rounded up); 0 when released."""
    if original.status is not OrderStatus.PENDING_RELEASE or original.release_due_at is None:
        return 0
    seconds = (original.release_due_at - now).total_seconds()
    return max(1, math.ceil(seconds / site.download_delay_minute_seconds)) if seconds > 0 else 0


def _replace(
    drive: orders.Drive, reentry: Reentry, profile: orders.ReservedProfile
) -> orders.SessionStep:
    async def step(session: AsyncSession, now: datetime) -> OrderRead:
        request, old = drive.request, reentry.line
        await subscriber.create_line(
            session, request.site.operator_id, iccid=profile.iccid, sim_kind=SimKind.ESIM,
            status=LineStatus.RELEASED, now=now, eid=reentry.eid, account_id=request.account_id,
        )  # fmt: skip
        moved = await balances.move_balances(session, old.iccid, profile.iccid)
        await subscriber.set_line_status(session, old.iccid, LineStatus.CANCELLED, now)
        journal.log(session, request.site.operator_id, request.transaction_id,
                    "line-replaced", now, oldIccid=old.iccid, newIccid=profile.iccid,
                    balancesMoved=moved)  # fmt: skip
        callback = callbacks.success(request.api, request.meta(MetaValue.EXISTING),
                                     transaction_id=request.transaction_id, iccid=profile.iccid,
                                     activation_code=profile.activation_code)  # fmt: skip
        return await orders.finish(session, drive, now, OrderStatus.FULFILLED,
                                   callback=callback.wire(), iccid=profile.iccid, eid=reentry.eid,
                                   activation_code=profile.activation_code)  # fmt: skip

    return step
