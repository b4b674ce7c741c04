"""The operator's ES2+ client (SGP.22 v2.5 JSON binding; esim-rsp 1.2-1.4; docs/activation.md).

``POST {es2plus_url}/gsma/rsp2/es2plus/{function}`` with ``X-Admin-Protocol:
gsma/rsp/v2.5.0`` and a request header carrying ``functionRequesterIdentifier`` (the
operator's id agreed with the SM-DP+) and ``functionCallIdentifier``.

The caller names each call (``call_id``) after what it is for, e.g. ``<orderId>.downloadOrder``:
a retry of the same call (a transport retry here, or the whole order driven again after a
crash) sends the same identifier and the same body, so the SM-DP+'s replay protection
answers it with the first answer instead of ordering a second profile.

Outcomes: ``Executed-Success`` / ``Executed-WithWarning`` return the body; ``Failed`` and
``Expired`` raise :class:`Es2PlusFailed` with the subject/reason codes; no connection, a
timeout, an HTTP error or a body that is not an ES2+ response raise
:class:`Es2PlusUnavailable` after ``retries`` retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp

from mobileplans.config import OperatorSite
from mobileplans.kit import es2plus as codec
from mobileplans.kit.es2plus import ES2PLUS_PATH
from mobileplans.kit.netguard import guarded_session
from mobileplans.kit.text import printable
from mobileplans.kit.urls import trusted_client_context


class Es2PlusError(Exception):
    """An ES2+ function did not succeed."""

    def __init__(self, function: str, message: str) -> None:
        super().__init__(f"{function}: {message}")
        self.function = function
        self.message = message


class Es2PlusUnavailable(Es2PlusError):
    """The SM-DP+ could not be reached or did not answer in ES2+ terms."""

    def __init__(self, function: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(function, message)
        self.retryable = retryable


class Es2PlusFailed(Es2PlusError):
    """The SM-DP+ answered ``Failed`` (or ``Expired``) with ``statusCodeData``."""

    def __init__(
        self, function: str, status: str, subject_code: str, reason_code: str, message: str
    ) -> None:
        super().__init__(function, f"{status} {subject_code}/{reason_code} {message}".strip())
        self.status = status
        self.subject_code = subject_code
        self.reason_code = reason_code
        self.detail = message

    @property
    def code(self) -> str:
        return f"{self.subject_code}/{self.reason_code}"

    @property
    def no_profile_left(self) -> bool:
        return self.code == "8.2.5/3.7"


@dataclass(frozen=True, slots=True)
class ConfirmedOrder:
    matching_id: str
    smdp_address: str | None
    eid: str | None


class Es2PlusClient:
    """One operator's ES2+ client; the aiohttp session is opened lazily in the running loop."""

    def __init__(
        self,
        base_url: str,
        requester_id: str,
        *,
        timeout_seconds: float = 10.0,
        retries: int = 2,
        backoff_seconds: float = 0.2,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        self.base_url = base if base.endswith(ES2PLUS_PATH) else base + ES2PLUS_PATH
        self.requester_id = requester_id
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.retries = max(0, retries)
        self.backoff_seconds = backoff_seconds
        self._http = http
        self._owns_http = http is None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = guarded_session(timeout=self.timeout, ssl=trusted_client_context())
            self._owns_http = True
        return self._http

    async def close(self) -> None:
        if self._owns_http and self._http is not None and not self._http.closed:
            await self._http.close()

    async def download_order(self, *, call_id: str, eid: str | None, profile_type: str) -> str:
        """DownloadOrder (SGP.22 5.3.1): reserve a profile of ``profile_type``; its ICCID."""
        body: dict[str, Any] = {"profileType": profile_type}
        if eid:
            body["eid"] = eid
        answer = await self.call("downloadOrder", call_id, body)
        iccid = answer.get("iccid")
        if not isinstance(iccid, str) or not iccid:
            raise Es2PlusUnavailable("downloadOrder", "success without an iccid")
        return iccid

    async def confirm_order(
        self, *, call_id: str, iccid: str, eid: str | None, release_flag: bool
    ) -> ConfirmedOrder:
        """ConfirmOrder (5.3.2): the matchingId (and SM-DP+ address) of the reserved profile."""
        body: dict[str, Any] = {"iccid": iccid, "releaseFlag": release_flag}
        if eid:
            body["eid"] = eid
        answer = await self.call("confirmOrder", call_id, body)
        matching_id = answer.get("matchingId")
        if not isinstance(matching_id, str) or not matching_id:
            raise Es2PlusUnavailable("confirmOrder", "success without a matchingId")
        address = answer.get("smdpAddress")
        return ConfirmedOrder(
            matching_id=matching_id,
            smdp_address=address if isinstance(address, str) and address else None,
            eid=answer.get("eid") if isinstance(answer.get("eid"), str) else None,
        )

    async def cancel_order(
        self, *, call_id: str, iccid: str, eid: str | None, final_status: str
    ) -> None:
        """CancelOrder (5.3.3); ``final_status`` is ``Available`` or ``Unavailable``."""
        body: dict[str, Any] = {"iccid": iccid, "finalProfileStatusIndicator": final_status}
        if eid:
            body["eid"] = eid
        await self.call("cancelOrder", call_id, body)

    async def release_profile(self, *, call_id: str, iccid: str) -> None:
        """ReleaseProfile (5.3.4): a confirmed profile becomes downloadable."""
        await self.call("releaseProfile", call_id, {"iccid": iccid})

    async def call(self, function: str, call_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """One ES2+ function, retried on transport failures with the same identifier."""
        body = codec.request_body(self.requester_id, call_id, fields)
        last: Es2PlusUnavailable | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_seconds * attempt)
            try:
                return _outcome(function, await self._post(function, body))
            except Es2PlusUnavailable as exc:
                last = exc
                if not exc.retryable:
                    break
        assert last is not None
        raise last

    async def _post(self, function: str, body: dict[str, Any]) -> Any:
        headers = codec.http_headers()
        try:
            async with self._session().post(
                f"{self.base_url}/{function}", json=body, headers=headers, timeout=self.timeout
            ) as response:
                if response.status != 200:
                    raise Es2PlusUnavailable(
                        function, f"HTTP {response.status}", retryable=response.status >= 500
                    )
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Es2PlusUnavailable(function, describe(exc)) from exc


REASON_LIMIT = 160


def describe(exc: BaseException) -> str:
    """The error's class and the first line of its text, printable and bounded: a garbled
    answer's bytes (aiohttp quotes the bad status line) never reach an order's ``failure``,
    a log line or a page."""
    if isinstance(exc, aiohttp.ClientResponseError):  # its str() quotes the whole message
        first = f"{exc.status}, {exc.message}".split("\n", 1)[0]
    else:
        first = str(exc).split("\n", 1)[0]
    reason = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return printable(reason, REASON_LIMIT)


def _outcome(function: str, answer: Any) -> dict[str, Any]:
    status = codec.read_status(answer)
    if status is None or not isinstance(answer, dict):
        raise Es2PlusUnavailable(function, "answer is not an ES2+ response", retryable=False)
    if status.succeeded:
        return answer
    data = status.status_code_data or codec.StatusCodeData("", "")
    raise Es2PlusFailed(function, status.status, data.subject_code, data.reason_code, data.message)


class Es2PlusPool:
    """One client per operator hosted by the app (``OperatorSite.es2plus_url``)."""

    def __init__(self, sites: Iterable[OperatorSite], **options: Any) -> None:
        self._clients = {
            site.operator_id: Es2PlusClient(site.es2plus_url, site.es2plus_requester_id, **options)
            for site in sites
        }

    def for_operator(self, operator_id: str) -> Es2PlusClient:
        return self._clients[operator_id]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
