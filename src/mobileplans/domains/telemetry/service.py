"""Record purchase telemetry (spec 5.8: callback metadata feeds business reporting)."""

from __future__ import annotations

from datetime import datetime

from mobileplans.db.driver_tx import Tx
from mobileplans.domains.catalog import service as catalog_service
from mobileplans.domains.telemetry import repository
from mobileplans.domains.telemetry.schemas import PurchaseRecorded, PurchaseReport
from mobileplans.errors import Conflict


async def record_purchase(
    session: Tx, report: PurchaseReport, *, now: datetime
) -> PurchaseRecorded:
    """Store one report; the same ``transactionId`` and callback twice is a 409 (first kept).

    One statement when the report names its operator: ``INSERT … ON CONFLICT DO NOTHING``
    on the unique (``transactionId``, callback) key, which also settles concurrent
    duplicates."""
    operator_id = report.operator_id or await catalog_service.launch_operator(
        session, report.transaction_id
    )
    values = {
        "received_at": now,
        "transaction_id": report.transaction_id,
        "operator_id": operator_id,
        "callback": report.callback,
        "user_account": report.user_account,
        "purchase_instrument": report.purchase_instrument,
        "line": report.line,
        "mo_direct_status": report.mo_direct_status,
        "plan_name": report.plan_name,
        "iccid": report.iccid,
        "raw": report.wire(),
    }
    row_id = await repository.insert_new(session, values)
    if row_id is None:
        raise Conflict(
            f"purchase telemetry for transactionId {report.transaction_id} and {report.callback} "
            "was already recorded",
            field="transactionId",
        )
    return PurchaseRecorded(
        id=row_id,
        transaction_id=report.transaction_id,
        operator_id=operator_id,
        received_at=now.isoformat(),
    )
