"""Operator registry tables: operators, per-environment settings, contacts, ICCID ranges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mobileplans.db.base import Base


class Operator(Base):
    """A mobile operator onboarded to Mobile Plans (spec 3.1 service configuration)."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_name: Mapped[str] = mapped_column(String(120))
    countries: Mapped[list[str]]
    plmns: Mapped[list[str]]
    phone_prefixes: Mapped[list[str] | None]
    logo: Mapped[dict[str, Any] | None]
    gateway_templates: Mapped[list[Any]]
    monitoring_iccid: Mapped[str | None] = mapped_column(String(20))
    onboarding_phase: Mapped[str] = mapped_column(String(32))
    iccid_lenient: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_api: Mapped[str] = mapped_column(String(16), default="current")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    environments: Mapped[list[OperatorEnvironment]] = relationship(
        back_populates="operator", cascade="all, delete-orphan", lazy="raise"
    )
    contacts: Mapped[list[OperatorContact]] = relationship(
        back_populates="operator", cascade="all, delete-orphan", lazy="raise"
    )
    iccid_ranges: Mapped[list[IccidRange]] = relationship(
        back_populates="operator", cascade="all, delete-orphan", lazy="raise"
    )


class OperatorEnvironment(Base):
    """An operator's endpoints in one Mobile Plans environment (staging or production)."""

    __tablename__ = "operator_environments"

    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    environment: Mapped[str] = mapped_column(String(16), primary_key=True)
    portal_url: Mapped[str] = mapped_column(Text)
    mo_base_url: Mapped[str | None] = mapped_column(Text)
    offer_uri: Mapped[str | None] = mapped_column(Text)
    notification_uri: Mapped[str | None] = mapped_column(Text)
    callback_hosts: Mapped[list[str]]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    operator: Mapped[Operator] = relationship(back_populates="environments", lazy="raise")


class OperatorContact(Base):
    """Who to reach on the operator side, by environment and severity (spec 5.4)."""

    __tablename__ = "operator_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    environment: Mapped[str | None] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))

    operator: Mapped[Operator] = relationship(back_populates="contacts", lazy="raise")


class IccidRange(Base):
    """An inclusive ICCID range of one operator in one environment, ``test`` or ``full``."""

    __tablename__ = "iccid_ranges"
    __table_args__ = (UniqueConstraint("operator_id", "environment", "start_iccid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    environment: Mapped[str] = mapped_column(String(16))
    start_iccid: Mapped[str] = mapped_column(String(20))
    end_iccid: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(8))

    operator: Mapped[Operator] = relationship(back_populates="iccid_ranges", lazy="raise")


class ConfigState(Base):
    """One row: the configuration version every broker replica polls to know when to reload."""

    __tablename__ = "config_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
