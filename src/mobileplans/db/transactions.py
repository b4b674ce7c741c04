"""Short transactions with network calls between them, handed to a domain by the edge.

The transaction model (docs/architecture.md, "Transactions"):

- The edge (a request, a worker job, a CLI command) owns every transaction. A service
  takes an ``AsyncSession`` and never commits, rolls back or opens a session.
- Work that must call out over the network *between* database steps (placing an order
  with the SM-DP+, a delayed release, a re-issue, delivering a notification, sending an
  ES2+ callback) must not hold a session across the call: one transaction would keep a
  connection (and on SQLite the write lock) for as long as the remote side takes. Such
  work receives a :class:`Transactions` from the edge and runs each database step as one
  short transaction, ``async with tx.step() as session`` or ``await tx.run(step)``, with
  the network call between two steps.
- A domain whose repository runs only compiled Core statements on the driver (the
  SM-DP+) may be handed ``db.driver_tx.DriverTransactions`` instead: the same steps, each
  a :class:`~mobileplans.db.driver_tx.DriverTransaction` rather than a session (D295).

A domain module never imports ``session_scope`` or builds a session maker; the layer
contracts (``pyproject.toml``) and ``scripts/check_sql.py`` enforce it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.db.errors import is_unavailable
from mobileplans.db.session import session_scope

log = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S", covariant=True)  # a step hands out S; a Steps[session] is a Steps[session | …]


_FIRST_PAUSE = 0.1
_LONGEST_PAUSE = 2.0


async def patiently(
    attempt: Callable[[], Awaitable[T]],
    patience: float,
    after_failure: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """``attempt()``; while it fails because the database is away (``is_unavailable``),
    pause (0.1 s doubling to 2 s) and try again, for at most ``patience`` seconds; then
    its error propagates. ``after_failure`` cleans up between tries."""
    deadline = time.monotonic() + patience
    pause = _FIRST_PAUSE
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if not is_unavailable(exc) or time.monotonic() + pause > deadline:
                raise
            if after_failure is not None:
                await after_failure()
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


class Steps(Generic[S]):
    """Short transactions handed out by the edge, one per ``step()``; what the session
    kind (:class:`Transactions`) and the driver kind (``db.driver_tx``) share.

    ``patience`` (seconds, default 0): a step first waits, with awaited pauses, for up to
    this long until the database answers (issue #11, D228). For work that has already
    done something outside (a notification accepted by its receiver) and must record it:
    through a database restart the record waits for the database instead of failing
    and leaving the work to be done again."""

    __slots__ = ("patience",)

    def __init__(self, *, patience: float = 0.0) -> None:
        self.patience = patience

    def step(self) -> AbstractAsyncContextManager[S]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        raise NotImplementedError

    async def run(
        self,
        work: Callable[[S], Awaitable[T]],
        *,
        retry_on: tuple[type[BaseException], ...] = (),
        attempts: int = 1,
    ) -> T:
        """``work(transaction)`` in one transaction; run again from the start (at most
        ``attempts`` times in all) when it raises one of ``retry_on``, e.g. a
        compare-and-set that lost a race. The last such error propagates."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.step() as transaction:
                    return await work(transaction)
            except retry_on as exc:
                if attempt >= attempts:
                    raise
                log.info("transaction lost a race (attempt %s): %r", attempt, exc)
        raise AssertionError("unreachable: attempts must be at least 1")


class Transactions(Steps[AsyncSession]):
    """A source of short transactions, each an ``AsyncSession``, created by the edge from
    its session maker."""

    __slots__ = ("_factory",)

    def __init__(self, factory: async_sessionmaker[AsyncSession], *, patience: float = 0.0) -> None:
        super().__init__(patience=patience)
        self._factory = factory

    @asynccontextmanager
    async def step(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with session_scope(self._factory) as session:
            if self.patience > 0:
                await self._reach(session)
            yield session

    async def _reach(self, session: AsyncSession) -> None:
        """Take the session's connection (a live one: the pool pings it), waiting while
        the database is away, at most ``patience`` seconds; then its error propagates."""

        async def connect() -> None:
            await session.connection()

        await patiently(connect, self.patience, session.rollback)  # a clean session per try
