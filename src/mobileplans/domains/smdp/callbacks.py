"""ES2+ ``handleDownloadProgressInfo`` (SGP.22 5.3.5): the SM-DP+ tells the operator how a
download goes at notification points 1 (eligibility), 3 (BPP download), 4 (installation).

Use cases only *build* :class:`PendingCallback` values; the edge hands them to a
:class:`CallbackSender` after its transaction committed, so an operator is never told
about a change that was rolled back. Delivery runs in background tasks: bounded
attempts with exponential backoff, in order per ICCID, failures logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp

from mobileplans.domains.smdp.codes import StatusCode
from mobileplans.domains.smdp.repository import ProfileRow
from mobileplans.domains.smdp.schemas import PendingCallback
from mobileplans.kit import es2plus as codec
from mobileplans.kit.es2plus import w3c_timestamp
from mobileplans.kit.urls import trusted_client_context

__all__ = ["CallbackSender", "progress", "progress_body", "w3c_timestamp"]

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


class CallbackSender:
    """Delivers callbacks over aiohttp: 204 (any 2xx) is delivered, 4xx is given up,
    5xx and network errors are retried ``attempts`` times with exponential backoff.

    Each request carries the ES2+ request header (esim-rsp 1.2) with this SM-DP+'s
    ``functionRequesterIdentifier`` and one ``functionCallIdentifier`` per callback, the
    same on every retry so the operator can recognise a repeat.
    """

    def __init__(
        self,
        *,
        attempts: int,
        backoff_seconds: float,
        timeout_seconds: float,
        requester_identifier: str = "mobileplans-smdp",
    ) -> None:
        self.attempts = attempts
        self.requester_identifier = requester_identifier
        self.backoff_seconds = backoff_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.delivered = 0
        self.failed = 0
        self._client: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[bool]] = set()
        self._last: dict[str, asyncio.Task[bool]] = {}

    def schedule(self, callbacks: Sequence[PendingCallback]) -> None:
        """Start delivering; a callback waits for the previous one of the same ICCID."""
        for callback in callbacks:
            previous = self._last.get(callback.iccid)
            task = asyncio.create_task(self._after(previous, callback))
            self._tasks.add(task)
            self._last[callback.iccid] = task
            task.add_done_callback(self._forget(callback.iccid))

    def _forget(self, iccid: str) -> Any:
        def done(task: asyncio.Task[bool]) -> None:
            self._tasks.discard(task)
            if self._last.get(iccid) is task:
                del self._last[iccid]

        return done

    async def _after(self, previous: asyncio.Task[bool] | None, callback: PendingCallback) -> bool:
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        ok = await self.deliver(callback)
        if ok:
            self.delivered += 1
        else:
            self.failed += 1
        return ok

    async def deliver(self, callback: PendingCallback) -> bool:
        """POST one callback; True once the operator answered 2xx."""
        call_id = f"NP{callback.notification_point_id}-{uuid.uuid4()}"
        body = codec.request_body(self.requester_identifier, call_id, callback.body)
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            status = await self._post(callback.url, body)
            if status is not None and 200 <= status < 300:
                if status != 204:
                    log.warning("callback %s answered %s, expected 204", callback.url, status)
                return True
            if status is not None and 400 <= status < 500:
                break
        log.error(
            "handleDownloadProgressInfo to %s (ICCID %s, point %s) not delivered",
            callback.url,
            callback.iccid,
            callback.notification_point_id,
        )
        return False

    async def _post(self, url: str, body: dict[str, Any]) -> int | None:
        if self._client is None or self._client.closed:
            connector = aiohttp.TCPConnector(ssl=trusted_client_context())
            self._client = aiohttp.ClientSession(timeout=self.timeout, connector=connector)
        headers = {"X-Admin-Protocol": codec.ADMIN_PROTOCOL}  # aiohttp's json= sets the type
        try:
            async with self._client.post(url, json=body, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("callback %s failed: %r", url, exc)
            return None

    async def drain(self, wait_seconds: float = 30.0) -> None:
        """Wait (at most ``wait_seconds``) for every scheduled callback to finish."""
        pending = set(self._tasks)
        if pending:
            await asyncio.wait(pending, timeout=wait_seconds)

    async def aclose(self, wait_seconds: float = 10.0) -> None:
        """Drain, cancel what is left, close the HTTP client."""
        await self.drain(wait_seconds)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None
