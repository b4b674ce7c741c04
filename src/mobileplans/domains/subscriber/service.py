"""Subscriber use cases: plans, accounts and lines. Functions take the session, never commit.

The reads take a ``Source``: the caller's session (inside its transaction) or a
:class:`mobileplans.db.reads.Reads` (a read-only page: the driver, no transaction).
Either way they run Core statements and build the read models from column values.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeAlias

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.driver_tx import Tx
from mobileplans.db.models import MoAccount, MoLine, MoPlan
from mobileplans.db.reads import Reads, as_reads
from mobileplans.domains.subscriber import repository
from mobileplans.domains.subscriber.passwords import (
    hash_password_off_loop,
    verify_password_off_loop,
)
from mobileplans.domains.subscriber.schemas import (
    AccountRead,
    LineRead,
    LineStatus,
    PlanIn,
    PlanKind,
    PlanRead,
    SimKind,
)
from mobileplans.errors import BadRequest, Conflict, NotFound, Unauthorized

Source: TypeAlias = AsyncSession | Reads
"""Where a read runs: the caller's session, or driver-level reads (no transaction)."""


def _plan(row: MoPlan | Any) -> PlanRead:
    """From an ORM row or a Core row of the same columns."""
    return PlanRead(
        id=row.id,
        operator_id=row.operator_id,
        code=row.code,
        name=row.name,
        kind=PlanKind(row.kind),
        data_mb=row.data_mb,
        validity_days=row.validity_days,
        price_cents=row.price_cents,
        currency=row.currency,
        countries=list(row.countries),
        profile_type=row.profile_type,
        download_delay_minutes=row.download_delay_minutes,
    )


def _account(row: MoAccount | Any) -> AccountRead:
    return AccountRead(
        id=row.id,
        operator_id=row.operator_id,
        email=row.email,
        display_name=row.display_name,
        payment_last4=row.payment_last4,
    )


def line_read(row: MoLine | Any) -> LineRead:
    return LineRead(
        iccid=row.iccid,
        operator_id=row.operator_id,
        account_id=row.account_id,
        eid=row.eid,
        sim_kind=SimKind(row.sim_kind),
        status=LineStatus(row.status),
        supported=row.supported,
    )


async def ensure_plans(
    session: AsyncSession, operator_id: str, plans: list[PlanIn]
) -> list[PlanRead]:
    """Create or update the operator's plan catalogue (by plan code)."""
    for plan in plans:
        row = await repository.plan_by_code(session, operator_id, plan.code)
        if row is None:
            row = MoPlan(operator_id=operator_id, code=plan.code, active=True)
            repository.add(session, row)
        row.name, row.kind, row.balance_type = plan.name, plan.kind.value, plan.balance_type.value
        row.data_mb, row.validity_days, row.price_cents = (
            plan.data_mb,
            plan.validity_days,
            plan.price_cents,
        )
        row.currency, row.countries, row.profile_type = (
            plan.currency,
            list(plan.countries),
            plan.profile_type,
        )
        row.download_delay_minutes = plan.download_delay_minutes
    await session.flush()
    return await list_plans(session, operator_id)


async def list_plans(source: Source, operator_id: str) -> list[PlanRead]:
    """The plans on sale, by id."""
    return [_plan(row) for row in await repository.active_plan_rows(as_reads(source), operator_id)]


async def get_plan(source: Source, operator_id: str, plan_id: int) -> PlanRead:
    row = await repository.plan_row(as_reads(source), plan_id)
    if row is None or row.operator_id != operator_id or not row.active:
        raise NotFound(f"plan {plan_id} does not exist", field="plan")
    return _plan(row)


_decoy: list[str] = []


async def _decoy_hash() -> str:
    """A hash of a random password, made once (off the loop) for unknown emails."""
    if not _decoy:
        _decoy.append(await hash_password_off_loop(secrets.token_urlsafe(16)))
    return _decoy[0]


def _normal_email(email: str) -> str:
    text = email.strip().lower()
    if "@" not in text or text.startswith("@") or text.endswith("@") or len(text) > 254:
        raise BadRequest("email must be an address like name@example.com", field="email")
    return text


