"""Prometheus metrics for every app: request counts and latency by route template."""

from __future__ import annotations

import time
from typing import Any

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


def observe(app: str, method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(app, method, route, str(status)).inc()
    LATENCY.labels(app, route).observe(seconds)


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
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
