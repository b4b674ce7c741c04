"""Broker token failures: a token bucket per client IP (issue #11, D249).

Each wrong bearer token on the admin or operations API takes one token from its client
IP's bucket; the bucket holds ``burst`` and refills at ``per_minute``. While it is empty,
every request from that IP with a bearer token answers 429 problem+json with a whole-second
``Retry-After`` before its token is looked at (a right token too: the guessing stops).
At most ``max_clients`` buckets are kept, the least recently used dropped first; time
comes from the caller (the state's clock).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from mobileplans.errors import AppError


class TooManyTokenFailures(AppError):
    """429; ``retryAfter`` (whole seconds) becomes the ``Retry-After`` header."""

    status_code = 429
    title = "Too many requests"
    slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retryAfter=retry_after, **extra)


class TokenFailureLimiter:
    def __init__(self, *, burst: int = 10, per_minute: float = 10.0, max_clients: int = 10_000):
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _tokens(self, client: str, at: float) -> float:
        tokens, updated = self._buckets.get(client, (self.burst, at))
        return min(self.burst, tokens + max(0.0, at - updated) * self.rate)

    def retry_after(self, client: str, at: float) -> int | None:
        """None if ``client`` may present a token at epoch ``at``, else whole seconds
        until it may."""
        tokens = self._tokens(client, at)
        if tokens >= 1.0:
            return None
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def failed(self, client: str, at: float) -> None:
        """Count one wrong token from ``client``."""
        tokens = max(0.0, self._tokens(client, at) - 1.0)
        self._buckets.pop(client, None)
        self._buckets[client] = (tokens, at)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
