"""Email delivery against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from mobileplans.config import Settings
from mobileplans.db.transactions import Transactions
from mobileplans.domains.notification.delivery import deliver_due
from mobileplans.domains.notification.schemas import Channel, Recipient
from mobileplans.kit.clock import FrozenClock
from tests.domains.notification.servers import SmtpServer
from tests.domains.notification.support import Sessions, enqueue, outcomes, rows
from tests.support import free_port

NOC = Recipient(Channel.EMAIL, "noc@contoso.example", "NOC")


async def test_enqueued_email_is_delivered_with_subject_body_and_headers(
    sessions: Sessions, clock: FrozenClock, smtp: SmtpServer, mail_settings: Settings
) -> None:
    assert await enqueue(sessions, [NOC], now=clock.now()) == 1
    before = outcomes("email", "delivered")

    summary = await deliver_due(
        Transactions(sessions), clock, worker_id="w1", settings=mail_settings
    )

    assert (summary.claimed, summary.delivered) == (1, 1)
    [row] = await rows(sessions)
    [mail] = smtp.accepted
    assert mail.mail_from == "ops@mp.example"
    assert mail.rcpt_tos == ["noc@contoso.example"]
    message = mail.message
    assert message["Subject"] == "Sev 2 incident 7 opened: portal down"
    assert message["To"] == "noc@contoso.example"
    assert message["Message-ID"] == f"<notification-{row.id}@mobileplans>"
    assert message["X-MP-Event"] == "incident.opened"
    assert message["X-MP-Incident"] == "7"
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == (
        "The portal of contoso is down.\nWe are on it: café ☕"
    )
    assert (row.status, row.attempts, row.delivered_at) == ("delivered", 1, clock.now())
    assert (row.lease_owner, row.lease_expires_at, row.last_error) == (None, None, None)
    assert outcomes("email", "delivered") == before + 1

    clock.advance(timedelta(hours=2))
    again = await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=mail_settings)
    assert again.claimed == 0
    assert len(smtp.accepted) == 1


async def test_enqueueing_the_same_event_twice_sends_one_message(
    sessions: Sessions, clock: FrozenClock, smtp: SmtpServer, mail_settings: Settings
) -> None:
    assert await enqueue(sessions, [NOC], now=clock.now()) == 1
    assert await enqueue(sessions, [NOC], now=clock.now()) == 0

    await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=mail_settings)
    await deliver_due(Transactions(sessions), clock, worker_id="w2", settings=mail_settings)

    assert len(smtp.accepted) == 1
    assert len(await rows(sessions)) == 1


async def test_rcpt_550_fails_the_row_for_good(
    sessions: Sessions, clock: FrozenClock, smtp: SmtpServer, mail_settings: Settings
) -> None:
    smtp.handler.refuse["noc@contoso.example"] = "550 5.1.1 no such mailbox"
    await enqueue(sessions, [NOC], now=clock.now())
    before = outcomes("email", "failed")

    summary = await deliver_due(
        Transactions(sessions), clock, worker_id="w1", settings=mail_settings
    )

    assert summary.failed == 1
    [row] = await rows(sessions)
    assert (row.status, row.attempts, row.lease_owner) == ("failed", 1, None)
    assert "550" in (row.last_error or "")
    assert outcomes("email", "failed") == before + 1
    del smtp.handler.refuse["noc@contoso.example"]
    clock.advance(timedelta(hours=3))
    assert (
        await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=mail_settings)
    ).claimed == 0
    assert smtp.accepted == []


async def test_rcpt_451_is_retried_after_the_backoff(
    sessions: Sessions, clock: FrozenClock, smtp: SmtpServer, mail_settings: Settings
) -> None:
    smtp.handler.refuse["noc@contoso.example"] = "451 4.3.0 try again later"
    await enqueue(sessions, [NOC], now=clock.now())
    failed_at = clock.now()

    summary = await deliver_due(
        Transactions(sessions), clock, worker_id="w1", settings=mail_settings
    )

    assert summary.retried == 1
    [row] = await rows(sessions)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        failed_at + timedelta(seconds=30),
    )
    assert "451" in (row.last_error or "")
    del smtp.handler.refuse["noc@contoso.example"]
    clock.advance(timedelta(seconds=30))
    assert (
        await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=mail_settings)
    ).delivered
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("delivered", 2)
    assert len(smtp.accepted) == 1


async def test_unreachable_smtp_server_is_retried(
    sessions: Sessions, clock: FrozenClock, settings: Settings
) -> None:
    closed = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port()})
    await enqueue(sessions, [NOC], now=clock.now())

    summary = await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=closed)

    assert summary.retried == 1
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)


async def test_without_smtp_host_email_goes_to_the_log(
    sessions: Sessions,
    clock: FrozenClock,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert settings.smtp_host is None
    caplog.set_level(logging.INFO, logger="mobileplans.notifications")
    await enqueue(sessions, [NOC], now=clock.now())
    before = outcomes("log", "delivered")

    summary = await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=settings)

    assert summary.delivered == 1
    [row] = await rows(sessions)
    assert row.status == "delivered"
    [record] = [r for r in caplog.records if r.name == "mobileplans.notifications"]
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert "noc@contoso.example" in text
    assert "Sev 2 incident 7 opened: portal down" in text
    assert outcomes("log", "delivered") == before + 1


async def test_a_garbled_smtp_greeting_is_retried_and_its_error_kept_printable(
    sessions: Sessions, clock: FrozenClock, settings: Settings
) -> None:
    """Found by the soak: a greeting of random bytes put a NUL in ``last_error``, which
    PostgreSQL refuses, so the outcome was never recorded (the row waited out its lease)."""

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x14\tC\x16\x06Rhf\xb2\x00oeK!A\x1b~Oqt7vZ\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    garbled = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    await enqueue(sessions, [NOC], now=clock.now())
    async with server:
        summary = await deliver_due(Transactions(sessions), clock, worker_id="w1", settings=garbled)

    assert summary.retried == 1
    [row] = await rows(sessions)
    assert (row.status, row.attempts) == ("pending", 1)  # the outcome was recorded
    assert row.last_error is not None
    assert "\x00" not in row.last_error
    assert row.last_error.isprintable()
