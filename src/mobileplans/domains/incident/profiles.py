"""Per-operator operations settings: policy, business calendar, auto-resolve run, webhook.

The calendar is the operator's time zone (registry ``timezone``) and the public holidays of
``holidayCountry`` (default: the operator's first registry country). One incident runs all
its clocks on its operator's calendar, whichever side owes them; global incidents use UTC
with no holidays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import OperatorOpsSettings
from mobileplans.domains.incident import repository
from mobileplans.domains.incident.policies import MOBILE_PLANS, Policy, policy_named
from mobileplans.domains.incident.schemas import OpsSettingsPatch, OpsSettingsRead
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.errors import BadRequest
from mobileplans.kit.business_time import BusinessCalendar, CalendarError

DEFAULT_HEALTHY_PROBES = 4
GLOBAL_CALENDAR = BusinessCalendar("UTC", None)


@dataclass(frozen=True)
class OpsProfile:
    operator_id: str
    policy: Policy
    calendar: BusinessCalendar
    healthy_probes_to_resolve: int


def _profile(operator: OperatorSpec, row: OperatorOpsSettings | None) -> OpsProfile:
    country = (row.holiday_country if row else None) or (
        operator.countries[0] if operator.countries else None
    )
    try:
        calendar = BusinessCalendar(
            operator.timezone,
            country,
            row.holiday_subdivision if row else None,
            row.business_day_start_hour if row else 9,
            row.business_day_end_hour if row else 17,
        )
    except CalendarError:
        calendar = BusinessCalendar(operator.timezone, None)
    return OpsProfile(
        operator.id,
        policy_named(row.policy) if row else MOBILE_PLANS,
        calendar,
        row.healthy_probes_to_resolve if row else DEFAULT_HEALTHY_PROBES,
    )


async def profile_for(session: AsyncSession, operator_id: str) -> OpsProfile:
    operator = await registry_service.get_operator(session, operator_id)
    return _profile(operator, await repository.ops_settings(session, operator_id))


async def all_profiles(session: AsyncSession) -> dict[str, OpsProfile]:
    rows = await repository.all_ops_settings(session)
    return {
        op.id: _profile(op, rows.get(op.id))
        for op in await registry_service.list_operators(session)
    }


def _read(
    operator_id: str, row: OperatorOpsSettings | None, profile: OpsProfile
) -> OpsSettingsRead:
    return OpsSettingsRead(
        operator_id=operator_id,
        policy=profile.policy.name.value,
        holiday_country=profile.calendar.country,
        holiday_subdivision=profile.calendar.subdivision,
        timezone=profile.calendar.timezone,
        business_day_start_hour=profile.calendar.start_hour,
        business_day_end_hour=profile.calendar.end_hour,
        healthy_probes_to_resolve=profile.healthy_probes_to_resolve,
        webhook_url=row.webhook_url if row else None,
        webhook_secret_set=bool(row and row.webhook_secret),
    )


def _check(row: OperatorOpsSettings) -> None:
    """400 naming the setting that is wrong (the schema checked types and ranges)."""
    if row.holiday_country:
        row.holiday_country = row.holiday_country.upper()
        try:
            BusinessCalendar("UTC", row.holiday_country, row.holiday_subdivision)
        except CalendarError as exc:
            raise BadRequest(str(exc), field="holidayCountry") from exc
    start, end = row.business_day_start_hour or 9, row.business_day_end_hour or 17
    if start >= end:
        raise BadRequest(
            f"business hours {start}-{end}: the start must be before the end",
            field="businessDayStartHour",
        )


async def read_settings(session: AsyncSession, operator_id: str) -> OpsSettingsRead:
    profile = await profile_for(session, operator_id)
    return _read(operator_id, await repository.ops_settings(session, operator_id), profile)


async def update_settings(
    session: AsyncSession, operator_id: str, patch: OpsSettingsPatch, *, now: datetime
) -> OpsSettingsRead:
    """Choose the operator's policy, holiday calendar, hours, auto-resolve run, webhook."""
    await registry_service.get_operator(session, operator_id)
    row = await repository.ops_settings(session, operator_id)
    if row is None:
        row = OperatorOpsSettings(operator_id=operator_id, updated_at=now)
        session.add(row)
    for name, value in patch.model_dump(exclude_unset=True).items():
        setattr(row, name, value)
    row.updated_at = now
    _check(row)
    await session.flush()
    return await read_settings(session, operator_id)
