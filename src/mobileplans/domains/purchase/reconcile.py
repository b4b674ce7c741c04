"""Orders whose ``downloadOrder`` answer was lost: give back the profile (D232, D245).

An order that failed on ``downloadOrder`` with the SM-DP+ unreachable or its answer lost
(reset, cut short, garbage, too late) may still have linked a profile to the device's EID:
the SM-DP+ acted, the operator never learned the ICCID. ``fail`` marks such an order with
``reconcile_due_at``; ``reconcile_lost_orders`` (run with the release job) sends its
``downloadOrder`` again with the SAME functionCallIdentifier and body, so the SM-DP+
replays its stored answer naming the ICCID (or, if the first call never arrived, links one
now), then ``cancelOrder`` ``Available`` for it with the call id ``give_back`` uses.

Outcomes: the profile given back, or a ``Failed`` answer (nothing linked, or nothing left
to give back), clear the mark and are journalled; a transport failure moves the mark out
with backoff (5 s doubling, at most 10 minutes) and, 24 hours after the order failed (its
``updated_at``), gives up with a journal entry and a log line (support finds the ICCID at
the SM-DP+). Same shape as ``release_due_orders``: the driver's reads say whether anything
is due (no transaction when nothing is), one short transaction reads the due rows, the
ES2+ calls run with no session open, one short transaction records each outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MoOrder
from mobileplans.db.reads import Reads
from mobileplans.db.transactions import Transactions
from mobileplans.domains.purchase import journal, repository
from mobileplans.domains.purchase.es2plus_client import (
    Es2PlusClient,
    Es2PlusFailed,
    Es2PlusPool,
    Es2PlusUnavailable,
)
from mobileplans.domains.subscriber import service as subscriber

log = logging.getLogger(__name__)

ROUND_LIMIT = 20
FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one replay found: ``given-back``, ``nothing-linked``, ``cancel-failed`` or
    ``unavailable`` (transport failure: try again later)."""

    result: str
    iccid: str | None = None
    function: str | None = None
    code: str | None = None
    message: str | None = None


def next_attempt(failed_at: datetime, now: datetime) -> datetime | None:
    """When to try again after a transport failure, ``None`` to give up: the wait is the
    time since the order failed (so it doubles from 5 s), capped at 10 minutes."""
    elapsed = now - failed_at
    if elapsed >= GIVE_UP_AFTER:
        return None
    return now + min(max(elapsed, FIRST_BACKOFF), MAX_BACKOFF)


async def reconcile_lost_orders(
    tx: Transactions,
    es2: Es2PlusPool,
    now: datetime,
    *,
    limit: int = ROUND_LIMIT,
    reads: Reads | None = None,
) -> int:
    """Replay every due lost-answer order; returns how many were settled (mark cleared).

    With ``reads`` (driver-level, no transaction), a round with nothing due costs one
    read and opens no transaction."""
    if reads is not None:
        first = await repository.first_reconcile_due(reads)
        if first is None or first > now:
            return 0
    async with tx.step() as session:
        due = await repository.due_reconciles(session, now, limit)
        profile_types = [await _profile_type(session, row) for row in due]
    outcomes: list[tuple[MoOrder, Outcome]] = []
    for row, profile_type in zip(due, profile_types, strict=True):
        try:
            client = es2.for_operator(row.operator_id)
        except KeyError:
            continue  # an operator this process does not host
        outcomes.append((row, await replay(client, row, profile_type)))
    settled = 0
    for row, outcome in outcomes:
        async with tx.step() as session:
            settled += await _record(session, row, outcome, now)
    return settled


async def _profile_type(session: AsyncSession, row: MoOrder) -> str:
    """The profile type the first ``downloadOrder`` asked for (the order's plan)."""
    return (await subscriber.get_plan(session, row.operator_id, row.plan_id)).profile_type


async def replay(client: Es2PlusClient, row: MoOrder, profile_type: str) -> Outcome:
    """``downloadOrder`` again (same identifier and body), then ``cancelOrder`` Available."""
    try:
        iccid = await client.download_order(
            call_id=f"{row.id}.downloadOrder", eid=row.eid, profile_type=profile_type
        )
    except Es2PlusFailed as exc:
        return Outcome("nothing-linked", function="downloadOrder", code=exc.code,
                       message=exc.message)  # fmt: skip
    except Es2PlusUnavailable as exc:
        return Outcome("unavailable", function="downloadOrder", message=exc.message)
    try:
        await client.cancel_order(call_id=f"{row.id}.cancelOrder-{iccid}", iccid=iccid,
                                  eid=row.eid, final_status="Available")  # fmt: skip
    except Es2PlusFailed as exc:
        return Outcome("cancel-failed", iccid, "cancelOrder", exc.code, exc.message)
    except Es2PlusUnavailable as exc:
        return Outcome("unavailable", iccid, "cancelOrder", message=exc.message)
    return Outcome("given-back", iccid)


async def _record(session: AsyncSession, row: MoOrder, outcome: Outcome, now: datetime) -> int:
    seen = row.reconcile_due_at
    assert seen is not None
    due = next_attempt(row.updated_at, now) if outcome.result == "unavailable" else None
    if not await repository.set_reconcile_due(session, row.id, seen, due):
        return 0  # another worker recorded it first
    if due is not None:
        return 0  # tried again later; only a settled order is journalled
    result = "gave-up" if outcome.result == "unavailable" else outcome.result
    if result == "gave-up":
        log.warning("order %s: gave up giving back a profile its lost downloadOrder answer "
                    "may have linked (%s)", row.id, outcome.message)  # fmt: skip
    journal.log(session, row.operator_id, row.transaction_id, "reconcile", now,
                orderId=row.id, outcome=result, iccid=outcome.iccid,
                function=outcome.function, code=outcome.code,
                message=None if outcome.message is None else outcome.message[:200])  # fmt: skip
    return 1
