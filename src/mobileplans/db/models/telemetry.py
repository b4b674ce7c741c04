"""Broker-side records of device traffic: purchase telemetry and GetBalance proxy outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mobileplans.db.base import Base


class PurchaseTelemetry(Base):
    """Callback metadata the app reports after a portal session (spec 2.2, 5.8)."""

    __tablename__ = "purchase_telemetry"
    __table_args__ = (UniqueConstraint("transaction_id", "callback"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)
    operator_id: Mapped[str | None] = mapped_column(String(64), index=True)
    callback: Mapped[str] = mapped_column(String(64))
    user_account: Mapped[str | None] = mapped_column(String(16))
    purchase_instrument: Mapped[str | None] = mapped_column(String(16))
    line: Mapped[str | None] = mapped_column(String(16))
    mo_direct_status: Mapped[str] = mapped_column(String(16))
    plan_name: Mapped[str] = mapped_column(String(120))
    iccid: Mapped[str | None] = mapped_column(String(20))
    raw: Mapped[dict[str, Any]]


class BalanceLookup(Base):
    """One GetBalance proxied to an operator: the traffic behind failure percentages."""

    __tablename__ = "balance_lookups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)  # every query reads a time range
    operator_id: Mapped[str] = mapped_column(String(64))  # no index of its own (D304)
    environment: Mapped[str] = mapped_column(String(16))
    iccid: Mapped[str] = mapped_column(String(20))
    ms_transaction_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(
        String(24)
    )  # ok | http_error | timeout | connect_error | tls_error | bad_body | cached
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
