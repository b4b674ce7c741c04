"""A local SMTP server for ``mobileplans up``: notifications are really sent over SMTP and
land in ``<data-dir>/mail/notifications.mbox`` (readable with ``mutt -f`` or any mbox
reader), so a demo stack shows every page, reminder and notice the worker delivers."""

from __future__ import annotations

import mailbox
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _MboxHandler:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = mailbox.mboxMessage(envelope.original_content or envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            box = mailbox.mbox(self._path)
            try:
                box.add(message)
                box.flush()
            finally:
                box.close()
            self.count += 1
        return "250 Message accepted for delivery"


class MailSink:
    """``with MailSink(data_dir, host, port):`` accepts mail on ``host:port`` meanwhile."""

    def __init__(self, data_dir: Path, host: str, port: int) -> None:
        self.path = data_dir / "mail" / "notifications.mbox"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.host, self.port = host, port
        self.handler = _MboxHandler(self.path)
        self._controller = Controller(self.handler, hostname=host, port=port)

    def __enter__(self) -> MailSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
