"""Maintenance windows: notice in business days, cancellation, listing, what is excluded."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import OperatorOpsSettings
from mobileplans.db.session import session_scope
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.sla import maintenance
from mobileplans.domains.sla.schemas import MaintenanceWindowIn
from mobileplans.errors import BadRequest, Conflict, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.domains.sla.support import add_operator, utc
from tests.support import operator_spec


def spec(days_ahead: float, hours: float = 2, **extra: object) -> MaintenanceWindowIn:
    start = utc(2026, 11, 2, 9) + timedelta(days=days_ahead)
    return MaintenanceWindowIn(
        starts_at=start, ends_at=start + timedelta(hours=hours), impact="upgrade", **extra
    )


async def test_notice_is_counted_in_business_days_of_the_operator_zone(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await add_operator(sessions, "contoso", "UTC", now=clock.now())
    async with session_scope(sessions) as session:
        # Monday 09:00 to the Monday after: exactly five business days
        on_time = await maintenance.create_window(
            session, "contoso", spec(7), actor="admin", now=clock.now()
        )
        # Monday to Friday 09:00: four
        late = await maintenance.create_window(
            session, "contoso", spec(4), actor="admin", now=clock.now()
        )
    assert (on_time.notice_business_days, on_time.late_notice) == (5.0, False)
    assert on_time.excluded_from_sla
    assert on_time.created_by == "admin"
    assert (late.notice_business_days, late.late_notice) == (4.0, True)
    assert not late.excluded_from_sla


async def test_cancel_before_start_only_and_listing(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await add_operator(sessions, "contoso", "UTC", now=clock.now())
    async with session_scope(sessions) as session:
        future = await maintenance.create_window(
            session, "contoso", spec(8), actor="a", now=clock.now()
        )
        running = await maintenance.create_window(
            session,
            "contoso",
            spec(-0.01, announced_at=utc(2026, 10, 1)),
            actor="a",
            now=clock.now(),
        )
    async with session_scope(sessions) as session:
        cancelled = await maintenance.cancel_window(session, "contoso", future.id, now=clock.now())
        with pytest.raises(Conflict):
            await maintenance.cancel_window(session, "contoso", running.id, now=clock.now())
        with pytest.raises(NotFound):
            await maintenance.cancel_window(session, "fabrikam", future.id, now=clock.now())
    assert cancelled.cancelled_at == clock.now()
    assert not cancelled.excluded_from_sla
    async with session_scope(sessions) as session:
        listed = await maintenance.list_windows(
            session, "contoso", start=utc(2026, 11, 9), end=None
        )
        with pytest.raises(BadRequest):
            await maintenance.list_windows(
                session, "contoso", start=utc(2026, 11, 9).replace(tzinfo=None), end=None
            )
        with pytest.raises(NotFound):
            await maintenance.list_windows(session, "nobody", start=None, end=None)
    assert [w.id for w in listed] == [future.id]


async def test_future_announcement_and_bad_windows_are_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await add_operator(sessions, "contoso", "UTC", now=clock.now())
    async with session_scope(sessions) as session:
        with pytest.raises(BadRequest) as caught:
            await maintenance.create_window(
                session,
                "contoso",
                spec(9, announced_at=clock.now() + timedelta(hours=1)),
                actor="a",
                now=clock.now(),
            )
    assert caught.value.extra["field"] == "announcedAt"
    with pytest.raises(ValueError, match="at most 7 days"):
        spec(9, hours=24 * 8)
    with pytest.raises(ValueError, match="after startsAt"):
        spec(9, hours=0)


def test_only_announced_uncancelled_windows_of_the_environment_are_excluded() -> None:
    from mobileplans.db.models import MaintenanceWindow

    def window(start: int, end: int, **extra: object) -> MaintenanceWindow:
        values: dict[str, object] = {
            "starts_at": utc(2026, 11, 5, start),
            "ends_at": utc(2026, 11, 5, end),
            "environment": None,
            "late_notice": False,
            "cancelled_at": None,
        }
        values.update(extra)
        return MaintenanceWindow(**values)

    windows = [
        window(1, 2),
        window(3, 4, environment="staging"),
        window(5, 6, late_notice=True),
        window(7, 8, cancelled_at=utc(2026, 11, 1)),
        window(9, 11, environment="production"),
        window(10, 12),
    ]
    got = maintenance.excluded_intervals(
        windows, "production", utc(2026, 11, 5), utc(2026, 11, 5, 11, 30)
    )
    assert got == [
        (utc(2026, 11, 5, 1), utc(2026, 11, 5, 2)),
        (utc(2026, 11, 5, 9), utc(2026, 11, 5, 11, 30)),
    ]


async def _window_from_thanksgiving_week(
    sessions: async_sessionmaker[AsyncSession], operator_id: str, now: datetime
) -> tuple[float, bool]:
    """Announced Monday 2026-11-23 09:00 UTC for Monday 2026-11-30 09:00 UTC."""
    start = utc(2026, 11, 30, 9)
    window = MaintenanceWindowIn(starts_at=start, ends_at=start + timedelta(hours=2), impact="x")
    async with session_scope(sessions) as session:
        read = await maintenance.create_window(session, operator_id, window, actor="a", now=now)
    return read.notice_business_days, read.late_notice


async def test_a_public_holiday_of_the_operator_shortens_the_notice(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Five business days without a holiday; US Thanksgiving (Thursday 2026-11-26) makes
    it four, so late notice. The holiday country is the operator's first registry country
    unless its operations settings name another."""
    now = utc(2026, 11, 23, 9)
    await add_operator(sessions, "contoso", "UTC", now=now)  # countries: US
    async with session_scope(sessions) as session:
        spec = operator_spec("paris", brand="Paris", prefix="8933999", countries=["FR"])
        await registry_service.put_operator(
            session, spec.model_copy(update={"timezone": "Europe/Paris"}), actor="t", now=now
        )
    assert await _window_from_thanksgiving_week(sessions, "contoso", now) == (4.0, True)
    assert await _window_from_thanksgiving_week(sessions, "paris", now) == (5.0, False)
    async with session_scope(sessions) as session:
        session.add(
            OperatorOpsSettings(operator_id="contoso", holiday_country="GB", updated_at=now)
        )
    assert await _window_from_thanksgiving_week(sessions, "contoso", now) == (5.0, False)
    async with session_scope(sessions) as session:
        settings = await session.get(OperatorOpsSettings, "contoso")
        assert settings is not None
        settings.holiday_country, settings.holiday_subdivision = "US", "ZZ"  # no such state
    assert await _window_from_thanksgiving_week(sessions, "contoso", now) == (5.0, False)


def test_business_days_without_holidays_still_count_weekdays_only() -> None:
    thanksgiving_week = maintenance.business_days_between(
        utc(2026, 11, 23, 9), utc(2026, 11, 30, 9), "America/New_York"
    )
    assert thanksgiving_week == 5.0
