"""Prometheus metrics for every app: request counts and latency by route template."""

from __future__ import annotations

import bisect
import time
import weakref
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "mobileplans_http_requests_total",
    "HTTP requests served",
    ["app", "method", "route", "status"],
)
LATENCY = Histogram(
    "mobileplans_http_request_duration_seconds",
    "HTTP request latency",
    ["app", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 1.0, 2.5, 5.0),
)


TALLY_SECONDS: Final = 1.0
"""The longest a lean path's request waits before it shows in the Prometheus series
(a ``/metrics`` answer flushes every tally first)."""


def observe(app: str, method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(app, method, route, str(status)).inc()
    LATENCY.labels(app, route).observe(seconds)


class _Tally:
    """One route and status: what ``web.metrics.observe`` would have added since the
    last flush (a request count, the latency sum, the latency histogram's buckets)."""

    __slots__ = ("bounds", "buckets", "count", "counter", "histogram", "total")

    def __init__(self, counter: Any, histogram: Any) -> None:
        self.counter = counter
        self.histogram = histogram
        self.bounds: list[float] = list(histogram._upper_bounds)  # the last is +inf
        self.count = 0
        self.total = 0.0
        self.buckets = [0] * len(self.bounds)

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.buckets[bisect.bisect_left(self.bounds, seconds)] += 1  # first bound >= it

    def flush(self) -> None:
        """Into the Prometheus children: ``Counter.inc(n)``; the histogram's sum and
        buckets as ``Histogram.observe`` keeps them (per-bucket, not cumulative)."""
        if not self.count:
            return
        self.counter.inc(self.count)
        self.histogram._sum.inc(self.total)
        for index, hits in enumerate(self.buckets):
            if hits:
                self.histogram._buckets[index].inc(hits)
                self.buckets[index] = 0
        self.count, self.total = 0, 0.0


class RouteTally:
    """:func:`observe` for a lean ASGI path (D190): a ``Counter.inc`` plus a
    ``Histogram.observe`` cost 4-5 µs a request (a lock each), so requests are tallied per
    (route, status) and added to the same series in one step a second and before every
    ``/metrics`` answer: a scrape sees every request answered before it, none twice."""

    def __init__(self, app: str, method: str = "GET") -> None:
        self.app, self.method = app, method
        self._tallies: dict[tuple[str, int], _Tally] = {}
        self.flushed = time.perf_counter()
        _LIVE.add(self)

    def observe(self, route: str, status: int, seconds: float, now: float) -> None:
        """One request of ``route`` answered ``status`` in ``seconds`` (``now``: the
        ``time.perf_counter()`` it ended at)."""
        tally = self._tallies.get((route, status))
        if tally is None:
            tally = _Tally(
                REQUESTS.labels(self.app, self.method, route, str(status)),
                LATENCY.labels(self.app, route),
            )
            self._tallies[(route, status)] = tally
        tally.count += 1  # tally.observe(seconds), inline
        tally.total += seconds
        tally.buckets[bisect.bisect_left(tally.bounds, seconds)] += 1
        if now - self.flushed >= TALLY_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Every tallied request into the Prometheus series."""
        self.flushed = time.perf_counter()
        for tally in self._tallies.values():
            tally.flush()


_LIVE: weakref.WeakSet[RouteTally] = weakref.WeakSet()


def flush_tallies() -> None:
    """Every live :class:`RouteTally` into the series (before a ``/metrics`` answer)."""
    for tally in list(_LIVE):
        tally.flush()


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task or body buffering)."""

    def __init__(self, app: ASGIApp, *, app_name: str) -> None:
        self.app = app
        self.app_name = app_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            observe(
                self.app_name,
                scope["method"],
                template,
                status,
                time.perf_counter() - started,
            )


async def metrics_endpoint(_request: Request) -> Response:
    flush_tallies()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
