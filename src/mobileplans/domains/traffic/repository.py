"""SQL of traffic failure percentages: grouped counts of balance lookups and purchases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import BalanceLookup, PortalLaunch, PurchaseTelemetry


async def balance_counts(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    environment: str | None,
    operator_id: str | None = None,
) -> Sequence[Row[str, str, int | None, int]]:
    """``(operator_id, outcome, status_code, count)`` of GetBalance calls in ``[start, end)``
    (``operator_id``: that operator's only)."""
    B = BalanceLookup
    query = (
        select(B.operator_id, B.outcome, B.status_code, func.count())
        .where(B.at >= start, B.at < end)
        .group_by(B.operator_id, B.outcome, B.status_code)
    )
    if environment is not None:
        query = query.where(B.environment == environment)
    if operator_id is not None:
        query = query.where(B.operator_id == operator_id)
    return (await session.execute(query)).all()


async def purchase_counts(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    environment: str | None,
    operator_id: str | None = None,
) -> Sequence[Row[str | None, str, int]]:
    """``(operator_id, mo_direct_status, count)`` of purchase telemetry in ``[start, end)``.

    Telemetry carries no environment; with one given, a report counts when its
    ``transactionId`` was launched in that environment (``portal_launches``).
    """
    T = PurchaseTelemetry
    query = (
        select(T.operator_id, T.mo_direct_status, func.count())
        .where(T.received_at >= start, T.received_at < end)
        .group_by(T.operator_id, T.mo_direct_status)
    )
    if environment is not None:
        query = query.join(PortalLaunch, PortalLaunch.transaction_id == T.transaction_id).where(
            PortalLaunch.environment == environment
        )
    if operator_id is not None:
        query = query.where(T.operator_id == operator_id)
    return (await session.execute(query)).all()
