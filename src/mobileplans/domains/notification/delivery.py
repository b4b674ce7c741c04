"""Deliver the notifications outbox: claim, send, record; retries with backoff (issue #5).

The worker job (the edge) hands it a ``Transactions``: each database step below is one
short transaction and no session is open while a channel sends (docs/architecture.md,
"Transactions").

Spec 5.4 and 5.5 put deadlines on outage and maintenance communication, so a message
must not be lost when a receiver is down or a worker dies, nor sent twice when two
workers run. :func:`deliver_due` does one round:

1. **Claim** up to ``batch`` due rows in one committed transaction: a compare-and-set
   lease (``repository.claim``) of ``lease_seconds``.
2. **Send** each row through its channel adapter, at most ``concurrency`` at once. Every
   adapter's timeout is at most half the lease, and a row whose remaining lease is shorter
   than its channel's timeout when its turn comes is released unsent, so no send outlives
   its lease.
3. **Record** each outcome at once in its own short transaction, conditional on still
   holding the lease: ``delivered``; retry (``attempts + 1``, due again after the backoff,
   ``last_error``); or ``failed`` after a permanent error or the ``max_attempts``-th try.

Backoff after the n-th failed attempt (n = ``attempts`` after counting it):
``min(30 s × 2^(n-1), 1 h)``: 30 s, 1 min, 2 min, 4 min … 32 min, then 1 h.

Exactly once: a row is marked delivered only after its receiver accepted it (SMTP: the
final 250 answer to DATA; webhook: a 2xx). A worker killed before that leaves its lease
to expire; another worker then retakes the row and sends it. The one remaining window is
between the receiver's acceptance and the commit of ``delivered`` (milliseconds, plus any
database outage): a worker killed there leaves a row that is sent again after its lease.
Each attempt carries the same identity (``Message-ID: <notification-{id}@mobileplans>``,
``X-MP-Notification-Id``) so receivers can drop such a copy.

Email rows go to the log channel when ``Settings.smtp_host`` is unset (a development
stack without mail still shows what would have been sent).

Metric: ``mobileplans_notifications_total{channel,outcome}``, outcome one of
``delivered``, ``retry``, ``failed``, ``released`` (not tried: lease too short) and
``lost`` (outcome not recorded: the lease had been taken over, or the write failed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from prometheus_client import Counter

from mobileplans.config import Settings
from mobileplans.db.outage_log import OutageLog
from mobileplans.db.transactions import Transactions
from mobileplans.domains.notification import repository
from mobileplans.domains.notification.channels.base import (
    ChannelAdapter,
    DeliveryError,
    OutboxRow,
)
from mobileplans.domains.notification.channels.email import (
    DEFAULT_TIMEOUT_SECONDS as EMAIL_TIMEOUT,
)
from mobileplans.domains.notification.channels.email import EmailChannel
from mobileplans.domains.notification.channels.log import LogChannel
from mobileplans.domains.notification.channels.webhook import (
    DEFAULT_TIMEOUT_SECONDS as WEBHOOK_TIMEOUT,
)
from mobileplans.domains.notification.channels.webhook import WebhookChannel
from mobileplans.domains.notification.schemas import Channel
from mobileplans.kit.clock import Clock
from mobileplans.kit.netguard import guarded_connector

log = logging.getLogger(__name__)
RECORDING = OutageLog("recording notification outcomes", log)
"""The database going away in the middle of a round fails every row's record: one line
(the round's own failure is the periodic job's, ``worker.loop``)."""

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)

OUTCOMES = Counter(
    "mobileplans_notifications",
    "Notification delivery attempts by channel and outcome",
    ["channel", "outcome"],
)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 30 s × 2^(attempts-1),
    at most one hour."""
    exponent = min(max(attempts - 1, 0), 7)  # 30 s × 2^7 is past the cap already
    return min(BACKOFF_BASE * (1 << exponent), BACKOFF_CAP)


@dataclass
class DeliverySummary:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    lost: int = 0

    def count(self, outcome: str) -> None:
        field = {"delivered": "delivered", "retry": "retried", "failed": "failed"}
        name = field.get(outcome, outcome)
        setattr(self, name, getattr(self, name) + 1)


