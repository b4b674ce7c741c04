"""The log channel: one INFO line on ``mobileplans.notifications``; never fails.

Used for rows enqueued to ``log`` (no contact configured) and, when ``Settings.smtp_host``
is unset, for email rows too (see ``delivery``).
"""

from __future__ import annotations

import logging

from mobileplans.domains.notification.channels.base import OutboxRow

log = logging.getLogger("mobileplans.notifications")


class LogChannel:
    name = "log"
    timeout_seconds = 1.0

    async def send(self, row: OutboxRow) -> None:
        log.info(
            "notification %d [%s] via %s to %s: %s\n%s",
            row.id,
            row.event,
            row.channel,
            row.recipient,
            row.subject,
            row.body,
        )
