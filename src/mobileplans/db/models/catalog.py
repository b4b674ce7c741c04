"""Portal launches the broker handed out: one row per generated ``transactionId``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mobileplans.db.base import Base


class PortalLaunch(Base):
    """A portal launch URL built for a device (spec 2.1.1); kept for troubleshooting (7.2 #44)."""

    __tablename__ = "portal_launches"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    operator_id: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(2))
    market: Mapped[str] = mapped_column(String(2))
    imei: Mapped[str | None] = mapped_column(String(15))
    eid: Mapped[str | None] = mapped_column(String(32))
    iccid: Mapped[str | None] = mapped_column(String(20))
    iccids: Mapped[list[str]]
    portal_url: Mapped[str] = mapped_column(Text)
