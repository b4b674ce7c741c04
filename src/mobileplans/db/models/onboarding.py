"""Onboarding tables (spec 4.4-4.5, issue #9): a project per operator, its milestones, the
evidence filed for it (conformance reports) and its timeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mobileplans.db.base import Base


class OnboardingProject(Base):
    """One operator's way from Feasibility to an accepted launch, laid out from a plan."""

    __tablename__ = "onboarding_projects"

    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    plan: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date] = mapped_column(Date)
    production_stage: Mapped[str] = mapped_column(String(8), default="none")
    go_override: Mapped[dict[str, Any] | None]
    scheduled_promotion: Mapped[dict[str, Any] | None]
    launched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OnboardingMilestone(Base):
    """An activity or checkpoint of the plan, with its due date, sign-offs and evidence."""

    __tablename__ = "onboarding_milestones"
    __table_args__ = (UniqueConstraint("operator_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("onboarding_projects.operator_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(48))
    phase: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(120))
    owner: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    estimate_days: Mapped[int] = mapped_column(Integer)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    due_date: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None]
    evidence: Mapped[dict[str, Any] | None]
    signoffs: Mapped[dict[str, Any]]


class OnboardingEvidence(Base):
    """A conformance report filed for an operator (its summary; the SHA-256 seals it)."""

    __tablename__ = "onboarding_evidence"
    __table_args__ = (UniqueConstraint("operator_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    finished_at: Mapped[datetime]
    received_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    outcomes: Mapped[dict[str, Any]]


class OnboardingEvent(Base):
    """The operator's onboarding timeline: every change, who made it, from which side."""

    __tablename__ = "onboarding_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str] = mapped_column(
        ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text)
