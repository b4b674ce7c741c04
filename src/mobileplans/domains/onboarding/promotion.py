"""Staging -> production promotion (spec 4.3, 4.4, 4.5): the configuration difference and
its application through the operator registry (which runs the usual overlap checks)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import Environment
from mobileplans.db.models import OnboardingProject
from mobileplans.domains.access.service import Party
from mobileplans.domains.onboarding import timeline
from mobileplans.domains.onboarding.schemas import ConfigDifference, RangeChoice
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec, RangeKind
from mobileplans.errors import BadRequest

STAGES = ("none", "test", "full")


def _ranges(spec: OperatorSpec, environment: Environment, kinds: set[RangeKind]) -> str:
    found = [
        f"{r.start}-{r.end} ({r.kind.value})"
        for r in spec.iccid_ranges
        if r.environment is environment and r.kind in kinds
    ]
    return ", ".join(found) or "none"


def differences(spec: OperatorSpec, choice: RangeChoice) -> list[ConfigDifference]:
    """What production serves after the promotion, beside staging (spec 4.3)."""
    staging = spec.environments.get(Environment.STAGING)
    production = spec.environments.get(Environment.PRODUCTION)
    if production is None:
        raise BadRequest(
            f"operator {spec.id!r} has no production settings: add its production portal URL "
            "and MO API to the registry first (spec 4.4)",
            field="environments.production",
        )
    kinds = {RangeKind.TEST} if choice is RangeChoice.TEST else {RangeKind.TEST, RangeKind.FULL}
    wanted = _ranges(spec, Environment.PRODUCTION, {RangeKind(choice.value)})
    if wanted == "none":
        raise BadRequest(
            f"operator {spec.id!r} has no production ICCID range of kind {choice.value}",
            field="range",
        )

    def cell(value: str | None) -> str:
        return value or "-"

    return [
        ConfigDifference(
            field="portal URL",
            staging=cell(staging.portal_url if staging else None),
            production=production.portal_url,
        ),
        ConfigDifference(
            field="MO API",
            staging=cell(staging.mo_base_url if staging else None),
            production=cell(production.mo_base_url),
        ),
        ConfigDifference(
            field="ICCID ranges",
            staging=_ranges(spec, Environment.STAGING, {RangeKind.TEST, RangeKind.FULL}),
            production=_ranges(spec, Environment.PRODUCTION, kinds),
        ),
        ConfigDifference(
            field="production enabled",
            staging=str(production.enabled).lower(),
            production="true",
        ),
    ]


async def apply(
    session: AsyncSession,
    project: OnboardingProject,
    choice: RangeChoice,
    party: Party,
    *,
    now: datetime,
) -> None:
    """Enable production for the operator (registry, overlap checks) at stage ``choice``."""
    spec = await registry_service.get_operator(session, project.operator_id)
    differences(spec, choice)
    production = spec.environments[Environment.PRODUCTION]
    if not production.enabled:
        environments = dict(spec.environments)
        environments[Environment.PRODUCTION] = production.model_copy(update={"enabled": True})
        updated = spec.model_copy(update={"environments": environments})
        await registry_service.put_operator(session, updated, actor=party.actor, now=now)
    before = project.production_stage
    if STAGES.index(choice.value) > STAGES.index(before):
        project.production_stage = choice.value
    project.scheduled_promotion = None
    project.updated_at = now
    await session.flush()
    await timeline.note(
        session,
        project.operator_id,
        "promoted",
        party,
        f"production configured with the {choice.value} ICCID range (was {before})",
        now=now,
        after={"range": choice.value},
    )
