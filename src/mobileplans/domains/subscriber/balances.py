"""Balances that run down with use and time, and what GetBalance reports (spec 2.3, 1.5).

Rules (spec 2.3 and the resolutions of 7.1 #8, #9 and 7.2 #46):

- A balance is *consumable* while it has data left and has not expired.
- GetBalance lists consumable balances; with ``location`` only those usable there. The
  balance being consumed comes first: one usable in the current location, earliest
  expiry first.
- Nothing consumable: one balance of type ``NONE`` with ``0`` MB and ``PT0S``, HTTP 200
  (never 404 for "no balance"; a zero or exhausted plan is ``NONE`` so the user can buy).
- A SIM the operator excluded from Mobile Plans: one ``NOTSUPPORTED`` balance.
- Data use drains the consumable balance that would be listed first; what is left over
  when every balance is empty is refused (the line is in the walled garden).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.driver_tx import Tx
from mobileplans.db.models import MoUsage
from mobileplans.db.reads import Reads, as_reads
from mobileplans.domains.subscriber import repository
from mobileplans.domains.subscriber.schemas import Balance, BalanceType, LineState, PlanRead
from mobileplans.errors import BadRequest, NotFound
from mobileplans.kit.durations import format_duration

EPSILON_MB = 1e-9


class BalanceRow(Protocol):
    """A balance as the rules read it: an ORM ``MoBalance`` or a ``BALANCE_ROWS`` row."""

    @property
    def id(self) -> int: ...
    @property
    def balance_type(self) -> str: ...
    @property
    def data_total_mb(self) -> float: ...
    @property
    def data_used_mb(self) -> float: ...
    @property
    def locations(self) -> list[str]: ...
    @property
    def expires_at(self) -> datetime: ...


def is_consumable(row: BalanceRow, now: datetime) -> bool:
    return row.expires_at > now and row.data_total_mb - row.data_used_mb > EPSILON_MB


def _ordered(rows: list[Any], now: datetime, location: str | None) -> list[Any]:
    live = [  # is_consumable, inline (GetBalance's hot path)
        r for r in rows if r.expires_at > now and r.data_total_mb - r.data_used_mb > EPSILON_MB
    ]
    if location is not None:
        live = [r for r in live if location in r.locations]
    if len(live) > 1:  # (one balance is the usual case: nothing to sort)
        live.sort(key=lambda r: (r.expires_at, r.id))
    return live


def _resource(row: BalanceRow, now: datetime, *, full: bool) -> Balance:
    return Balance(
        id=str(row.id),
        type=BalanceType(row.balance_type),
        data_remaining_in_mb=round(max(0.0, row.data_total_mb - row.data_used_mb), 3),
        time_remaining=format_duration(row.expires_at - now),
        locations=list(row.locations) if full else None,
    )


def _empty(iccid: str, kind: BalanceType, *, full: bool) -> Balance:
    return Balance(
        id=f"{iccid}-{kind.value.lower()}",
        type=kind,
        data_remaining_in_mb=0.0,
        time_remaining="PT0S",
        locations=[] if full else None,
    )


async def get_balances(
    source: AsyncSession | Reads,
    operator_id: str,
    iccid: str,
    *,
    now: datetime,
    location: str | None = None,
    full: bool = False,
    limit: int | None = None,
) -> list[Balance]:
    """The ``balances`` array of GetBalance for one SIM; ``NotFound`` if the SIM is unknown.

    ``source``: the MO API's driver-level reads (no transaction), or a session (inside
    a transaction, e.g. fulfilment, which must see its own writes)."""
    found = await _listed(as_reads(source), operator_id, iccid, now, location)
    if isinstance(found, BalanceType):
        return [_empty(iccid, found, full=full)][:limit]
    return [_resource(r, now, full=full) for r in found[:limit]]


async def get_balances_wire(
    source: AsyncSession | Reads,
    operator_id: str,
    iccid: str,
    *,
    now: datetime,
    location: str | None = None,
    full: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """:func:`get_balances` in its wire form (``Balance.wire()`` of each), built without
    the model: the MO API's hot path (docs/performance.md, "GetBalance load").
    ``tests/domains/subscriber/test_balances.py`` holds both forms equal."""
    found = await _listed(as_reads(source), operator_id, iccid, now, location)
    if isinstance(found, BalanceType):
        return [_empty(iccid, found, full=full).wire()][:limit]
    return [_wire(r, now, full=full) for r in found[:limit]]


async def _listed(
    reads: Reads, operator_id: str, iccid: str, now: datetime, location: str | None
) -> list[Any] | BalanceType:
    """The consumable balances in GetBalance's order, or the kind of the one empty
    balance to show instead (``NOTSUPPORTED``, ``NONE``)."""
    line = await repository.line_summary(reads, iccid)
    if line is None or line.operator_id != operator_id:
        raise NotFound(f"SIM {iccid} is not known to this operator", iccid=iccid)
    if not line.supported:
        return BalanceType.NOTSUPPORTED
    return _ordered(await repository.balance_rows(reads, iccid), now, location) or BalanceType.NONE


_TYPE_VALUES: Final = {kind.value: kind.value for kind in BalanceType}
"""``BalanceType(stored).value`` by a dict (an enum call costs several dict lookups);
anything else still goes through the enum, and fails there."""


def _wire(row: BalanceRow, now: datetime, *, full: bool) -> dict[str, Any]:
    """``_resource(row, now, full=full).wire()``, without the model."""
    left = float(row.data_total_mb - row.data_used_mb)
    body: dict[str, Any] = {
        "id": str(row.id),
        "type": _TYPE_VALUES.get(row.balance_type) or BalanceType(row.balance_type).value,
        "dataRemaininginMB": round(left if left > 0.0 else 0.0, 3),  # max(0.0, left)
        "timeRemaining": format_duration(row.expires_at - now),
    }
    if full:
        body["locations"] = list(row.locations)
    return body


async def credit(
    session: Tx,
    iccid: str,
    plan: PlanRead,
    *,
    now: datetime,
    order_id: str | None = None,
    line_known: bool = False,
) -> Balance:
    """Add a plan's data and time to a line (top-up or new subscription).

    ``line_known``: the caller has just created or read the line in this transaction
    (no second read); otherwise an unknown line is ``NotFound``."""
    if not line_known and await repository.line_row(as_reads(session), iccid) is None:
        raise NotFound(f"SIM {iccid} is not known to this operator", iccid=iccid)
    values: dict[str, Any] = {
        "iccid": iccid,
        "plan_id": plan.id,
        "order_id": order_id,
        "balance_type": plan.balance_type.value,
        "data_total_mb": plan.data_mb,
        "data_used_mb": 0.0,
        "locations": list(plan.countries),
        "started_at": now,
        "expires_at": now + timedelta(days=plan.validity_days),
    }
    values["id"] = await repository.insert_balance(session, values)
    return _resource(SimpleNamespace(**values), now, full=True)


async def move_balances(session: AsyncSession, from_iccid: str, to_iccid: str) -> int:
    """Move every balance of a line to another line (a profile re-issued, spec 1.9)."""
    if await repository.line(session, to_iccid) is None:
        raise NotFound(f"SIM {to_iccid} is not known to this operator", iccid=to_iccid)
    return await repository.move_balances(session, from_iccid, to_iccid)


async def use_data(
    session: AsyncSession,
    operator_id: str,
    iccid: str,
    mb: float,
    *,
    now: datetime,
    location: str | None = None,
) -> tuple[float, LineState]:
    """Drain ``mb`` of data from the line's balances; returns (MB refused, new state).

    Each balance is drained with a compare-and-set on its used amount, so concurrent
    usage reports never double-spend.
    """
    if not mb > 0:
        raise BadRequest("mb must be a positive number", field="mb")
    await _known_line(session, operator_id, iccid)
    left = mb
    for _ in range(100):  # bounded retries under contention
        rows = _ordered(await repository.balances(session, iccid), now, location)
        if not rows or left <= EPSILON_MB:
            break
        row = rows[0]
        take = min(left, row.data_total_mb - row.data_used_mb)
        if await repository.consume(session, row.id, take, row.data_used_mb):
            repository.add(session, MoUsage(iccid=iccid, balance_id=row.id, mb=take, at=now))
            left -= take
        await session.flush()
        session.expire_all()
    return max(0.0, left), await line_state(session, operator_id, iccid, now=now, location=location)


async def _known_line(source: AsyncSession | Reads, operator_id: str, iccid: str) -> None:
    line = await repository.line_row(as_reads(source), iccid)
    if line is None or line.operator_id != operator_id:
        raise NotFound(f"SIM {iccid} is not known to this operator", iccid=iccid)


async def line_state(
    source: AsyncSession | Reads,
    operator_id: str,
    iccid: str,
    *,
    now: datetime,
    location: str | None = None,
) -> LineState:
    """Walled garden (spec 1.5) when nothing is consumable; else the balance being drained.

    ``source``: driver-level reads (the core network's read, no transaction) or the
    session of a transaction that must see its own writes (after data use)."""
    reads = as_reads(source)
    await _known_line(reads, operator_id, iccid)
    rows = _ordered(await repository.balance_rows(reads, iccid), now, location)
    if not rows:
        return LineState(
            iccid=iccid, walled_garden=True, data_remaining_in_mb=0.0, time_remaining="PT0S"
        )
    total = sum(r.data_total_mb - r.data_used_mb for r in rows)
    return LineState(
        iccid=iccid,
        walled_garden=False,
        data_remaining_in_mb=round(total, 3),
        time_remaining=format_duration(rows[0].expires_at - now),
    )
