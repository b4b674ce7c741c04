"""Group commit of portal launch records (decision D93).

Every ``GET /v1/providers`` hands out fresh ``transactionId`` values, and every one
is kept (spec 7.2 #44: troubleshooting and purchase telemetry read them). Writing
them in a transaction per request capped the catalog at ~630 requests/s; writing
them behind the response would lose the records of answers already sent when the
process dies. This log does neither: a request adds its records and waits until
they are committed, and one writer commits everything that gathered meanwhile in a
single transaction. Under load a batch holds the records of every request that
arrived during the previous commit; idle, a request waits for one short commit.

So a response never names a ``transactionId`` that is not stored yet: a reader in
any process that runs after the device got the answer finds the record, and a
crash loses no record that was handed out (it can leave records of answers that
were never sent, which retention purges like any other).

The log holds no session: the edge gives it ``write``, a callable that stores one
batch in one transaction of its own. The queue is bounded: past ``max_pending``
records a request waits for the commit in flight before adding its own
(backpressure; nothing is dropped).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mobileplans.db.outage_log import OutageLog

log = logging.getLogger(__name__)

LaunchRow = dict[str, Any]
"""One ``portal_launches`` row as column values."""

MAX_PENDING = 5_000


class LaunchLog:
    """``writers`` batches may be written at once (one when the database has one writer,
    as SQLite; more hide a server's round trip, as PostgreSQL's)."""

    def __init__(
        self,
        write: Callable[[list[LaunchRow]], Awaitable[None]],
        *,
        max_pending: int = MAX_PENDING,
        writers: int = 1,
    ) -> None:
        self._write = write
        self.max_pending = max_pending
        self.writers = writers
        self._pending: list[LaunchRow] = []
        self._batch: asyncio.Future[None] | None = None  # settles when _pending is stored
        self._in_flight: set[asyncio.Future[None]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = 0  # writers running: counted down as a writer leaves, not later
        self._outages = OutageLog("portal launch records", log)
        self.batches = 0
        self.rows = 0

    async def record(self, rows: list[LaunchRow]) -> None:
        """Return once ``rows`` are committed; raise what the write raised if it failed."""
        if not rows:
            return
        while len(self._pending) >= self.max_pending and self._in_flight:
            # backpressure: let a commit in flight end
            await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = loop.create_future()
        batch = self._batch
        self._pending.extend(rows)
        if self._active < self.writers:
            self._active += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # Shielded: a cancelled request must not cancel the batch other requests wait on.
        await asyncio.shield(batch)

    async def _drain(self) -> None:
        try:
            while self._pending:
                await self._store_pending()
        finally:
            self._active -= 1  # no await since the last look at _pending: no row is left

    async def _store_pending(self) -> None:
        rows, batch = self._pending, self._batch
        self._pending, self._batch = [], None
        assert batch is not None
        self._in_flight.add(batch)
        try:
            await self._write(rows)
        except Exception as exc:
            self._outages.failed(exc, f"not stored ({len(rows)} rows)")
            batch.set_exception(exc)
            batch.exception()  # retrieved here: every waiter gets it through shield
        else:
            self.batches += 1
            self.rows += len(rows)
            self._outages.succeeded()
            batch.set_result(None)
        finally:
            self._in_flight.discard(batch)

    async def close(self) -> None:
        """Wait until every record added so far is stored (the app's shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