@asynccontextmanager
async def open_channels(
    settings: Settings, tx: Transactions, clock: Clock, *, lease_seconds: float
) -> AsyncIterator[Mapping[str, ChannelAdapter]]:
    """One adapter per channel for this round; timeouts at most half the lease."""
    ceiling = lease_seconds / 2

    async def secret_for(operator_id: str) -> str | None:
        async with tx.step() as session:
            return await repository.webhook_secret(session, operator_id)

    async with aiohttp.ClientSession(connector=guarded_connector()) as http:
        logger = LogChannel()
        webhook = WebhookChannel(
            http, clock, secret_for, timeout_seconds=min(WEBHOOK_TIMEOUT, ceiling)
        )
        email: ChannelAdapter = (
            EmailChannel(settings, timeout_seconds=min(EMAIL_TIMEOUT, ceiling))
            if settings.smtp_host
            else logger
        )
        yield {
            Channel.EMAIL.value: email,
            Channel.WEBHOOK.value: webhook,
            Channel.LOG.value: logger,
        }


@dataclass(frozen=True)
class Round:
    """What one :func:`deliver_due` call shares between its sends."""

    tx: Transactions
    clock: Clock
    worker_id: str
    channels: Mapping[str, ChannelAdapter]
    max_attempts: int
    gate: asyncio.Semaphore
    summary: DeliverySummary


async def deliver_due(
    tx: Transactions,
    clock: Clock,
    *,
    worker_id: str,
    settings: Settings,
    batch: int = 50,
    lease_seconds: float = 60,
    max_attempts: int = 8,
    concurrency: int = 10,
) -> DeliverySummary:
    """Claim up to ``batch`` due rows, send them, record each outcome (module docstring)."""
    summary = DeliverySummary()
    now = clock.now()
    async with tx.step() as session:
        rows = await repository.claim(
            session,
            worker_id=worker_id,
            now=now,
            lease_until=now + timedelta(seconds=lease_seconds),
            limit=batch,
        )
    summary.claimed = len(rows)
    if not rows:
        return summary
    async with open_channels(settings, tx, clock, lease_seconds=lease_seconds) as channels:
        work = Round(
            tx,
            clock,
            worker_id,
            channels,
            max_attempts,
            asyncio.Semaphore(concurrency),
            summary,
        )
        await asyncio.gather(*(_deliver_one(work, row) for row in rows))
    return summary


async def _deliver_one(work: Round, row: OutboxRow) -> None:
    adapter = work.channels.get(row.channel)
    async with work.gate:
        try:
            outcome = await _attempt(work, row, adapter)
            RECORDING.succeeded()
        except Exception as exc:
            RECORDING.failed(exc, f"failed (notification {row.id})")
            outcome = "lost"
    work.summary.count(outcome)
    OUTCOMES.labels(adapter.name if adapter else row.channel, outcome).inc()


async def _attempt(work: Round, row: OutboxRow, adapter: ChannelAdapter | None) -> str:
    """Send ``row`` (unless its lease is too short now) and record what happened."""
    if adapter is None:
        return await _record_error(
            work, row, DeliveryError(f"unknown channel {row.channel!r}", permanent=True)
        )
    expires = row.lease_expires_at
    if expires is None or work.clock.now() + timedelta(seconds=adapter.timeout_seconds) > expires:
        async with work.tx.step() as session:
            await repository.release(session, [row.id], worker_id=work.worker_id)
        return "released"
    try:
        await adapter.send(row)
    except DeliveryError as error:
        return await _record_error(work, row, error)
    except Exception as error:  # an adapter bug must not stop the round: retry later
        log.exception("channel %s raised on notification %d", adapter.name, row.id)
        return await _record_error(work, row, DeliveryError(f"{type(error).__name__}: {error}"))
    async with work.tx.step() as session:
        recorded = await repository.mark_delivered(
            session, row.id, worker_id=work.worker_id, now=work.clock.now()
        )
    return "delivered" if recorded else "lost"


async def _record_error(work: Round, row: OutboxRow, error: DeliveryError) -> str:
    attempts = row.attempts + 1
    give_up = error.permanent or attempts >= work.max_attempts
    async with work.tx.step() as session:
        if give_up:
            recorded = await repository.mark_failed(
                session, row.id, worker_id=work.worker_id, error=error.message
            )
        else:
            recorded = await repository.mark_retry(
                session,
                row.id,
                worker_id=work.worker_id,
                next_attempt_at=work.clock.now() + backoff(attempts),
                error=error.message,
            )
    if not recorded:
        return "lost"
    if give_up:
        log.warning("notification %d failed after %d attempt(s): %s", row.id, attempts, error)
        return "failed"
    return "retry"
