"""The webhook channel: a signed JSON POST to the operator's URL (aiohttp).

Spec 7.3 suggests "email/webhook notifiers". The body is
``{id, event, subject, body, payload, operatorId, incidentId, maintenanceId, bugId,
createdAt}``; headers ``Content-Type: application/json``, ``X-MP-Notification-Id`` (the
same on every attempt: receivers de-duplicate on it), ``X-MP-Event``, ``X-MP-Timestamp``
(unix seconds) and, when the operator has a ``webhook_secret``,
``X-MP-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body bytes>">``. The secret is
read when the row is sent (``secret_for``), so a rotated secret applies to pending rows.

Answers: 2xx delivered; 408, 429 and 5xx, timeouts and connection errors are retried;
any other status (4xx, unexpected 1xx/3xx: redirects are not followed) is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable

import aiohttp

from mobileplans.domains.notification.channels.base import DeliveryError, OutboxRow
from mobileplans.kit.clock import Clock

DEFAULT_TIMEOUT_SECONDS = 10.0
RETRYABLE_STATUSES = frozenset({408, 429})
SecretLookup = Callable[[str], Awaitable[str | None]]


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` keyed by ``secret``."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: int | str, body: bytes, header: str | None) -> bool:
    """For receivers: does ``X-MP-Signature`` match this body and ``X-MP-Timestamp``?
    (Checking that the timestamp is recent, to refuse replays, is the receiver's call.)"""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def json_body(row: OutboxRow) -> bytes:
    document = {
        "id": row.id,
        "event": row.event,
        "subject": row.subject,
        "body": row.body,
        "payload": row.payload,
        "operatorId": row.operator_id,
        "incidentId": row.incident_id,
        "maintenanceId": row.maintenance_id,
        "bugId": row.bug_id,
        "createdAt": row.created_at.isoformat(),
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def classify_status(status: int, reason: str, detail: str = "") -> DeliveryError | None:
    """``None`` when ``status`` means delivered, else the error to raise."""
    if 200 <= status < 300:
        return None
    retry = status >= 500 or status in RETRYABLE_STATUSES
    message = f"HTTP {status} {reason}".strip() + (f": {detail}" if detail else "")
    return DeliveryError(message, permanent=not retry)


async def _detail(response: aiohttp.ClientResponse) -> str:
    """The start of an error answer's body, for ``last_error``; empty if unreadable."""
    try:
        return (await response.content.read(200)).decode(errors="replace")
    except (aiohttp.ClientError, OSError, TimeoutError):
        return ""


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        http: aiohttp.ClientSession,
        clock: Clock,
        secret_for: SecretLookup,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.http = http
        self.clock = clock
        self.secret_for = secret_for
        self.timeout_seconds = timeout_seconds

    async def headers(self, row: OutboxRow, body: bytes) -> dict[str, str]:
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "X-MP-Notification-Id": str(row.id),
            "X-MP-Event": row.event,
            "X-MP-Timestamp": str(timestamp),
        }
        secret = await self.secret_for(row.operator_id) if row.operator_id else None
        if secret:
            headers["X-MP-Signature"] = sign(secret, timestamp, body)
        return headers

    async def send(self, row: OutboxRow) -> None:
        body = json_body(row)
        headers = await self.headers(row, body)
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        try:
            async with self.http.post(
                row.recipient, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                status, reason = response.status, response.reason or ""
                detail = "" if 200 <= status < 300 else await _detail(response)
        except aiohttp.InvalidURL as exc:
            raise DeliveryError(f"invalid webhook URL: {exc}", permanent=True) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"webhook {type(exc).__name__}: {exc}".strip()) from exc
        error = classify_status(status, reason, detail)
        if error is not None:
            raise error
