"""ES2+ ``handleDownloadProgressInfo`` (SGP.22 5.3.5): the SM-DP+ tells the operator how a
download goes at notification points 1 (eligibility), 3 (BPP download), 4 (installation).

Use cases only *build* :class:`PendingCallback` values; the edge writes them to the
callback outbox (:func:`enqueue`) in the transaction of the profile change, so a crash
cannot lose one and a rolled-back change sends none. A :class:`CallbackSender` per
SM-DP+ process delivers them: claims due rows (compare-and-set lease), posts without a
session open, records the outcome in another short transaction; in ``id`` order per
ICCID, exponential backoff capped, given up (``failed``) only after
``callback_give_up_seconds`` or on a 4xx (docs/smdp.md S15, decisions D240-D244).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.driver_tx import Tx
from mobileplans.db.outage_log import OutageLog
from mobileplans.db.transactions import Steps
from mobileplans.domains.smdp import repository
from mobileplans.domains.smdp.codes import StatusCode
from mobileplans.domains.smdp.repository import OutboxRow, ProfileRow
from mobileplans.domains.smdp.schemas import CallbackRead, PendingCallback
from mobileplans.kit import es2plus as codec
from mobileplans.kit.clock import Clock
from mobileplans.kit.es2plus import w3c_timestamp
from mobileplans.kit.netguard import guarded_session
from mobileplans.kit.text import printable
from mobileplans.kit.urls import trusted_client_context

ERROR_LIMIT = 2000
"""The longest ``last_error`` kept (the error's text, printable: ``kit.text``)."""

__all__ = ["CallbackSender", "Retry", "enqueue", "progress", "progress_body", "w3c_timestamp"]

log = logging.getLogger(__name__)


def progress_body(
    profile: ProfileRow,
    point: int,
    now: datetime,
    *,
    eid: str | None,
    failure: StatusCode | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """The request body of HandleDownloadProgressInfo (docs/activation.md "ES2+")."""
    status = codec.OK
    if failure is not None:
        status = codec.ExecutionStatus(codec.FAILED, failure.failure(message))
    return codec.progress_body(iccid=profile.iccid, profile_type=profile.profile_type,
                               timestamp=now, point=point, status=status, eid=eid)  # fmt: skip


def progress(
    profile: ProfileRow,
    point: int,
    now: datetime,
    *,
    eid: str | None,
    failure: StatusCode | None = None,
    message: str | None = None,
) -> tuple[PendingCallback, ...]:
    """The callback for the requester that ordered ``profile``: none without a requester
    or without a callback URL (``profile.callback_url`` was read with the profile)."""
    if profile.requester_id is None or not profile.callback_url:
        return ()
    body = progress_body(profile, point, now, eid=eid, failure=failure, message=message)
    return (PendingCallback(profile.callback_url, profile.requester_id, body),)


CALLBACKS: Final = Counter(
    "mobileplans_smdp_callbacks",
    "handleDownloadProgressInfo attempts by outcome (delivered, retried, failed)",
    ["outcome"],
)
IDLE_POLL_SECONDS: Final = 5.0
"""How often a sender looks for callbacks when none is due sooner (another process's)."""


async def enqueue(tx: Tx, callbacks: Sequence[PendingCallback], now: datetime) -> None:
    """Write ``callbacks`` to the outbox in the caller's transaction; each gets its
    ``functionCallIdentifier`` now, the same on every attempt (esim-rsp 1.2)."""
    for callback in callbacks:
        call_id = f"NP{callback.notification_point_id}-{uuid.uuid4()}"
        await repository.add_callback(
            tx, iccid=callback.iccid, requester_id=callback.requester_id,
            url=callback.url, call_id=call_id, body=callback.body, now=now,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Retry:
    """Backoff ``first`` doubling up to ``cap`` seconds; give up ``give_up`` seconds after
    the callback was written; a claim is leased for ``lease`` seconds."""

    first: float = 30.0
    cap: float = 600.0
    give_up: float = 86400.0
    lease: float = 60.0

    def delay(self, failures: int) -> timedelta:
        return timedelta(seconds=min(self.first * 2 ** max(failures - 1, 0), self.cap))


def _permanent(status: int | None) -> bool:
    """A 4xx other than 408/429: the operator refuses this callback; retrying cannot help."""
    return status is not None and 400 <= status < 500 and status not in (408, 429)


class CallbackSender:
    """Delivers the outbox over aiohttp: any 2xx is delivered (204 expected), a 4xx
    (but 408/429) fails the callback, 5xx and network errors are retried (:class:`Retry`).

    ``run_once`` is one pass (claim, post, record); ``wake`` (after a commit that wrote
    callbacks) and ``start`` (the app's lifespan: also picks up callbacks left by a
    previous run) run passes in a background task. Each request carries the ES2+ request
    header with this SM-DP+'s ``functionRequesterIdentifier`` and the row's
    ``functionCallIdentifier``.
    """

    def __init__(
        self,
        tx: Steps[Tx],
        clock: Clock,
        *,
        retry: Retry,
        timeout_seconds: float,
        requester_identifier: str = "mobileplans-smdp",
        owner: str | None = None,
        batch: int = 50,
    ) -> None:
        self.tx = tx
        self.clock = clock
        self.retry = retry
        self.requester_identifier = requester_identifier
        self.owner = owner or f"smdp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.batch = batch
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.delivered = 0
        self.failed = 0
        self._outages = OutageLog("SM-DP+ callback outbox", log)
        self._client: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._persistent = False
        self._wake = asyncio.Event()

    def start(self) -> None:
        """Run passes until :meth:`aclose`, waking for new callbacks and due retries."""
        self._persistent = True
        self.wake()

    def wake(self) -> None:
        """New callbacks were committed: run a pass now (starting the task if needed; a
        task started here ends once nothing is pending)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop())
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                claimed, due = await self._pass()
                self._outages.succeeded()
                if claimed:
                    continue
            except Exception as exc:  # the database is away: try again later
                self._outages.failed(exc, "pass failed")
                due = self.clock.now()
            if due is None and not self._persistent:
                return
            wait = IDLE_POLL_SECONDS
            if due is not None:
                wait = min(max((due - self.clock.now()).total_seconds(), 0.05), wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _next_due(self) -> datetime | None:
        async with self.tx.step() as tx:
            return await repository.next_callback_due(tx)

    async def run_once(self) -> int:
        """Claim the due callbacks that are first of their ICCID, post them (no session
        open), record each outcome; the number claimed."""
        return (await self._pass())[0]

    async def _pass(self) -> tuple[int, datetime | None]:
        """``run_once``, and when nothing was due, when something next will be (read in
        the claim's transaction)."""
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.retry.lease)
        async with self.tx.step() as tx:
            rows = await repository.claim_callbacks(
                tx, owner=self.owner, now=now, lease_until=lease_until, limit=self.batch
            )
            due = None if rows else await repository.next_callback_due(tx)
        if rows:
            await asyncio.gather(*(self._send(row) for row in rows))
        return len(rows), due

    async def _send(self, row: OutboxRow) -> None:
        body = codec.request_body(self.requester_identifier, row.call_id, row.body)
        status, error = await self._post(row.url, body)
        error = None if error is None else printable(error, ERROR_LIMIT)
        now = self.clock.now()
        values: dict[str, Any]
        if status is not None and 200 <= status < 300:
            outcome, values = "delivered", {"status": "delivered", "delivered_at": now}
            values["last_error"] = None
        elif _permanent(status) or now - row.created_at >= timedelta(seconds=self.retry.give_up):
            outcome, values = "failed", {"status": "failed", "last_error": error}
        else:
            next_at = now + self.retry.delay(row.attempts + 1)
            outcome, values = "retried", {"next_attempt_at": next_at, "last_error": error}
        async with self.tx.step() as tx:
            recorded = await repository.finish_callback(tx, row.id, owner=self.owner, values=values)
        if recorded:
            self._count(outcome, row, error)

    def _count(self, outcome: str, row: OutboxRow, error: str | None) -> None:
        CALLBACKS.labels(outcome=outcome).inc()
        if outcome == "delivered":
            self.delivered += 1
        elif outcome == "failed":
            self.failed += 1
            log.error(
                "handleDownloadProgressInfo to %s (ICCID %s, point %s) failed for good: %s",
                row.url, row.iccid, row.body.get("notificationPointId"), error,
            )  # fmt: skip

    async def _post(self, url: str, body: dict[str, Any]) -> tuple[int | None, str | None]:
        """POST one callback: (status, error text), status ``None`` on a network error."""
        if self._client is None or self._client.closed:
            self._client = guarded_session(timeout=self.timeout, ssl=trusted_client_context())
        headers = {"X-Admin-Protocol": codec.ADMIN_PROTOCOL}  # aiohttp's json= sets the type
        try:
            async with self._client.post(url, json=body, headers=headers) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("callback %s failed: %r", url, exc)
            return None, repr(exc)[:500]
        if 200 <= response.status < 300:
            if response.status != 204:
                log.warning("callback %s answered %s, expected 204", url, response.status)
            return response.status, None
        return response.status, f"HTTP {response.status}"

    async def drain(self, wait_seconds: float = 30.0) -> None:
        """Wait (at most ``wait_seconds``) until no callback is pending."""
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while asyncio.get_running_loop().time() < deadline:
            if await self._next_due() is None:
                return
            self.wake()
            await asyncio.sleep(0.02)

    async def aclose(self, wait_seconds: float = 0.0) -> None:
        """Stop the task (pending callbacks stay in the outbox), close the HTTP client;
        first wait up to ``wait_seconds`` for the outbox to empty."""
        if wait_seconds > 0:
            await self.drain(wait_seconds)
        self._persistent = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.close()
            self._client = None


async def outbox_listing(
    session: AsyncSession, statuses: Sequence[str] = ("pending", "failed")
) -> list[CallbackRead]:
    """The outbox's rows in ``statuses``, oldest first (``mobileplans smdp callbacks``)."""
    return [_read(r) for r in await repository.callbacks_in(session, statuses)]


def _read(row: Any) -> CallbackRead:
    return CallbackRead(
        id=row.id, iccid=row.iccid, notification_point_id=int(row.body["notificationPointId"]),
        status=row.status, attempts=row.attempts, created_at=row.created_at,
        next_attempt_at=row.next_attempt_at, last_error=row.last_error, url=row.url,
    )  # fmt: skip
