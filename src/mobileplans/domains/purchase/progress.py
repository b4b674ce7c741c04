"""ES2+ HandleDownloadProgressInfo from the SM-DP+ (SGP.22 5.3.5; esim-rsp 1.3).

Body: ``iccid``, ``profileType``, ``timestamp`` (W3C, with an offset or ``Z``),
``notificationPointId`` (integer), ``notificationPointStatus`` (a
``functionExecutionStatus``: ``status`` and, on failure, ``statusCodeData``), optional
``eid``, ``resultData``, and the ES2+ request ``header``. Unknown members are ignored.
The body is read by the ES2+ codec (``kit.es2plus``) the SM-DP+ writes it with.

Every accepted call is stored (``mo_download_events``) and logged under the order's
``transactionId``. The line moves forward only: point 3 (BPP download) with
``Executed-Success`` → ``downloaded``; point 4 (installation) success → ``installed``.
Point 1 (eligibility) and failures change nothing but are kept for support.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mobileplans.db.driver_tx import Tx
from mobileplans.db.reads import Reads
from mobileplans.domains.purchase import journal, repository
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.domains.subscriber.schemas import LineStatus
from mobileplans.errors import NotFound
from mobileplans.kit.es2plus import BPP_DOWNLOAD, BPP_INSTALLATION, DownloadProgressInfo

__all__ = ["DownloadProgressInfo", "record_download_progress"]

_FORWARD: dict[int, tuple[LineStatus, frozenset[LineStatus]]] = {
    BPP_DOWNLOAD: (
        LineStatus.DOWNLOADED,
        frozenset({LineStatus.RESERVED, LineStatus.RELEASED}),
    ),
    BPP_INSTALLATION: (
        LineStatus.INSTALLED,
        frozenset({LineStatus.RESERVED, LineStatus.RELEASED, LineStatus.DOWNLOADED}),
    ),
}


async def record_download_progress(
    session: Tx,
    operator_id: str,
    info: DownloadProgressInfo,
    payload: dict[str, Any],
    now: datetime,
    *,
    reads: Reads | None = None,
) -> LineStatus:
    """Store the notification and move the line forward; the line's status afterwards.

    ``reads``: where the line and its order are read (the driver's reads: no statement
    of the transaction, which then only writes); the session by default."""
    line = await subscriber.find_line(reads or session, operator_id, info.iccid)
    if line is None:
        raise NotFound(f"SIM {info.iccid} is not known to this operator", iccid=info.iccid)
    status = info.notification_point_status
    await repository.add_download_event(
        session,
        {
            "operator_id": operator_id,
            "iccid": info.iccid,
            "eid": info.eid,
            "notification_point_id": info.notification_point_id,
            "status": status.status,
            "payload": payload,
            "at": now,
        },
    )
    target, sources = _FORWARD.get(info.notification_point_id, (line.status, frozenset()))
    moved = info.succeeded and line.status in sources
    if moved:
        await subscriber.set_line_status(session, info.iccid, target, now)
    order = await repository.latest_order_for_iccid(reads or session, operator_id, info.iccid)
    if order is not None:
        code = status.status_code_data
        journal.log(session, operator_id, order.transaction_id, "download-progress", now,
                    orderId=order.id, iccid=info.iccid, point=info.notification_point_id,
                    status=status.status, line=(target if moved else line.status).value,
                    code=f"{code.subject_code}/{code.reason_code}" if code else None)  # fmt: skip
    return target if moved else line.status
