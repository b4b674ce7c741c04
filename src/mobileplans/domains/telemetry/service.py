"""Record purchase telemetry (spec 5.8: callback metadata feeds business reporting)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import PurchaseTelemetry
from mobileplans.domains.catalog import service as catalog_service
from mobileplans.domains.telemetry import repository
from mobileplans.domains.telemetry.schemas import PurchaseRecorded, PurchaseReport
from mobileplans.errors import Conflict


async def record_purchase(
    session: AsyncSession, report: PurchaseReport, *, now: datetime
) -> PurchaseRecorded:
    """Store one report; the same ``transactionId`` and callback twice is a 409 (first kept)."""
    if await repository.find(session, report.transaction_id, report.callback) is not None:
        raise Conflict(
            f"purchase telemetry for transactionId {report.transaction_id} and {report.callback} "
            "was already recorded",
            field="transactionId",
        )
    operator_id = report.operator_id or await catalog_service.launch_operator(
        session, report.transaction_id
    )
    row = PurchaseTelemetry(
        received_at=now,
        transaction_id=report.transaction_id,
        operator_id=operator_id,
        callback=report.callback,
        user_account=report.user_account,
        purchase_instrument=report.purchase_instrument,
        line=report.line,
        mo_direct_status=report.mo_direct_status,
        plan_name=report.plan_name,
        iccid=report.iccid,
        raw=report.wire(),
    )
    repository.add(session, row)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent duplicate
        raise Conflict("purchase telemetry already recorded", field="transactionId") from exc
    return PurchaseRecorded(
        id=row.id,
        transaction_id=row.transaction_id,
        operator_id=operator_id,
        received_at=now.isoformat(),
    )
