"""Hop worker → SMTP server and webhooks (notification delivery) through the fault proxy.

The outbox rounds (``notification.delivery.deliver_due``, what the worker's job runs)
send through a fault proxy on a real socket in front of a real SMTP server (aiosmtpd)
and a real webhook receiver. docs/operations.md "Notifications": a failed send is
retried after the backoff (30 s, then doubling) and the row stays in the outbox;
once the fault clears the next due round delivers it, and the row is delivered once.
A fault after the receiver accepted (a webhook answer reset on its way back) may give
it a second copy with the same ``X-MP-Notification-Id`` (the documented window).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from mobileplans.config import Settings
from mobileplans.db.transactions import Transactions
from mobileplans.domains.notification.delivery import backoff, deliver_due
from mobileplans.domains.notification.schemas import Channel, Recipient
from mobileplans.kit.clock import FrozenClock
from tests.domains.notification.servers import SmtpHandler, SmtpServer, WebhookReceiver
from tests.domains.notification.support import Sessions, enqueue, rows
from tests.faults.proxy import Fault, FaultProxy

LEASE = 6.0  # channel timeouts are at most half of it: a DELAY of 10 s is a timeout


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(SmtpHandler()) as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    await hook.start()
    yield hook
    await hook.stop()


async def _round(sessions: Sessions, clock: FrozenClock, settings: Settings) -> None:
    await deliver_due(
        Transactions(sessions), clock, worker_id="w1", settings=settings, lease_seconds=LEASE
    )


async def _fail_then_deliver(
    sessions: Sessions, clock: FrozenClock, settings: Settings, proxy: FaultProxy, fault: Fault
) -> None:
    """One round under ``fault`` (a retry, still in the outbox), then the fault clears:
    not due before the backoff, delivered by the first round after it."""
    proxy.set(fault, reset_after=10, truncate_after=10, delay_seconds=10, garbage_bytes=100)
    await _round(sessions, clock, settings)
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("pending", 1), row.last_error
    assert row.last_error
    proxy.set(Fault.PASS)
    clock.advance(backoff(1) / 2)
    await _round(sessions, clock, settings)
    assert (await rows(sessions))[0].status == "pending"  # backing off: not sent again yet
    clock.advance(backoff(1))
    await _round(sessions, clock, settings)
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("delivered", 2), row.last_error
    clock.advance(backoff(8))
    await _round(sessions, clock, settings)  # nothing left to send
    assert (await rows(sessions))[0].attempts == 2


@pytest.mark.parametrize(
    "fault", [Fault.REFUSE, Fault.RESET, Fault.TRUNCATE, Fault.GARBAGE, Fault.DELAY]
)
async def test_smtp_fault_is_retried_with_backoff_and_delivered_once(
    sessions: Sessions, clock: FrozenClock, settings: Settings, smtp: SmtpServer, fault: Fault
) -> None:
    async with FaultProxy(smtp.port, http=False) as proxy:
        mail = settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": proxy.port, "smtp_from": "o@mp.example"}
        )
        await enqueue(sessions, [Recipient(Channel.EMAIL, "noc@contoso.example")], now=clock.now())
        await _fail_then_deliver(sessions, clock, mail, proxy, fault)
    assert len(smtp.accepted) == 1
    [row] = await rows(sessions)
    assert smtp.accepted[0].message_id == f"<notification-{row.id}@mobileplans>"


@pytest.mark.parametrize(
    ("fault", "copies"),
    [
        (Fault.REFUSE, 1),
        (Fault.GARBAGE, 1),
        (Fault.BAD_TLS, 1),
        (Fault.DELAY, 1),
        (Fault.RESET, 2),  # the receiver had it; its answer was lost in the status line
    ],
)
async def test_webhook_fault_is_retried_with_backoff_and_delivered_once(
    sessions: Sessions,
    clock: FrozenClock,
    settings: Settings,
    receiver: WebhookReceiver,
    fault: Fault,
    copies: int,
) -> None:
    receiver.default_status = 204
    async with FaultProxy(receiver.port) as proxy:
        scheme = "https" if fault is Fault.BAD_TLS else "http"
        url = f"{proxy.url(scheme)}/hook"
        await enqueue(sessions, [Recipient(Channel.WEBHOOK, url)], now=clock.now())
        if fault is Fault.BAD_TLS:  # an https URL that passes is another endpoint: fail only
            proxy.set(fault)
            await _round(sessions, clock, settings)
            [row] = await rows(sessions)
            assert (row.status, row.attempts) == ("pending", 1)
            assert "certificate" in (row.last_error or "").lower()
            return
        await _fail_then_deliver(sessions, clock, settings, proxy, fault)
    ids = {hook.headers["X-MP-Notification-Id"] for hook in receiver.requests}
    assert len(receiver.requests) == copies
    assert len(ids) == 1  # every copy carries the same identity


@pytest.mark.parametrize("fault", [Fault.WRONG_TYPE, Fault.TRUNCATE])
async def test_a_2xx_status_line_is_acceptance_whatever_follows_it(
    sessions: Sessions,
    clock: FrozenClock,
    settings: Settings,
    receiver: WebhookReceiver,
    fault: Fault,
) -> None:
    """A 2xx is acceptance whatever its body's type, and even if the body is cut short
    (the channel reads the status line only, docs/operations.md): delivered at once."""
    async with FaultProxy(receiver.port) as proxy:
        proxy.set(fault, truncate_after=2)
        url = f"{proxy.url()}/hook"
        await enqueue(sessions, [Recipient(Channel.WEBHOOK, url)], now=clock.now())
        await _round(sessions, clock, settings)
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("delivered", 1)
    assert len(receiver.requests) == 1
