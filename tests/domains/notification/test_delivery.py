"""Delivery semantics independent of the channel: backoff, leases, exactly-once claims."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from mobileplans.config import Settings
from mobileplans.db.models import Notification
from mobileplans.db.session import session_scope
from mobileplans.db.transactions import Transactions
from mobileplans.domains.notification import repository
from mobileplans.domains.notification.delivery import DeliverySummary, backoff, deliver_due
from mobileplans.domains.notification.schemas import Channel, Recipient
from mobileplans.kit.clock import FrozenClock
from mobileplans.worker import jobs as worker_jobs
from mobileplans.worker.notification_jobs import DELIVER_JOB, register_jobs
from tests.domains.notification.servers import Hook, WebhookReceiver
from tests.domains.notification.support import Sessions, enqueue, message, rows


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (9, 3600), (40, 3600)],
)
def test_backoff_doubles_from_30_seconds_up_to_one_hour(attempts: int, seconds: int) -> None:
    assert backoff(attempts) == timedelta(seconds=seconds)


async def enqueue_hooks(
    sessions: Sessions, receiver: WebhookReceiver, count: int, now: FrozenClock
) -> None:
    recipients = [Recipient(Channel.WEBHOOK, receiver.url(f"/hook/{i}")) for i in range(count)]
    assert await enqueue(sessions, recipients, now=now.now()) == count


async def test_two_concurrent_rounds_never_send_a_row_twice(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    await enqueue_hooks(sessions, receiver, 60, clock)

    async def drain(worker_id: str) -> list[DeliverySummary]:
        done = []
        while True:
            summary = await deliver_due(
                Transactions(sessions), clock, worker_id=worker_id, settings=settings, batch=7
            )
            done.append(summary)
            if summary.claimed == 0:
                return done

    a, b = await asyncio.gather(drain("wa"), drain("wb"))

    sent = Counter(h.headers["X-MP-Notification-Id"] for h in receiver.requests)
    assert len(sent) == 60
    assert set(sent.values()) == {1}
    assert sum(s.claimed for s in a + b) == 60
    assert sum(s.delivered for s in a + b) == 60
    assert {r.status for r in await rows(sessions)} == {"delivered"}


async def test_a_dead_workers_lease_expires_and_the_row_is_sent_once(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    await enqueue_hooks(sessions, receiver, 1, clock)
    async with session_scope(sessions) as session:
        [claimed] = await repository.claim(
            session,
            worker_id="dead",
            now=clock.now(),
            lease_until=clock.now() + timedelta(seconds=60),
            limit=10,
        )
    # the dead worker never records anything; until its lease ends nobody else sends
    clock.advance(timedelta(seconds=60))
    assert (
        await deliver_due(Transactions(sessions), clock, worker_id="live", settings=settings)
    ).claimed == 0
    assert receiver.requests == []

    clock.advance(timedelta(seconds=1))
    summary = await deliver_due(Transactions(sessions), clock, worker_id="live", settings=settings)

    assert summary.delivered == 1
    assert len(receiver.requests) == 1
    async with session_scope(sessions) as session:
        late = await repository.mark_delivered(
            session, claimed.id, worker_id="dead", now=clock.now()
        )
    assert late is False
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("delivered", 1)
    clock.advance(timedelta(hours=1))
    assert (
        await deliver_due(Transactions(sessions), clock, worker_id="live", settings=settings)
    ).claimed == 0
    assert len(receiver.requests) == 1


async def test_a_row_whose_lease_is_too_short_at_its_turn_is_released_unsent(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    await enqueue_hooks(sessions, receiver, 3, clock)

    def slow_receiver(_hook: Hook) -> None:
        clock.advance(timedelta(seconds=30))  # each send "takes" 30 s of the 60 s lease

    receiver.on_request = slow_receiver
    summary = await deliver_due(
        Transactions(sessions),
        clock,
        worker_id="w1",
        settings=settings,
        lease_seconds=60,
        concurrency=1,
    )

    # sends start at +0 s and +30 s; at +60 s less than the 10 s timeout is left
    assert (summary.delivered, summary.released) == (2, 1)
    third = (await rows(sessions))[2]
    assert (third.status, third.attempts, third.lease_owner) == ("pending", 0, None)
    assert len(receiver.requests) == 2
    receiver.on_request = None
    assert (
        await deliver_due(Transactions(sessions), clock, worker_id="w2", settings=settings)
    ).delivered == 1
    assert len(receiver.requests) == 3


async def test_a_row_of_an_unknown_channel_fails(
    sessions: Sessions, clock: FrozenClock, settings: Settings
) -> None:
    async with session_scope(sessions) as session:
        session.add(
            Notification(
                dedupe_key="x|sms|+1555",
                event="incident.opened",
                channel="sms",
                recipient="+1555",
                subject="s",
                body="b",
                payload={},
                status="pending",
                attempts=0,
                next_attempt_at=clock.now(),
                created_at=clock.now(),
            )
        )

    summary = await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)

    assert summary.failed == 1
    [row] = await rows(sessions)
    assert row.status == "failed"
    assert row.last_error == "unknown channel 'sms'"


async def test_listing_helpers_filter_and_requeue_gives_a_failed_row_another_try(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    hook = Recipient(Channel.WEBHOOK, receiver.url("/h"))
    log = Recipient(Channel.LOG, "platform")
    await enqueue(sessions, [hook, log], now=clock.now(), dedupe="i7")
    other = message(operator_id="fabrikam", incident_id=9)
    await enqueue(sessions, [log], now=clock.now(), dedupe="i9", msg=other)
    receiver.default_status = 410
    await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)

    async with sessions() as session:
        by_op = await repository.list_notifications(
            session, repository.NotificationQuery(operator_id="contoso")
        )
        failed = await repository.list_notifications(
            session, repository.NotificationQuery(status="failed")
        )
        nine = await repository.list_notifications(
            session, repository.NotificationQuery(incident_id=9)
        )
        page = await repository.list_notifications(
            session, repository.NotificationQuery(before_id=3, limit=1)
        )
        counts = await repository.count_by_status(session)
        contoso = await repository.count_by_status(session, operator_id="contoso")
    assert [(n.channel, n.operator_id) for n in by_op] == [
        ("log", "contoso"),
        ("webhook", "contoso"),
    ]
    assert [n.channel for n in failed] == ["webhook"]
    assert [(n.operator_id, n.incident_id) for n in nine] == [("fabrikam", 9)]
    assert [n.id for n in page] == [2]
    assert counts == {"delivered": 2, "failed": 1}
    assert contoso == {"delivered": 1, "failed": 1}

    receiver.default_status = 200
    async with session_scope(sessions) as session:
        assert await repository.requeue(session, failed[0].id, now=clock.now())
        assert not await repository.requeue(session, by_op[0].id, now=clock.now())
    assert (
        await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)
    ).delivered == 1
    async with sessions() as session:
        assert await repository.count_by_status(session) == {"delivered": 3}


@pytest.fixture
def registry() -> Iterator[list[worker_jobs.PeriodicJob]]:
    saved = list(worker_jobs.PERIODIC_JOBS)
    worker_jobs.PERIODIC_JOBS[:] = [j for j in saved if j.name != DELIVER_JOB]
    yield worker_jobs.PERIODIC_JOBS
    worker_jobs.PERIODIC_JOBS[:] = saved


async def test_the_worker_job_registers_once_and_delivers_everything_due(
    registry: list[worker_jobs.PeriodicJob],
    sessions: Sessions,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    register_jobs(settings, worker_id="job-test")
    register_jobs(settings, worker_id="job-test")
    [job] = [j for j in registry if j.name == DELIVER_JOB]
    assert job.interval_seconds == 1.0
    recipients = [Recipient(Channel.LOG, f"log-{i}") for i in range(120)]
    await enqueue(sessions, recipients, now=clock.now())

    assert await job.run(sessions, clock) == 120  # three batches in one run

    assert {r.status for r in await rows(sessions)} == {"delivered"}
    assert await job.run(sessions, clock) == 0
