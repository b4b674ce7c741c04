"""The reference operator's back office: plans, accounts, lines, balances, orders, usage.

Tables are prefixed ``mo_``: in a real deployment they live in the operator's own
database; here they share one database with the other parts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mobileplans.db.base import Base


class MoPlan(Base):
    """A plan the operator sells in its portal (prepaid data plan or postpaid subscription)."""

    __tablename__ = "mo_plans"
    __table_args__ = (UniqueConstraint("operator_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # prepaid | postpaid
    balance_type: Mapped[str] = mapped_column(String(16))  # MODIRECTPAYG | MODIRECT
    data_mb: Mapped[float] = mapped_column(Float)
    validity_days: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    countries: Mapped[list[str]]
    profile_type: Mapped[str] = mapped_column(String(64))
    download_delay_minutes: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class MoAccount(Base):
    """A subscriber account in the operator's portal."""

    __tablename__ = "mo_accounts"
    __table_args__ = (UniqueConstraint("operator_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(120))
    payment_last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime]


class MoLine(Base):
    """A SIM (physical or eSIM profile) known to the operator, by ICCID."""

    __tablename__ = "mo_lines"

    iccid: Mapped[str] = mapped_column(String(20), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("mo_accounts.id"), index=True)
    eid: Mapped[str | None] = mapped_column(String(32), index=True)
    sim_kind: Mapped[str] = mapped_column(String(16))  # esim | physical
    status: Mapped[str] = mapped_column(String(16))
    supported: Mapped[bool] = mapped_column(Boolean, default=True)  # False: NOTSUPPORTED
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MoBalance(Base):
    """Data and time bought with one plan on one line; runs down with use and time."""

    __tablename__ = "mo_balances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    iccid: Mapped[str] = mapped_column(ForeignKey("mo_lines.iccid"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("mo_plans.id"))
    order_id: Mapped[str | None] = mapped_column(String(40))
    balance_type: Mapped[str] = mapped_column(String(16))
    data_total_mb: Mapped[float] = mapped_column(Float)
    data_used_mb: Mapped[float] = mapped_column(Float, default=0.0)
    locations: Mapped[list[str]]
    started_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class MoOrder(Base):
    """A purchase in the portal; ``transaction_id`` is the launch's, logged with everything."""

    __tablename__ = "mo_orders"
    __table_args__ = (UniqueConstraint("operator_id", "checkout_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("mo_accounts.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("mo_plans.id"))
    checkout_key: Mapped[str] = mapped_column(
        String(64)
    )  # one per checkout: a resubmit is the same order
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # new-esim | topup | activate-sim | reissue
    status: Mapped[str] = mapped_column(String(16))  # purchase.schemas.OrderStatus
    iccid: Mapped[str | None] = mapped_column(String(20), index=True)
    eid: Mapped[str | None] = mapped_column(String(32))
    activation_code: Mapped[str | None] = mapped_column(Text)
    download_delay_minutes: Mapped[int] = mapped_column(Integer, default=0)
    release_due_at: Mapped[datetime | None]
    # a failed order whose downloadOrder answer may have been lost: replay due (D245)
    reconcile_due_at: Mapped[datetime | None] = mapped_column(index=True)
    failure: Mapped[str | None] = mapped_column(Text)
    callback: Mapped[dict[str, Any] | None]  # the mp-callback block the confirmation hands out
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MoUsage(Base):
    """Data used on a line, as the core network reports it."""

    __tablename__ = "mo_usage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    iccid: Mapped[str] = mapped_column(String(20), index=True)
    balance_id: Mapped[int | None] = mapped_column(Integer)
    mb: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime]


class MoDownloadEvent(Base):
    """``handleDownloadProgressInfo`` calls received from the SM-DP+ (SGP.22 5.3.5)."""

    __tablename__ = "mo_download_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    iccid: Mapped[str] = mapped_column(String(20), index=True)
    eid: Mapped[str | None] = mapped_column(String(32))
    notification_point_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class MoTransactionLog(Base):
    """Everything the portal does, keyed by the launch ``transactionId`` (spec 2.1.1)."""

    __tablename__ = "mo_transaction_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]
    at: Mapped[datetime]
