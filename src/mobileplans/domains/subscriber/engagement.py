"""What the operator offers a line and which notifications apply to it (spec 2.6, 2.7).

GetOffers (spec 2.6) picks gateway templates:

- a supported line with a consumable balance now (a customer in service) gets the
  operator's ``returning_gateway_id`` first, when one is configured, then ``"0"``;
- every other line (new, lapsed, excluded from Mobile Plans) gets ``"0"``, the template
  the service also uses when it does not call GetOffers at all.

GetNotifications (spec 2.7) answers, for the one type asked, whether it applies now:

- ``lowBalance``: something is consumable, and what is left of the consumable balances
  is at most ``LOW_BALANCE_FRACTION`` of what they held, or all of them end within
  ``LOW_BALANCE_TIME``;
- ``zeroBalance``: nothing is consumable (the walled-garden state of spec 1.5);
- ``newOffer``: the operator sells an active plan this line has never had;
- ``trialOffer``, ``trialEnding``, ``trialEnded``: never (the reference operator sells
  no trials).

A line excluded from Mobile Plans (``NOTSUPPORTED``) gets no notifications. Each type
has a fixed ``notificationId`` (``NOTIFICATION_IDS``): the id of its template.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.reads import Reads, Row, as_reads
from mobileplans.domains.subscriber import repository
from mobileplans.domains.subscriber.balances import BalanceRow, is_consumable
from mobileplans.domains.subscriber.schemas import Notification, NotificationType, Offer
from mobileplans.errors import BadRequest, NotFound

DEFAULT_GATEWAY_ID: Final = "0"
LOW_BALANCE_FRACTION: Final = 0.10
LOW_BALANCE_TIME: Final = timedelta(hours=24)
NOTIFICATION_IDS: Final = {
    NotificationType.LOW_BALANCE: 1,
    NotificationType.ZERO_BALANCE: 2,
    NotificationType.NEW_OFFER: 3,
    NotificationType.TRIAL_OFFER: 4,
    NotificationType.TRIAL_ENDING: 5,
    NotificationType.TRIAL_ENDED: 6,
}
_BY_FOLDED: Final = {kind.value.casefold(): kind for kind in NotificationType}


def parse_notification_type(
    value: str | None, *, field: str = "notificationType"
) -> NotificationType:
    """The query value (``lowBalance``) or display name (``LowBalance``), any case."""
    text = (value or "").strip()
    if not text:
        raise BadRequest(f"{field} is required", field=field)
    kind = _BY_FOLDED.get(text.casefold())
    if kind is None:
        allowed = ", ".join(k.value for k in NotificationType)
        raise BadRequest(f"{field} must be one of {allowed}", field=field)
    return kind


async def _line(reads: Reads, operator_id: str, iccid: str) -> Row:
    line = await repository.line_summary(reads, iccid)
    if line is None or line.operator_id != operator_id:
        raise NotFound(f"SIM {iccid} is not known to this operator", iccid=iccid)
    return line


async def get_offers(
    source: AsyncSession | Reads,
    operator_id: str,
    iccid: str,
    *,
    now: datetime,
    limit: int,
    returning_gateway_id: str | None = None,
) -> list[Offer]:
    """GetOffers: gateway template ids for the line, best first, at most ``limit``.
    ``source``: driver-level reads or a session (see ``balances.get_balances``)."""
    reads = as_reads(source)
    line = await _line(reads, operator_id, iccid)
    ids = [DEFAULT_GATEWAY_ID]
    if line.supported and returning_gateway_id and returning_gateway_id != DEFAULT_GATEWAY_ID:
        rows = await repository.balance_rows(reads, iccid)
        if any(is_consumable(row, now) for row in rows):
            ids.insert(0, returning_gateway_id)
    return [Offer(gateway_id=gateway_id) for gateway_id in ids[:limit]]


def _is_low(live: list[BalanceRow], now: datetime) -> bool:
    held = sum(row.data_total_mb for row in live)
    left = sum(row.data_total_mb - row.data_used_mb for row in live)
    ends = max(row.expires_at for row in live)
    return left <= held * LOW_BALANCE_FRACTION or ends - now <= LOW_BALANCE_TIME


async def _applies(reads: Reads, line: Row, kind: NotificationType, now: datetime) -> bool:
    if not line.supported:
        return False
    rows: list[Any] = await repository.balance_rows(reads, line.iccid)
    live = [row for row in rows if is_consumable(row, now)]
    if kind is NotificationType.LOW_BALANCE:
        return bool(live) and _is_low(live, now)
    if kind is NotificationType.ZERO_BALANCE:
        return not live
    if kind is NotificationType.NEW_OFFER:
        had = {row.plan_id for row in rows}
        plan_ids = await repository.active_plan_ids(reads, line.operator_id)
        return any(plan_id not in had for plan_id in plan_ids)
    return False  # trials: the reference operator sells none


async def get_notifications(
    source: AsyncSession | Reads,
    operator_id: str,
    iccid: str,
    kind: NotificationType,
    *,
    now: datetime,
    limit: int,
) -> list[Notification]:
    """GetNotifications: the notification of type ``kind`` if it applies now (at most ``limit``)."""
    reads = as_reads(source)
    line = await _line(reads, operator_id, iccid)
    found = [Notification(notification_id=NOTIFICATION_IDS[kind], notification_type=kind)]
    return found[:limit] if await _applies(reads, line, kind, now) else []
