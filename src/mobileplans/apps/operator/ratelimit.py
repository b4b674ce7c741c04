"""Token buckets for the MO API (spec 2.3 status 429, 5.7).

One bucket per (operator, client): the client is the certificate subject under mutual
TLS, else the client's IP address. A bucket holds ``rate_limit_burst`` tokens and refills
at ``rate_limit_per_second``; each request takes one. An empty bucket answers 429 with a
whole-second ``Retry-After``: the time until one token is back. Time comes from the
injected clock. ``rate_limit_per_second <= 0`` turns limiting off for a site.

The table is bounded: past ``max_clients`` buckets, full (idle) ones are dropped, then
the least recently used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mobileplans.errors import AppError


class TooManyRequests(AppError):
    """429; ``retryAfter`` (whole seconds) becomes the ``Retry-After`` header."""

    status_code = 429
    title = "Too many requests"
    slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retryAfter=retry_after, **extra)
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    updated: float
    rate: float
    burst: float

    def refill(self, at: float) -> float:
        return min(self.burst, self.tokens + max(0.0, at - self.updated) * self.rate)


class RateLimiter:
    """Token buckets keyed by ``(operator_id, client)``."""

    def __init__(self, max_clients: int = 10_000) -> None:
        self.max_clients = max_clients
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: tuple[str, str], *, rate: float, burst: int, now: datetime) -> int | None:
        """Take one token: ``None`` if granted, else whole seconds until one is available."""
        if rate <= 0:
            return None
        at, capacity = now.timestamp(), float(burst if burst > 1 else 1)
        bucket = self._buckets.pop(key, None) or _Bucket(capacity, at, rate, capacity)
        # ``refill`` with the site's rate and burst (a reloaded config applies at once),
        # inline and without min/max (every MO API request comes through here)
        elapsed = at - bucket.updated
        tokens = bucket.tokens + elapsed * rate if elapsed > 0.0 else bucket.tokens
        bucket.rate, bucket.burst, bucket.updated = rate, capacity, at
        bucket.tokens = tokens if tokens < capacity else capacity
        self._buckets[key] = bucket  # re-inserted: dict order is least recently used first
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            if len(self._buckets) > self.max_clients:
                self._prune(at)
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def check(self, key: tuple[str, str], *, rate: float, burst: int, now: datetime) -> None:
        """Take one token or raise :class:`TooManyRequests`."""
        wait = self.take(key, rate=rate, burst=burst, now=now)
        if wait is not None:
            raise TooManyRequests(
                f"rate limit of {rate:g} requests/s (burst {burst}) exceeded; retry in {wait} s",
                retry_after=wait,
            )

    def _prune(self, at: float) -> None:
        full = [key for key, b in self._buckets.items() if b.refill(at) >= b.burst]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > self.max_clients:
            del self._buckets[next(iter(self._buckets))]
