"""Per-operator operations settings: policy, business calendar, auto-resolve run, webhook.

The calendar is the operator's time zone (registry ``timezone``) and the public holidays of
``holidayCountry`` (default: the operator's first registry country). One incident runs all
its clocks on its operator's calendar, whichever side owes them; global incidents use UTC
with no holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import OperatorOpsSettings
from mobileplans.domains.incident import repository
from mobileplans.domains.incident.policies import MOBILE_PLANS, Policy, policy_named
from mobileplans.domains.incident.schemas import OpsSettingsPatch, OpsSettingsRead
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.errors import BadRequest, NotFound
from mobileplans.kit.business_time import BusinessCalendar, CalendarError

DEFAULT_HEALTHY_PROBES = 4
GLOBAL_CALENDAR = BusinessCalendar("UTC", None)


@dataclass(frozen=True)
class OpsProfile:
    operator_id: str
    policy: Policy
    calendar: BusinessCalendar
    healthy_probes_to_resolve: int
    brand_name: str = ""

    @property
    def display_name(self) -> str:
        return self.brand_name or self.operator_id


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
        operator.brand_name,
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


class ProfileCache:
    """Profiles of the operators the engine looks at, read once per registry version and
    operations-settings change (the engine asks every 5 s for the few failing operators;
    reading every operator's profile each pass cost more than the pass itself)."""

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._profiles: dict[str, OpsProfile | None] = {}
        self._rows: dict[str, OperatorOpsSettings] = {}

    async def profiles_of(
        self, session: AsyncSession, operator_ids: Iterable[str]
    ) -> dict[str, OpsProfile]:
        """The profiles of ``operator_ids`` that are in the registry (others absent)."""
        key = (
            await registry_service.config_version(session),
            *await repository.ops_settings_fingerprint(session),
        )
        if key != self._key:
            self._key, self._profiles = key, {}
            self._rows = await repository.all_ops_settings(session)
        found: dict[str, OpsProfile] = {}
        for operator_id in operator_ids:
            if operator_id not in self._profiles:
                self._profiles[operator_id] = await self._load(session, operator_id)
            profile = self._profiles[operator_id]
            if profile is not None:
                found[operator_id] = profile
        return found

    async def _load(self, session: AsyncSession, operator_id: str) -> OpsProfile | None:
        try:
            operator = await registry_service.get_operator(session, operator_id)
        except NotFound:
            return None
        return _profile(operator, self._rows.get(operator_id))


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
