"""The transaction log: everything a portal session does, under its launch ``transactionId``.

Spec 2.1.1: the MO must log the ``transactionId``; 2.2.3 FAQ: it must *store* it for
troubleshooting. Events (``event`` column): ``launch``, ``launch-refused``, ``reentry``,
``signin``, ``signin-failed``, ``signup``, ``account-viewed``, ``plan-chosen``,
``checkout``, ``checkout-refused``, ``terms-accepted``, ``order-placed``, ``es2plus``
(one per ES2+ call: function, functionCallIdentifier, outcome), ``order-fulfilled``,
``order-failed``, ``reconcile`` (a lost ``downloadOrder`` answer settled, D245),
``profile-released``, ``download-progress``, ``callback`` (what the page
handed to the app), ``cancelled``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.driver_tx import Tx
from mobileplans.db.models import MoOrder
from mobileplans.db.reads import Row
from mobileplans.domains.purchase import repository
from mobileplans.domains.purchase.schemas import OrderKind, OrderRead, OrderStatus

UNKNOWN_TRANSACTION = "(invalid)"  # a refused launch whose own transactionId was bad


def log(
    session: Tx,
    operator_id: str,
    transaction_id: str,
    event: str,
    now: datetime,
    **detail: Any,
) -> None:
    repository.add_log(
        session,
        {
            "operator_id": operator_id,
            "transaction_id": transaction_id[:64],
            "event": event,
            "detail": {k: v for k, v in detail.items() if v is not None},
            "at": now,
        },
    )


async def entries(
    session: AsyncSession, operator_id: str, transaction_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """``(event, detail)`` in order, for support and tests."""
    rows = await repository.log_entries(session, operator_id, transaction_id)
    return [(row.event, dict(row.detail)) for row in rows]


def order_read(row: MoOrder | Row) -> OrderRead:
    """From an ORM row or a Core row of ``mo_orders``' columns."""
    return OrderRead(
        id=row.id,
        operator_id=row.operator_id,
        account_id=row.account_id,
        plan_id=row.plan_id,
        kind=OrderKind(row.kind),
        status=OrderStatus(row.status),
        transaction_id=row.transaction_id,
        iccid=row.iccid,
        eid=row.eid,
        activation_code=row.activation_code,
        download_delay_minutes=row.download_delay_minutes,
        release_due_at=row.release_due_at,
        failure=row.failure,
        callback=dict(row.callback) if row.callback is not None else None,
        created_at=row.created_at,
    )


def placed_read(values: dict[str, Any]) -> OrderRead:
    """The order just inserted (``values`` of its ``INSERT``), as a read would give it:
    no statement (D187)."""
    return OrderRead(
        id=values["id"], operator_id=values["operator_id"], account_id=values["account_id"],
        plan_id=values["plan_id"], kind=OrderKind(values["kind"]),
        status=OrderStatus(values["status"]), transaction_id=values["transaction_id"],
        iccid=values["iccid"], eid=values["eid"], activation_code=None,
        download_delay_minutes=0, release_due_at=None, failure=None, callback=None,
        created_at=values["created_at"].astimezone(UTC),
    )  # fmt: skip


_READ_FIELDS = frozenset(
    ("iccid", "eid", "activation_code", "download_delay_minutes", "release_due_at", "failure")
)


def read_values(values: dict[str, Any]) -> dict[str, Any]:
    """The ``values`` an order's ``UPDATE`` stored, as its read model holds them (D187)."""
    read = {k: v for k, v in values.items() if k in _READ_FIELDS}
    if read.get("release_due_at") is not None:
        read["release_due_at"] = read["release_due_at"].astimezone(UTC)
    if "callback" in values:
        read["callback"] = dict(values["callback"]) if values["callback"] is not None else None
    return read
