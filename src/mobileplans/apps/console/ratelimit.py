"""A small token bucket per client IP for the sign-in form (issue #10: rate-limited sign-in).

A bucket holds ``burst`` attempts and refills at ``per_minute``; each sign-in attempt
(right or wrong) takes one. At most ``max_clients`` buckets are kept: past that, the
least recently used is dropped. Time comes from the injected clock.
"""

from __future__ import annotations

import math
from collections import OrderedDict


class SignInLimiter:
    def __init__(self, *, burst: int = 5, per_minute: float = 5.0, max_clients: int = 10_000):
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, at: float) -> int | None:
        """One attempt for ``client`` at epoch ``at``: None if allowed, else whole seconds
        until the next one is."""
        tokens, updated = self._buckets.pop(client, (self.burst, at))
        tokens = min(self.burst, tokens + max(0.0, at - updated) * self.rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, at)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return None
        self._buckets[client] = (tokens, at)
        return max(1, math.ceil((1.0 - tokens) / self.rate))
