"""SQL of the subscriber domain (operator back office, ``mo_*`` tables).

The MO API's reads (GetBalance, GetOffers, GetNotifications) are Core statements run
through a :class:`mobileplans.db.reads.Reads`: on the raw driver for the MO API (no
session, no explicit transaction), or through the caller's session inside a
transaction. So do the portal's reads (plans, accounts, lines): column values, no ORM
objects, no identity map, run on the driver for a read-only page or through the
request's session where the page writes too. Writes that need an ORM row (a new
account, line or plan) work on ORM rows in the caller's session.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db import driver
from mobileplans.db.driver_tx import Tx
from mobileplans.db.models import MoAccount, MoBalance, MoLine, MoPlan, MoUsage
from mobileplans.db.reads import Reads, Row, as_reads

# --- the MO API's reads (named parameters; compiled once per dialect by db.reads) ---

LINE_SUMMARY: Final = select(MoLine.iccid, MoLine.operator_id, MoLine.supported).where(
    MoLine.iccid == bindparam("iccid")
)
BALANCE_ROWS: Final = (
    select(
        MoBalance.id,
        MoBalance.plan_id,
        MoBalance.balance_type,
        MoBalance.data_total_mb,
        MoBalance.data_used_mb,
        MoBalance.locations,
        MoBalance.expires_at,
    )
    .where(MoBalance.iccid == bindparam("iccid"))
    .order_by(MoBalance.expires_at, MoBalance.id)
)
ACTIVE_PLAN_IDS: Final = (
    select(MoPlan.id)
    .where(MoPlan.operator_id == bindparam("operator_id"), MoPlan.active.is_(True))
    .order_by(MoPlan.id)
)


# These two hand back the read's own awaitable (no coroutine of their own): GetBalance's
# hot path is two reads, and a coroutine per layer shows in its cost (issue #8).
def line_summary(reads: Reads, iccid: str) -> Awaitable[Row | None]:
    """``(iccid, operator_id, supported)`` of one line, or None (to await)."""
    return reads.one(LINE_SUMMARY, {"iccid": iccid})


def balance_rows(reads: Reads, iccid: str) -> Awaitable[list[Row]]:
    """Every balance of a line (consumable or not), earliest expiry first (to await)."""
    return reads.all(BALANCE_ROWS, {"iccid": iccid})


async def active_plan_ids(reads: Reads, operator_id: str) -> list[int]:
    return [row.id for row in await reads.all(ACTIVE_PLAN_IDS, {"operator_id": operator_id})]


# --- the portal's reads: Core statements over column values (db.reads) --------------

_PLAN_COLUMNS: Final = (
    MoPlan.id,
    MoPlan.operator_id,
    MoPlan.code,
    MoPlan.name,
    MoPlan.kind,
    MoPlan.data_mb,
    MoPlan.validity_days,
    MoPlan.price_cents,
    MoPlan.currency,
    MoPlan.countries,
    MoPlan.profile_type,
    MoPlan.download_delay_minutes,
    MoPlan.active,
)
ACTIVE_PLAN_ROWS: Final = (
    select(*_PLAN_COLUMNS)
    .where(MoPlan.operator_id == bindparam("operator_id"), MoPlan.active.is_(True))
    .order_by(MoPlan.id)
)
PLAN_ROW: Final = select(*_PLAN_COLUMNS).where(MoPlan.id == bindparam("plan_id"))
ACCOUNT_ROW: Final = select(
    MoAccount.id,
    MoAccount.operator_id,
    MoAccount.email,
    MoAccount.display_name,
    MoAccount.payment_last4,
).where(MoAccount.id == bindparam("account_id"))
_LINE_COLUMNS: Final = (
    MoLine.iccid,
    MoLine.operator_id,
    MoLine.account_id,
    MoLine.eid,
    MoLine.sim_kind,
    MoLine.status,
    MoLine.supported,
)
LINE_ROW: Final = select(*_LINE_COLUMNS).where(MoLine.iccid == bindparam("iccid"))
ACCOUNT_LINE_ROWS: Final = (
    select(*_LINE_COLUMNS)
    .where(MoLine.account_id == bindparam("account_id"))
    .order_by(MoLine.created_at)
)


async def active_plan_rows(reads: Reads, operator_id: str) -> list[Row]:
    """The plans on sale, by id: the columns of ``PlanRead`` and ``active``."""
    return await reads.all(ACTIVE_PLAN_ROWS, {"operator_id": operator_id})


async def plan_row(reads: Reads, plan_id: int) -> Row | None:
    return await reads.one(PLAN_ROW, {"plan_id": plan_id})


async def account_row(reads: Reads, account_id: int) -> Row | None:
    """An account's columns of ``AccountRead`` (never the password hash)."""
    return await reads.one(ACCOUNT_ROW, {"account_id": account_id})


async def line_row(reads: Reads, iccid: str) -> Row | None:
    return await reads.one(LINE_ROW, {"iccid": iccid})


async def account_line_rows(reads: Reads, account_id: int) -> list[Row]:
    return await reads.all(ACCOUNT_LINE_ROWS, {"account_id": account_id})


# --- ORM work in the caller's session ----------------------------------------------


async def plans(
    session: AsyncSession, operator_id: str, *, active_only: bool = True
) -> list[MoPlan]:
    query = select(MoPlan).where(MoPlan.operator_id == operator_id).order_by(MoPlan.id)
    if active_only:
        query = query.where(MoPlan.active.is_(True))
    return list((await session.scalars(query)).all())


async def plan(session: AsyncSession, plan_id: int) -> MoPlan | None:
    return await session.get(MoPlan, plan_id)


