"""Process state of the SM-DP+: configuration, sessions, clock, the callback sender, and the
transaction runner every route uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.driver_tx import Tx, driver_steps
from mobileplans.db.transactions import Steps
from mobileplans.domains.smdp import callbacks
from mobileplans.domains.smdp.callbacks import CallbackSender
from mobileplans.domains.smdp.codes import ConcurrentUpdate
from mobileplans.domains.smdp.config import SmdpConfig
from mobileplans.domains.smdp.schemas import Outcome
from mobileplans.kit.clock import Clock

TRANSACTION_ATTEMPTS: Final = 5
LOST_RACE: Final = (ConcurrentUpdate, IntegrityError)
"""A compare-and-set that changed no row, or a duplicate ES2+ call that hit the primary key."""

Work = Callable[[Tx, datetime], Awaitable[Outcome]]


@dataclass
class SmdpState:
    config: SmdpConfig
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    callbacks: CallbackSender
    tx: Steps[Tx] = field(init=False)

    def __post_init__(self) -> None:
        self.tx = driver_steps(self.sessions)  # on the driver where it can (D295)

    async def run(self, work: Work, *, busy: Callable[[], Outcome]) -> Outcome:
        """Run one use case in one short transaction (``Steps.run``) that also writes
        its callbacks to the outbox; after the commit, wake the sender (docs/smdp.md S15).

        A transaction that lost a race (:data:`LOST_RACE`) is rolled back and run again from
        the start, at most ``TRANSACTION_ATTEMPTS`` times; then ``busy()`` answers.
        """

        async def step(tx: Tx) -> Outcome:
            now = self.clock.now()
            outcome = await work(tx, now)
            await callbacks.enqueue(tx, outcome.callbacks, now)
            return outcome

        try:
            outcome = await self.tx.run(
                step,
                retry_on=LOST_RACE,
                attempts=TRANSACTION_ATTEMPTS,
            )
        except LOST_RACE:
            return busy()
        if outcome.callbacks:
            self.callbacks.wake()
        return outcome
