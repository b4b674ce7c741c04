"""Process state of the SM-DP+: configuration, sessions, clock, the callback sender, and the
transaction runner every route uses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.session import session_scope
from mobileplans.domains.smdp.callbacks import CallbackSender
from mobileplans.domains.smdp.codes import ConcurrentUpdate
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.domains.smdp.schemas import Outcome
from mobileplans.kit.clock import Clock

log = logging.getLogger(__name__)

TRANSACTION_ATTEMPTS: Final = 5

Work = Callable[[AsyncSession, datetime], Awaitable[Outcome]]


@dataclass
class SmdpState:
    config: SmdpConfig
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    callbacks: CallbackSender

    async def run(self, work: Work, *, busy: Callable[[], Outcome]) -> Outcome:
        """Run one use case in its own transaction; after the commit, send its callbacks.

        A transaction that lost a race (a compare-and-set changed no row, or a duplicate
        ES2+ call hit the primary key) is rolled back and run again from the start, at
        most ``TRANSACTION_ATTEMPTS`` times; then ``busy()`` answers.
        """
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                async with session_scope(self.sessions) as session:
                    outcome = await work(session, self.clock.now())
            except (ConcurrentUpdate, IntegrityError) as exc:
                log.info("transaction lost a race (attempt %s): %r", attempt + 1, exc)
                continue
            self.callbacks.schedule(outcome.callbacks)
            return outcome
        return busy()