async def plan_by_code(session: AsyncSession, operator_id: str, code: str) -> MoPlan | None:
    query = select(MoPlan).where(MoPlan.operator_id == operator_id, MoPlan.code == code)
    return (await session.scalars(query)).one_or_none()


_ACCOUNT_BY_EMAIL: Final = select(
    MoAccount.id,
    MoAccount.operator_id,
    MoAccount.email,
    MoAccount.display_name,
    MoAccount.payment_last4,
    MoAccount.password_hash,
).where(MoAccount.operator_id == bindparam("operator_id"), MoAccount.email == bindparam("email"))


async def account_by_email(
    source: AsyncSession | Reads, operator_id: str, email: str
) -> Row | None:
    """An account's columns with its password hash (sign-in), by email."""
    values = {"operator_id": operator_id, "email": email}
    return await as_reads(source).one(_ACCOUNT_BY_EMAIL, values)


_ACCOUNTS = cast(Table, MoAccount.__table__)
_BALANCES = cast(Table, MoBalance.__table__)
# Statements of a purchase flow built once: a statement's cache key is memoised on the
# object, so a prebuilt one skips that walk on every execution (D286).
_LINES = cast(Table, MoLine.__table__)
_INSERT_ACCOUNT = driver.insert_statement(_ACCOUNTS).returning(_ACCOUNTS.c.id)
_INSERT_BALANCE = driver.insert_statement(_BALANCES).returning(_BALANCES.c.id)
_INSERT_LINE = driver.insert_statement(_LINES)
_SET_PAYMENT_LAST4 = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account_id"))
    .values(payment_last4=bindparam("last4"))
)
_TOUCH_LINE = (
    update(_LINES)
    .where(_LINES.c.iccid == bindparam("line_iccid"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)
"""The flow's writes, on the driver (``db.driver``, D297): the transaction is the
request's ``DriverTransaction`` or a session."""


async def insert_account(tx: Tx, values: dict[str, Any]) -> int:
    """One ``INSERT … RETURNING id`` (``IntegrityError`` when the email is taken)."""
    (row,) = await driver.rows(tx, _INSERT_ACCOUNT, **values)
    return int(row[0])


async def account(session: AsyncSession, account_id: int) -> MoAccount | None:
    return await session.get(MoAccount, account_id)


_LINE_FOR_UPDATE: Final = LINE_ROW.with_for_update()  # SQLite: no FOR UPDATE (one writer)
_ATTACH_LINE: Final = (
    update(_LINES)
    .where(_LINES.c.iccid == bindparam("line_iccid"))
    .values(
        account_id=bindparam("account_id"),
        status=bindparam("status"),
        updated_at=bindparam("updated_at"),
    )
)


async def line_for_update(tx: Tx, iccid: str) -> Row | None:
    """The line's columns, its row locked until the transaction ends (PostgreSQL)."""
    return await as_reads(tx).one(_LINE_FOR_UPDATE, {"iccid": iccid})


async def attach_line(tx: Tx, iccid: str, account_id: int, status: str, now: datetime) -> None:
    await driver.change(
        tx, _ATTACH_LINE, line_iccid=iccid, account_id=account_id, status=status, updated_at=now
    )


async def line(session: AsyncSession, iccid: str) -> MoLine | None:
    query = select(MoLine).where(MoLine.iccid == iccid)
    return (await session.scalars(query)).one_or_none()


async def lines_of_account(session: AsyncSession, account_id: int) -> list[MoLine]:
    query = select(MoLine).where(MoLine.account_id == account_id).order_by(MoLine.created_at)
    return list((await session.scalars(query)).all())


async def balances(session: AsyncSession, iccid: str) -> list[MoBalance]:
    query = (
        select(MoBalance)
        .where(MoBalance.iccid == iccid)
        .order_by(MoBalance.expires_at, MoBalance.id)
    )
    return list((await session.scalars(query)).all())


async def consume(session: AsyncSession, balance_id: int, mb: float, seen_used: float) -> bool:
    """Compare-and-set the used amount; False if another writer got there first."""
    result = await session.execute(
        update(MoBalance)
        .where(MoBalance.id == balance_id, MoBalance.data_used_mb == seen_used)
        .values(data_used_mb=seen_used + mb)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def move_balances(session: AsyncSession, from_iccid: str, to_iccid: str) -> int:
    result = await session.execute(
        update(MoBalance).where(MoBalance.iccid == from_iccid).values(iccid=to_iccid)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def insert_balance(tx: Tx, values: dict[str, Any]) -> int:
    """One ``INSERT … RETURNING id`` (SQLite >= 3.35 and PostgreSQL)."""
    (row,) = await driver.rows(tx, _INSERT_BALANCE, **values)
    return int(row[0])


async def insert_line(tx: Tx, values: dict[str, Any]) -> None:
    """One ``INSERT`` of a line (``IntegrityError`` when the ICCID exists)."""
    await driver.change(tx, _INSERT_LINE, **values)


async def set_payment_last4(tx: Tx, account_id: int, last4: str) -> bool:
    """``False`` when there is no such account."""
    return await driver.change(tx, _SET_PAYMENT_LAST4, account_id=account_id, last4=last4) == 1


def add(session: AsyncSession, row: MoPlan | MoAccount | MoLine | MoBalance | MoUsage) -> None:
    session.add(row)


async def touch_line(tx: Tx, iccid: str, status: str, now: datetime) -> None:
    await driver.change(tx, _TOUCH_LINE, line_iccid=iccid, status=status, updated_at=now)