async def sign_up(
    session: Tx,
    operator_id: str,
    *,
    email: str,
    password: str,
    display_name: str,
    now: datetime,
) -> AccountRead:
    address = _normal_email(email)
    if len(password) < 8:
        raise BadRequest("password must have at least 8 characters", field="password")
    if await repository.account_by_email(session, operator_id, address) is not None:
        raise Conflict("an account with this email already exists", field="email")
    values: dict[str, Any] = {
        "operator_id": operator_id,
        "email": address,
        "password_hash": await hash_password_off_loop(password),  # scrypt off the loop
        "display_name": display_name.strip()[:120] or address,
        "payment_last4": None,
        "created_at": now,
    }
    try:
        values["id"] = await repository.insert_account(session, values)
    except IntegrityError as exc:  # a concurrent sign-up with the same email
        raise Conflict("an account with this email already exists", field="email") from exc
    return _account(SimpleNamespace(**values))


async def sign_in(session: Tx, operator_id: str, *, email: str, password: str) -> AccountRead:
    row = await repository.account_by_email(session, operator_id, email.strip().lower())
    # An unknown email costs one scrypt too: the answer time tells nothing about accounts.
    stored = row.password_hash if row is not None else await _decoy_hash()
    if not await verify_password_off_loop(password, stored) or row is None:
        raise Unauthorized("email or password is not right")
    return _account(row)


async def get_account(source: Source, operator_id: str, account_id: int) -> AccountRead:
    row = await repository.account_row(as_reads(source), account_id)
    if row is None or row.operator_id != operator_id:
        raise NotFound("account does not exist")
    return _account(row)


async def save_payment_instrument(session: Tx, account_id: int, last4: str) -> None:
    if not await repository.set_payment_last4(session, account_id, last4):
        raise NotFound("account does not exist")


async def get_line(source: Source, operator_id: str, iccid: str) -> LineRead:
    row = await repository.line_row(as_reads(source), iccid)
    if row is None or row.operator_id != operator_id:
        raise NotFound(f"SIM {iccid} is not known to this operator", iccid=iccid)
    return line_read(row)


async def find_line(source: Source, operator_id: str, iccid: str) -> LineRead | None:
    row = await repository.line_row(as_reads(source), iccid)
    return line_read(row) if row is not None and row.operator_id == operator_id else None


async def lines_of_account(source: Source, account_id: int) -> list[LineRead]:
    rows = await repository.account_line_rows(as_reads(source), account_id)
    return [line_read(row) for row in rows]


async def create_line(
    session: Tx,
    operator_id: str,
    *,
    iccid: str,
    sim_kind: SimKind,
    status: LineStatus,
    now: datetime,
    eid: str | None = None,
    account_id: int | None = None,
    supported: bool = True,
) -> LineRead:
    if await repository.line_row(as_reads(session), iccid) is not None:
        raise Conflict(f"SIM {iccid} already exists", iccid=iccid)
    values: dict[str, Any] = {
        "iccid": iccid,
        "operator_id": operator_id,
        "account_id": account_id,
        "eid": eid,
        "sim_kind": sim_kind.value,
        "status": status.value,
        "supported": supported,
        "created_at": now,
        "updated_at": now,
    }
    try:
        await repository.insert_line(session, values)
    except IntegrityError as exc:  # created concurrently by another transaction
        raise Conflict(f"SIM {iccid} already exists", iccid=iccid) from exc
    row = SimpleNamespace(**values)
    return line_read(row)


async def attach_line(
    session: Tx,
    operator_id: str,
    iccid: str,
    *,
    account_id: int,
    status: LineStatus,
    now: datetime,
) -> LineRead:
    """Put an existing line on an account (a warm SIM being activated, a profile bought)."""
    row = await repository.line_for_update(session, iccid)
    if row is None or row.operator_id != operator_id:
        raise NotFound(f"SIM {iccid} is not known to this operator", iccid=iccid)
    if row.account_id is not None and row.account_id != account_id:
        raise Conflict(f"SIM {iccid} belongs to another account", iccid=iccid)
    await repository.attach_line(session, iccid, account_id, status.value, now)
    return line_read(row).model_copy(update={"account_id": account_id, "status": status})


async def set_line_status(session: Tx, iccid: str, status: LineStatus, now: datetime) -> None:
    await repository.touch_line(session, iccid, status.value, now)
