"""Webhook delivery against a real aiohttp receiver on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mobileplans.config import Settings
from mobileplans.db.transactions import Transactions
from mobileplans.domains.notification.channels.webhook import verify_signature
from mobileplans.domains.notification.delivery import deliver_due
from mobileplans.domains.notification.schemas import Channel, Recipient
from mobileplans.kit.clock import FrozenClock
from tests.domains.notification.servers import WebhookReceiver
from tests.domains.notification.support import (
    Sessions,
    enqueue,
    outcomes,
    rows,
    set_webhook_secret,
)


def hook_of(receiver: WebhookReceiver) -> Recipient:
    return Recipient(Channel.WEBHOOK, receiver.url("/hooks/mp"), "contoso")


async def test_webhook_posts_the_json_document_with_headers_and_a_valid_signature(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    await set_webhook_secret(sessions, "contoso", "s3cret", now=clock.now())
    await enqueue(sessions, [hook_of(receiver)], now=clock.now())

    summary = await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)

    assert summary.delivered == 1
    [row] = await rows(sessions)
    [hook] = receiver.requests
    assert hook.path == "/hooks/mp"
    assert json.loads(hook.body) == {
        "id": row.id,
        "event": "incident.opened",
        "subject": "Sev 2 incident 7 opened: portal down",
        "body": "The portal of contoso is down.\nWe are on it: café ☕",
        "payload": {"severity": "sev2", "title": "portal down"},
        "operatorId": "contoso",
        "incidentId": 7,
        "maintenanceId": None,
        "bugId": None,
        "createdAt": "2026-11-02T09:00:00+00:00",
    }
    headers = hook.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-MP-Notification-Id"] == str(row.id)
    assert headers["X-MP-Event"] == "incident.opened"
    timestamp = headers["X-MP-Timestamp"]
    assert timestamp == str(int(clock.now().timestamp()))
    signature = headers["X-MP-Signature"]
    assert signature.startswith("sha256=")
    assert verify_signature("s3cret", timestamp, hook.body, signature)
    assert not verify_signature("s3cret", timestamp, hook.body.replace(b"down", b"up!!"), signature)
    assert not verify_signature("s3cret", str(int(timestamp) + 1), hook.body, signature)
    assert not verify_signature("other", timestamp, hook.body, signature)
    assert not verify_signature("s3cret", timestamp, hook.body, None)
    assert (row.status, row.attempts) == ("delivered", 1)


async def test_the_secret_is_read_when_sending_and_no_secret_means_no_signature(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    await set_webhook_secret(sessions, "contoso", "old", now=clock.now())
    await enqueue(sessions, [hook_of(receiver)], now=clock.now(), dedupe="a")
    await set_webhook_secret(sessions, "contoso", "rotated", now=clock.now())
    await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)

    await set_webhook_secret(sessions, "contoso", None, now=clock.now())
    await enqueue(sessions, [hook_of(receiver)], now=clock.now(), dedupe="b")
    await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)

    signed, unsigned = receiver.requests
    stamp = signed.headers["X-MP-Timestamp"]
    assert verify_signature("rotated", stamp, signed.body, signed.headers["X-MP-Signature"])
    assert not verify_signature("old", stamp, signed.body, signed.headers["X-MP-Signature"])
    assert "X-MP-Signature" not in unsigned.headers
    assert [r.status for r in await rows(sessions)] == ["delivered", "delivered"]


async def test_500_then_200_is_retried_with_exponential_backoff(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    receiver.statuses = [500, 503]
    await enqueue(sessions, [hook_of(receiver)], now=clock.now())
    retries, delivered = outcomes("webhook", "retry"), outcomes("webhook", "delivered")
    start = clock.now()

    first = await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)
    [row] = await rows(sessions)
    assert first.retried == 1
    assert (row.status, row.attempts, row.lease_owner) == ("pending", 1, None)
    assert row.next_attempt_at == start + timedelta(seconds=30)  # 30 s × 2^0
    assert (row.last_error or "").startswith("HTTP 500")

    clock.advance(timedelta(seconds=29))
    assert (
        await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)
    ).claimed == 0
    clock.advance(timedelta(seconds=1))
    second = await deliver_due(Transactions(sessions), clock, worker_id="w2", settings=settings)
    [row] = await rows(sessions)
    assert second.retried == 1
    assert row.attempts == 2
    assert row.next_attempt_at == clock.now() + timedelta(seconds=60)  # 30 s × 2^1
    assert (row.last_error or "").startswith("HTTP 503")

    clock.advance(timedelta(seconds=59))
    assert (
        await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)
    ).claimed == 0
    clock.advance(timedelta(seconds=1))
    third = await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)
    [row] = await rows(sessions)
    assert third.delivered == 1
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)
    assert row.delivered_at == start + timedelta(seconds=90)
    assert [h.headers["X-MP-Notification-Id"] for h in receiver.requests] == [str(row.id)] * 3
    assert outcomes("webhook", "retry") == retries + 2
    assert outcomes("webhook", "delivered") == delivered + 1


@pytest.mark.parametrize(
    ("status", "final"),
    [
        (410, "failed"),
        (404, "failed"),
        (400, "failed"),
        (408, "pending"),
        (429, "pending"),
        (502, "pending"),
    ],
)
async def test_4xx_is_permanent_but_408_429_and_5xx_are_retried(
    sessions: Sessions,
    clock: FrozenClock,
    settings: Settings,
    receiver: WebhookReceiver,
    status: int,
    final: str,
) -> None:
    receiver.default_status = status
    await enqueue(sessions, [hook_of(receiver)], now=clock.now())

    await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)
    clock.advance(timedelta(hours=2))
    await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)

    [row] = await rows(sessions)
    assert row.status == final
    assert (row.last_error or "").startswith(f"HTTP {status}")
    assert f"answer {status}" in (row.last_error or "")  # the start of the answer's body
    expected_tries = 1 if final == "failed" else 2
    assert (row.attempts, len(receiver.requests)) == (expected_tries, expected_tries)


async def test_the_last_allowed_attempt_fails_the_row(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    receiver.default_status = 500
    await enqueue(sessions, [hook_of(receiver)], now=clock.now())

    for _ in range(5):
        await deliver_due(
            Transactions(sessions), clock, worker_id="w1", settings=settings, max_attempts=3
        )
        clock.advance(timedelta(hours=1))

    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("failed", 3)
    assert len(receiver.requests) == 3


async def test_a_receiver_that_does_not_answer_in_time_is_retried(
    sessions: Sessions, clock: FrozenClock, settings: Settings, receiver: WebhookReceiver
) -> None:
    receiver.hang = True
    await enqueue(sessions, [hook_of(receiver)], now=clock.now())

    # the webhook timeout is at most half the lease: 0.2 s here
    summary = await deliver_due(
        Transactions(sessions), clock, worker_id="w1", settings=settings, lease_seconds=0.4
    )

    assert summary.retried == 1
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Timeout" in (row.last_error or "")
