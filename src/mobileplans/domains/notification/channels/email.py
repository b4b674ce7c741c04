"""The email channel: one plain-text message per row over SMTP (aiosmtplib).

Spec 5.4 and 5.5 send outage, incident and maintenance communication by email. The
message goes from ``Settings.smtp_from`` to the row's recipient through
``Settings.smtp_host:smtp_port`` (STARTTLS and login when configured). Its
``Message-ID`` is ``<notification-{id}@mobileplans>``, the same on every attempt, so a
receiver can drop the copy a retry may produce; ``X-MP-Event`` and, when set,
``X-MP-Incident`` / ``X-MP-Maintenance`` / ``X-MP-Bug`` name what it reports.

Errors: a 5xx answer to RCPT (the mailbox does not exist) or to DATA (the message was
rejected) is permanent; 4xx answers, a refused sender, failed login, timeouts and
connection errors are retried. The send returns only after the server's final answer to
DATA; a failure of the QUIT that follows does not undo the delivery.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from mobileplans.config import Settings
from mobileplans.domains.notification.channels.base import DeliveryError, OutboxRow

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_SECONDS = 30.0


def message_id(notification_id: int) -> str:
    return f"<notification-{notification_id}@mobileplans>"


def build_message(row: OutboxRow, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id(row.id)
    message["X-MP-Notification-Id"] = str(row.id)
    message["X-MP-Event"] = row.event
    for header, value in (
        ("X-MP-Incident", row.incident_id),
        ("X-MP-Maintenance", row.maintenance_id),
        ("X-MP-Bug", row.bug_id),
    ):
        if value is not None:
            message[header] = str(value)
    message.set_content(row.body)
    return message


def classify(error: Exception) -> DeliveryError:
    """Map an SMTP failure to a permanent or retryable :class:`DeliveryError`."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in error.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
        return DeliveryError(f"RCPT refused: {text}", permanent=all(c >= 500 for c in codes))
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        stage = "RCPT" if isinstance(error, aiosmtplib.SMTPRecipientRefused) else "DATA"
        return DeliveryError(f"{stage} {error.code} {error.message}", permanent=error.code >= 500)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return DeliveryError(f"SMTP {error.code} {error.message}")
    if isinstance(error, ValueError):
        return DeliveryError(f"invalid address: {error}", permanent=True)
    return DeliveryError(f"SMTP {type(error).__name__}: {error}")


class EmailChannel:
    name = "email"

    def __init__(self, settings: Settings, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS):
        if not settings.smtp_host:
            raise ValueError("EmailChannel needs Settings.smtp_host")
        self.settings = settings
        self.timeout_seconds = timeout_seconds

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password if s.smtp_username else None,
            start_tls=s.smtp_starttls,
            timeout=self.timeout_seconds,
        )

    async def send(self, row: OutboxRow) -> None:
        message = build_message(row, self.settings.smtp_from)
        client = self._client()
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await client.connect()
                await client.send_message(
                    message, sender=self.settings.smtp_from, recipients=[row.recipient]
                )
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as error:
            client.close()
            raise classify(error) from error
        # accepted (250 to DATA): nothing below may turn this into a failure
        try:
            await asyncio.wait_for(client.quit(), timeout=self.timeout_seconds)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            log.debug("QUIT after notification %d failed; message was accepted", row.id)
            client.close()
