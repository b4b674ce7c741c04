"""Maintenance notices (spec 5.5): announcement to the other side (flagged when late,
holidays counted), reminder and completion notice once each, cancellation notice, who may
see and change which window, late-notice counts, the worker job."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.access.service import Party
from mobileplans.domains.maintenance_notice import service
from mobileplans.domains.maintenance_notice.schemas import NoticeCounts, NoticeIn, NoticeRead
from mobileplans.errors import BadRequest, Forbidden, NotFound
from mobileplans.kit.business_time import BusinessCalendar
from mobileplans.kit.clock import FrozenClock
from mobileplans.worker import jobs as worker_jobs
from mobileplans.worker import maintenance_jobs
from tests.domains.maintenance_notice.support import (
    CONTACTS,
    CONTOSO,
    CONTOSO_NOC,
    FABRIKAM,
    FABRIKAM_NOC,
    PLATFORM,
    add_operators,
    outbox,
    sent,
)
from tests.domains.sla.support import utc
from tests.support import pg_url

OPS = "ops@platform.example"


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await add_operators(sessions, clock.now())


async def schedule(
    sessions: async_sessionmaker[AsyncSession],
    party: Party,
    now: datetime,
    start: datetime,
    *,
    operator_id: str | None = None,
    hours: float = 2,
) -> NoticeRead:
    spec = NoticeIn(
        operator_id=operator_id,
        environment="production",
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        impact="GetBalance unavailable",
    )
    async with session_scope(sessions) as session:
        return await service.schedule(session, party, spec, contacts=CONTACTS, now=now)


async def run(sessions: async_sessionmaker[AsyncSession], now: datetime) -> NoticeCounts:
    async with session_scope(sessions) as session:
        return await service.run_notices(session, now, CONTACTS)


async def test_announcement_goes_to_the_other_side(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    # Monday 09:00 to the next Monday 09:00: five business days, on time
    by_operator = await schedule(sessions, CONTOSO, clock.now(), utc(2026, 11, 9, 9))
    by_platform = await schedule(
        sessions, PLATFORM, clock.now(), utc(2026, 11, 9, 9), operator_id="fabrikam"
    )
    assert (by_operator.side, by_operator.operator_id, by_operator.created_by) == (
        "operator",
        "contoso",
        "contoso:noc-bot",
    )
    assert (by_operator.notice_business_days, by_operator.late_notice) == (5.0, False)
    assert by_platform.side == "platform"
    assert await sent(sessions, maintenance_id=by_operator.id) == [("maintenance.announced", OPS)]
    assert await sent(sessions, maintenance_id=by_platform.id) == [
        ("maintenance.announced", FABRIKAM_NOC)
    ]
    [row] = await outbox(sessions, maintenance_id=by_operator.id)
    assert "late notice" not in row.subject
    assert row.subject.startswith("[Mobile Plans] Planned maintenance: contoso production")
    assert "Notice: 5 business days." in row.body
    assert row.payload["lateNotice"] is False


async def test_late_notice_is_flagged_and_a_holiday_makes_notice_late(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    clock.set(utc(2026, 11, 23, 9))  # Monday of US Thanksgiving week
    start = utc(2026, 11, 30, 9)  # five weekdays later
    us = await schedule(sessions, CONTOSO, clock.now(), start)
    fr = await schedule(sessions, FABRIKAM, clock.now(), start)
    assert (us.notice_business_days, us.late_notice) == (4.0, True)  # Thanksgiving
    assert (fr.notice_business_days, fr.late_notice) == (5.0, False)
    [late] = await outbox(sessions, maintenance_id=us.id)
    assert late.subject.endswith("(late notice: 4 business days)")
    assert "late notice: 4 business days" in late.body
    assert late.payload["noticeBusinessDays"] == 4.0
    [on_time] = await outbox(sessions, maintenance_id=fr.id)
    assert "late notice" not in on_time.subject + on_time.body
    with pytest.raises(BadRequest) as caught:
        await schedule(sessions, CONTOSO, clock.now(), clock.now())
    assert caught.value.extra["field"] == "startsAt"


async def test_reminder_and_completion_are_sent_once_each(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    start = utc(2026, 11, 10, 9)
    window = await schedule(sessions, CONTOSO, clock.now(), start)  # ends 11:00
    assert await run(sessions, start - timedelta(hours=24, seconds=1)) == NoticeCounts()
    assert await run(sessions, start - timedelta(hours=24)) == NoticeCounts(reminders=1)
    assert await run(sessions, start - timedelta(hours=23)) == NoticeCounts()
    assert await run(sessions, start + timedelta(hours=1)) == NoticeCounts()  # running
    end = start + timedelta(hours=2)
    assert await run(sessions, end) == NoticeCounts(completions=1)
    assert await run(sessions, end + timedelta(minutes=1)) == NoticeCounts()
    assert await sent(sessions, maintenance_id=window.id) == [
        ("maintenance.announced", OPS),
        ("maintenance.completed", OPS),
        ("maintenance.reminder", OPS),
    ]
    async with session_scope(sessions) as session:
        read = await service.get_notice(session, CONTOSO, window.id)
    assert read.reminder_sent_at == start - timedelta(hours=24)
    assert read.completion_sent_at == end
    [completed] = await outbox(sessions, maintenance_id=window.id, event="maintenance.completed")
    assert completed.subject.startswith("[Mobile Plans] Maintenance completed: contoso")


async def test_no_reminder_for_a_short_notice_window_nor_any_for_a_cancelled_one(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    soon = await schedule(sessions, CONTOSO, clock.now(), clock.now() + timedelta(hours=3))
    gone = await schedule(sessions, CONTOSO, clock.now(), clock.now() + timedelta(hours=30))
    async with session_scope(sessions) as session:
        await service.cancel(session, CONTOSO, gone.id, contacts=CONTACTS, now=clock.now())
    assert await run(sessions, clock.now() + timedelta(hours=6)) == NoticeCounts(completions=1)
    assert await run(sessions, clock.now() + timedelta(hours=40)) == NoticeCounts()
    assert [e for e, _ in await sent(sessions, maintenance_id=soon.id)] == [
        "maintenance.announced",
        "maintenance.completed",
    ]
    assert [e for e, _ in await sent(sessions, maintenance_id=gone.id)] == [
        "maintenance.announced",
        "maintenance.cancelled",
    ]


async def test_cancellation_notice_and_who_may_cancel(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    start = utc(2026, 11, 12, 1)
    ours = await schedule(sessions, CONTOSO, clock.now(), start)
    platforms = await schedule(
        sessions, PLATFORM, clock.now(), start, operator_id="contoso", hours=1
    )

    async def cancel(party: Party, window_id: int) -> NoticeRead:
        async with session_scope(sessions) as session:
            return await service.cancel(
                session, party, window_id, contacts=CONTACTS, now=clock.now()
            )

    with pytest.raises(NotFound):
        await cancel(FABRIKAM, ours.id)  # another operator's window does not exist for it
    with pytest.raises(Forbidden):
        await cancel(CONTOSO, platforms.id)  # the platform's own window
    # the platform cancels the operator's window: both the audience and the operator hear
    cancelled = await cancel(PLATFORM, ours.id)
    assert cancelled.cancelled_at == clock.now()
    assert not cancelled.excluded_from_sla
    again = await cancel(PLATFORM, ours.id)
    assert again.cancelled_at == clock.now()
    assert await sent(sessions, maintenance_id=ours.id, event="maintenance.cancelled") == [
        ("maintenance.cancelled", CONTOSO_NOC),
        ("maintenance.cancelled", OPS),
    ]
    await cancel(PLATFORM, platforms.id)
    assert await sent(sessions, maintenance_id=platforms.id, event="maintenance.cancelled") == [
        ("maintenance.cancelled", CONTOSO_NOC)
    ]


async def test_an_operator_sees_only_its_own_windows(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    start = utc(2026, 11, 16, 1)
    contoso = await schedule(sessions, CONTOSO, clock.now(), start)
    fabrikam = await schedule(sessions, FABRIKAM, clock.now(), start + timedelta(hours=1))
    with pytest.raises(Forbidden):
        await schedule(sessions, CONTOSO, clock.now(), start, operator_id="fabrikam")
    with pytest.raises(BadRequest):
        await schedule(sessions, PLATFORM, clock.now(), start)  # platform must name one
    async with session_scope(sessions) as session:
        with pytest.raises(NotFound):
            await service.get_notice(session, FABRIKAM, contoso.id)
        with pytest.raises(Forbidden):
            await service.list_notices(session, FABRIKAM, operator_id="contoso")
        own = await service.list_notices(session, FABRIKAM)
        every = await service.list_notices(session, PLATFORM)
        one = await service.list_notices(session, PLATFORM, operator_id="contoso")
        after = await service.list_notices(session, PLATFORM, start=start + timedelta(hours=2))
        with pytest.raises(BadRequest):
            await service.list_notices(session, PLATFORM, start=datetime(2026, 11, 1))
    assert [w.id for w in own] == [fabrikam.id]
    assert [w.id for w in every] == [contoso.id, fabrikam.id]
    assert [w.id for w in one] == [contoso.id]
    assert [w.id for w in after] == [fabrikam.id]


async def test_late_notice_counts_per_operator_and_side(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    now = clock.now()
    await schedule(sessions, CONTOSO, now, utc(2026, 11, 4, 1))  # late
    await schedule(sessions, CONTOSO, now, utc(2026, 11, 5, 1))  # late
    await schedule(sessions, CONTOSO, now, utc(2026, 11, 20, 1))  # on time
    cancelled = await schedule(sessions, CONTOSO, now, utc(2026, 11, 6, 1))
    await schedule(sessions, PLATFORM, now, utc(2026, 11, 5, 1), operator_id="contoso")
    await schedule(sessions, FABRIKAM, now, utc(2026, 11, 25, 1))  # on time
    await schedule(sessions, FABRIKAM, now, utc(2026, 12, 3, 1))  # outside the period
    async with session_scope(sessions) as session:
        await service.cancel(session, CONTOSO, cancelled.id, contacts=CONTACTS, now=now)
        counts = await service.late_notice_counts(
            session, start=utc(2026, 11, 1), end=utc(2026, 12, 1)
        )
        contoso_only = await service.late_notice_counts(
            session, start=utc(2026, 11, 1), end=utc(2026, 12, 1), operator_id="contoso"
        )
    got = [(c.operator_id, c.side, c.windows, c.late_notice) for c in counts]
    assert got == [
        ("contoso", "operator", 3, 2),
        ("contoso", "platform", 1, 1),
        ("fabrikam", "operator", 1, 0),
    ]
    assert [c.operator_id for c in contoso_only] == ["contoso", "contoso"]


@pytest.fixture
def registry() -> Iterator[list[worker_jobs.PeriodicJob]]:
    saved = list(worker_jobs.PERIODIC_JOBS)
    yield worker_jobs.PERIODIC_JOBS
    worker_jobs.PERIODIC_JOBS[:] = saved


async def test_worker_job_registers_once_and_commits_its_notices(
    registry: list[worker_jobs.PeriodicJob],
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    world: None,
) -> None:
    maintenance_jobs.register_jobs(CONTACTS)
    maintenance_jobs.register_jobs(CONTACTS)
    [job] = [j for j in registry if j.name == maintenance_jobs.NOTICES_JOB]
    assert job.interval_seconds == 30.0
    window = await schedule(sessions, FABRIKAM, clock.now(), utc(2026, 11, 10, 9))
    clock.set(utc(2026, 11, 9, 10))
    assert await job.run(sessions, clock) == NoticeCounts(reminders=1)
    assert await job.run(sessions, clock) == NoticeCounts()
    assert await sent(sessions, maintenance_id=window.id, event="maintenance.reminder") == [
        ("maintenance.reminder", OPS)
    ]


@pytest.mark.skipif(pg_url() is None, reason="PostgreSQL only (MP_TEST_DATABASE_URL)")
async def test_two_workers_racing_send_one_reminder(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, world: None
) -> None:
    """Worker A claims the reminder and has not committed; worker B's pass waits on the row
    and, once A commits, finds it claimed: one reminder in the outbox."""
    window = await schedule(sessions, CONTOSO, clock.now(), utc(2026, 11, 10, 9))
    now = utc(2026, 11, 9, 10)
    async with sessions() as first, sessions() as second:
        assert await service.run_notices(first, now, CONTACTS) == NoticeCounts(reminders=1)
        racing = asyncio.create_task(service.run_notices(second, now, CONTACTS))
        await first.commit()
        assert await racing == NoticeCounts()
        await second.commit()
    assert await sent(sessions, maintenance_id=window.id, event="maintenance.reminder") == [
        ("maintenance.reminder", OPS)
    ]


@pytest.mark.parametrize(
    ("announced", "timezone", "country", "expected"),
    [
        # Saturday in Los Angeles: Monday to Friday count, so Saturday 00:00 local
        (
            datetime(2026, 12, 5, 17, 50, tzinfo=UTC),
            "America/Los_Angeles",
            "US",
            "2026-12-12T08:00",
        ),
        # Monday 15:00 UTC in London: the rest of Monday, Tuesday-Friday, and Monday 15:00
        (datetime(2026, 11, 9, 15, 0, tzinfo=UTC), "Europe/London", "GB", "2026-11-16T15:00"),
        # Thanksgiving (Thursday 26 November) is no business day in the US
        (datetime(2026, 11, 23, 17, 0, tzinfo=UTC), "America/New_York", "US", "2026-12-01T17:00"),
    ],
)
def test_first_start_with_notice_is_the_earliest_timely_start(
    announced: datetime, timezone: str, country: str, expected: str
) -> None:
    calendar = BusinessCalendar(timezone=timezone, country=country)
    earliest = service.first_start_with_notice(calendar, announced)
    assert earliest.strftime("%Y-%m-%dT%H:%M") == expected
    assert calendar.business_days_between(announced, earliest) >= 5
    assert calendar.business_days_between(announced, earliest - timedelta(minutes=1)) < 5
