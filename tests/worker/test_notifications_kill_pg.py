"""Issue #5: a notification worker killed with SIGKILL mid-delivery loses nothing and
sends nothing twice (PostgreSQL only, ``MP_TEST_DATABASE_URL``; about 20 s).

200 email notifications go to a real SMTP server (aiosmtpd) that delays every answer to
DATA and, once 25 messages were accepted, holds further answers. Worker A (a
``mobileplans worker`` process, whose notifications job delivers the outbox) is killed
outright while it has sends waiting for that answer, claimed rows not yet tried, and
unclaimed rows pending.
The server then answers again and worker B starts: it sends the unclaimed rows at once and
A's rows when their leases expire. Every Message-ID is accepted exactly once and every row
is ``delivered`` after exactly one recorded attempt (A's interrupted sends never counted).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.models import Notification
from mobileplans.domains.notification.schemas import Channel, Recipient
from mobileplans.kit.clock import SystemClock
from tests.domains.notification.servers import SmtpHandler, SmtpServer
from tests.domains.notification.support import enqueue, message, rows
from tests.support import pg_url

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(pg_url() is None, reason="PostgreSQL only (MP_TEST_DATABASE_URL)"),
]
Sessions = async_sessionmaker[AsyncSession]
ROWS = 200
ACCEPTED_BEFORE_KILL = 25
LEASE_SECONDS = 12
REPO = Path(__file__).resolve().parents[2]


class NotificationWorker:
    """``mobileplans worker`` as a process: its notifications job delivers the outbox."""

    def __init__(self, worker_id: str, database_url: str, smtp_port: int) -> None:
        self.worker_id = worker_id
        self.lease_owner = f"{worker_id}:notifications"
        self.env = {
            **os.environ,
            "MP_DATABASE_URL": database_url,
            "MP_SMTP_HOST": "127.0.0.1",
            "MP_SMTP_PORT": str(smtp_port),
            "MP_NOTIFICATION_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        exe = str(Path(sys.executable).with_name("mobileplans"))
        self.process = await asyncio.create_subprocess_exec(
            *(exe, "worker", "--no-sync", "--worker-id", self.worker_id),
            cwd=REPO,
            env=self.env,
            stderr=subprocess.PIPE,
        )
        assert self.process.stderr is not None
        seen = b""
        async with asyncio.timeout(60):
            while b"running" not in seen:
                line = await self.process.stderr.readline()
                assert line, f"worker {self.worker_id} exited: {seen!r}"
                seen += line
        self._drain = asyncio.create_task(self.process.stderr.read())

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: no cleanup, no outcome recorded
        await asyncio.wait_for(self.process.wait(), timeout=30)
        self._drain.cancel()

    async def terminate(self) -> tuple[int, str]:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout=60)
        log = (await asyncio.wait_for(self._drain, timeout=30)).decode(errors="replace")
        return code, log

    async def ensure_dead(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def until(condition: Callable[[], Awaitable[bool]], what: str, limit: float) -> None:
    """Poll ``condition`` every 50 ms; fail after ``limit`` seconds (a hang guard only)."""
    async with asyncio.timeout(limit):
        while not await condition():  # noqa: ASYNC110 (polls the database)
            await asyncio.sleep(0.05)
    assert await condition(), what


async def count(sessions: Sessions, *conditions: ColumnElement[bool]) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(Notification).where(*conditions)
        return int(await session.scalar(query) or 0)


async def test_killed_worker_every_notification_accepted_exactly_once(
    sessions: Sessions, database_url: str
) -> None:
    handler = SmtpHandler(data_delay=0.2, accept_limit=ACCEPTED_BEFORE_KILL)
    recipients = [Recipient(Channel.EMAIL, f"user{i}@contoso.example") for i in range(ROWS)]
    assert await enqueue(sessions, recipients, now=SystemClock().now(), msg=message()) == ROWS
    with SmtpServer(handler) as smtp:
        first = NotificationWorker("notify-a", database_url, smtp.port)
        second = NotificationWorker("notify-b", database_url, smtp.port)
        try:
            await first.start()

            async def held_with_accepted_committed() -> bool:
                delivered = await count(sessions, Notification.status == "delivered")
                return handler.waiting > 0 and delivered == ACCEPTED_BEFORE_KILL

            await until(held_with_accepted_committed, "worker A never got held", 60)
            in_flight = handler.waiting
            await first.kill()
            orphans = await count(sessions, Notification.lease_owner == first.lease_owner)
            unclaimed = await count(sessions, Notification.lease_owner.is_(None))

            async def server_saw_the_disconnects() -> bool:
                return handler.waiting == 0

            await until(server_saw_the_disconnects, "held DATA answers never ended", 30)
            assert len(smtp.accepted) == ACCEPTED_BEFORE_KILL
            handler.gate.set()
            await second.start()

            async def all_delivered() -> bool:
                return await count(sessions, Notification.status == "delivered") == ROWS

            await until(all_delivered, "not every row was delivered", 120)
            code, log = await second.terminate()
        finally:
            await first.ensure_dead()
            await second.ensure_dead()
    assert code == 0, log

    assert in_flight > 0
    assert orphans > in_flight  # A also held claimed rows it had not started
    assert unclaimed > 0
    outbox = await rows(sessions)
    expected = {f"<notification-{row.id}@mobileplans>" for row in outbox}
    accepted = Counter(mail.message_id for mail in smtp.accepted)
    assert set(accepted) == expected
    assert [mid for mid, times in accepted.items() if times > 1] == []
    assert len(smtp.accepted) == ROWS
    assert {row.status for row in outbox} == {"delivered"}
    assert {row.attempts for row in outbox} == {1}
    assert all(row.lease_owner is None and row.delivered_at for row in outbox)
