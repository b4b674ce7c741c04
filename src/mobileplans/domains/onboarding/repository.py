"""SQL of onboarding: projects, milestones, filed evidence and the timeline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import (
    OnboardingEvent,
    OnboardingEvidence,
    OnboardingMilestone,
    OnboardingProject,
)

Row = OnboardingProject | OnboardingMilestone | OnboardingEvidence | OnboardingEvent


async def add(session: AsyncSession, row: Row) -> None:
    session.add(row)
    await session.flush()


async def project(
    session: AsyncSession, operator_id: str, *, lock: bool = False
) -> OnboardingProject | None:
    """The project; with ``lock`` its row is locked until the transaction ends (PostgreSQL)."""
    query = select(OnboardingProject).where(OnboardingProject.operator_id == operator_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).one_or_none()


async def projects(session: AsyncSession) -> Sequence[OnboardingProject]:
    query = select(OnboardingProject).order_by(OnboardingProject.operator_id)
    return (await session.scalars(query)).all()


async def milestones(session: AsyncSession, operator_id: str) -> Sequence[OnboardingMilestone]:
    query = (
        select(OnboardingMilestone)
        .where(OnboardingMilestone.operator_id == operator_id)
        .order_by(OnboardingMilestone.position)
    )
    return (await session.scalars(query)).all()


async def evidence(session: AsyncSession, operator_id: str) -> Sequence[OnboardingEvidence]:
    query = (
        select(OnboardingEvidence)
        .where(OnboardingEvidence.operator_id == operator_id)
        .order_by(OnboardingEvidence.id)
    )
    return (await session.scalars(query)).all()


async def evidence_by_digest(
    session: AsyncSession, operator_id: str, sha256: str
) -> OnboardingEvidence | None:
    query = select(OnboardingEvidence).where(
        OnboardingEvidence.operator_id == operator_id, OnboardingEvidence.sha256 == sha256
    )
    return (await session.scalars(query)).one_or_none()


async def events(session: AsyncSession, operator_id: str) -> Sequence[OnboardingEvent]:
    query = (
        select(OnboardingEvent)
        .where(OnboardingEvent.operator_id == operator_id)
        .order_by(OnboardingEvent.id)
    )
    return (await session.scalars(query)).all()
