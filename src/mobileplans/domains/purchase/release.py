"""Delayed profiles (spec 1.6 "Delayed profile, era C"; 7.2 #42): release them when due.

The portal confirmed such a profile with ``releaseFlag: false`` and handed the app the
activation code with ``downloadDelay``; ``release_due_orders`` (run every few seconds
by the operator app) calls ``releaseProfile`` once ``release_due_at`` has passed, then
marks the order ``fulfilled`` and the line ``released``.

The job (the edge) hands the round a ``Transactions``: the due orders are read in one
short transaction, the ES2+ calls are made with no session open (the SM-DP+ may share the
database, and on SQLite its single writer), and each answer is recorded in a short
transaction of its own (docs/architecture.md, "Transactions"). A transport
failure leaves the order due (next round retries with the same functionCallIdentifier,
which the SM-DP+ answers as a replay); a ``Failed`` answer marks it ``release-failed``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MoOrder
from mobileplans.db.reads import Reads
from mobileplans.db.transactions import Transactions
from mobileplans.domains.purchase import journal, repository
from mobileplans.domains.purchase.es2plus_client import (
    Es2PlusFailed,
    Es2PlusPool,
    Es2PlusUnavailable,
)
from mobileplans.domains.purchase.schemas import OrderStatus
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.domains.subscriber.schemas import LineStatus
from mobileplans.kit.text import printable

ROUND_LIMIT = 20


async def release_due_orders(
    tx: Transactions,
    es2: Es2PlusPool,
    now: datetime,
    *,
    limit: int = ROUND_LIMIT,
    reads: Reads | None = None,
) -> int:
    """Release every delayed profile that is due; returns how many were released.

    With ``reads`` (driver-level, no transaction), a round with nothing due costs one
    read and opens no transaction."""
    if reads is not None:
        first = await repository.first_release_due(reads)
        if first is None or first > now:
            return 0
    async with tx.step() as session:
        due = await repository.due_releases(session, now, limit)
    answers: list[tuple[MoOrder, Es2PlusFailed | None]] = []
    for row in due:
        try:
            client = es2.for_operator(row.operator_id)
        except KeyError:
            continue  # an operator this process does not host
        assert row.iccid is not None
        try:
            await client.release_profile(call_id=f"{row.id}.releaseProfile", iccid=row.iccid)
        except Es2PlusUnavailable:
            continue  # retried next round
        except Es2PlusFailed as exc:
            answers.append((row, exc))
            continue
        answers.append((row, None))
    released = 0
    for row, failure in answers:
        async with tx.step() as session:
            released += await _record(session, row, failure, now)
    return released


async def _record(
    session: AsyncSession, row: MoOrder, failure: Es2PlusFailed | None, now: datetime
) -> int:
    assert row.iccid is not None
    status = OrderStatus.FULFILLED if failure is None else OrderStatus.RELEASE_FAILED
    moved = await repository.update_order(
        session,
        row.id,
        expect_status=OrderStatus.PENDING_RELEASE.value,
        status=status.value,
        failure=None if failure is None else printable(str(failure), 500),
        updated_at=now,
    )
    if not moved:
        return 0
    journal.log(session, row.operator_id, row.transaction_id, "es2plus", now,
                orderId=row.id, function="releaseProfile", callId=f"{row.id}.releaseProfile",
                outcome="success" if failure is None else "failed",
                code=None if failure is None else failure.code)  # fmt: skip
    if failure is not None:
        return 0
    line = await subscriber.find_line(session, row.operator_id, row.iccid)
    if line is not None and line.status is LineStatus.RESERVED:
        await subscriber.set_line_status(session, row.iccid, LineStatus.RELEASED, now)
    journal.log(session, row.operator_id, row.transaction_id, "profile-released", now,
                orderId=row.id, iccid=row.iccid)  # fmt: skip
    return 1
