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

log = logging.getLogger(__name__)

LaunchRow = dict[str, Any]
"""One ``portal_launches`` row as column values."""

MAX_PENDING = 5_000


class LaunchLog:
    def __init__(
        self,
        write: Callable[[list[LaunchRow]], Awaitable[None]],
        *,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._write = write
        self.max_pending = max_pending
        self._pending: list[LaunchRow] = []
        self._batch: asyncio.Future[None] | None = None  # settles when _pending is stored
        self._in_flight: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0
        self.rows = 0

    async def record(self, rows: list[LaunchRow]) -> None:
        """Return once ``rows`` are committed; raise what the write raised if it failed."""
        if not rows:
            return
        while len(self._pending) >= self.max_pending and self._in_flight is not None:
            await asyncio.wait([self._in_flight])  # backpressure: let the commit in flight end
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = loop.create_future()
        batch = self._batch
        self._pending.extend(rows)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._drain())
        # Shielded: a cancelled request must not cancel the batch other requests wait on.
        await asyncio.shield(batch)

    async def _drain(self) -> None:
        while self._pending:
            rows, batch = self._pending, self._batch
            self._pending, self._batch = [], None
            assert batch is not None
            self._in_flight = batch
            try:
                await self._write(rows)
            except Exception as exc:
                log.exception("could not store %d portal launch records", len(rows))
                batch.set_exception(exc)
                batch.exception()  # retrieved here: every waiter gets it through shield
            else:
                self.batches += 1
                self.rows += len(rows)
                batch.set_result(None)
            finally:
                self._in_flight = None

    async def close(self) -> None:
        """Wait until every record added so far is stored (the app's shutdown)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait([self._writer])
