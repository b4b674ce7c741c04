"""A controllable stand-in for a third-party operator's MO API, on a real socket.

Tests set ``mode`` to make it healthy, slow, failing, rate-limiting or talking
garbage, and read ``requests`` to see exactly what the platform sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support import free_port

HEALTHY_BODY = {
    "balances": [
        {
            "id": "1",
            "type": "MODIRECTPAYG",
            "dataRemaininginMB": 1536.0,
            "timeRemaining": "P23DT23H",
        }
    ]
}


@dataclass
class ControllableOperator:
    mode: str = "healthy"  # healthy | slow | status | garbage | ratelimit
    status: int = 500
    delay: float = 0.0
    retry_after: int = 30
    body: dict[str, Any] = field(default_factory=lambda: dict(HEALTHY_BODY))
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _balances(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            {"path": request.path, "query": dict(request.query), "headers": dict(request.headers)}
        )
        echo = {"X-MS-DM-TransactionId": request.headers.get("X-MS-DM-TransactionId", "")}
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "status":
            return web.json_response({"error": "injected"}, status=self.status, headers=echo)
        if self.mode == "ratelimit":
            return web.json_response(
                {"error": "slow down"},
                status=429,
                headers={**echo, "Retry-After": str(self.retry_after)},
            )
        if self.mode == "garbage":
            return web.Response(text="<html>oops</html>", content_type="text/html", headers=echo)
        return web.json_response(self.body, headers=echo)

    async def start(self) -> ControllableOperator:
        app = web.Application()
        app.router.add_get("/v1/sims/{sim_id}/balances", self._balances)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
