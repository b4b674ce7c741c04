"""A controllable operator endpoint for probe tests, on a real socket (HTTP or HTTPS).

Serves a portal page (``/{op}/portal``), GetBalance (``/{op}/v1/sims/{id}/balances``) and
the DM microbalance resource (``PUT``/``DELETE /{op}/v1/sims/{id}/microbalance``). ``mode``
makes it healthy, slow, failing with a status, answering garbage or an empty body,
redirecting, or cutting the body short; ``requests`` records what the prober sent.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from mobileplans.kit.certs import issue_client, issue_server, make_ca
from tests.support import free_port

BALANCES = {
    "balances": [
        {"id": "1", "type": "MODIRECTPAYG", "dataRemaininginMB": 512.0, "timeRemaining": "P2D"}
    ]
}


@dataclass
class Pki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as files."""

    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    @classmethod
    def make(cls, directory: Path) -> Pki:
        now = datetime.now(UTC)  # the TLS stack checks validity against the real time
        ca = make_ca(now=now)
        ca_files = ca.write(directory, "ca")
        server = issue_server(ca, now=now).write(directory, "server")
        client = issue_client(ca, "CN=prober.mobileplans.example", now=now).write(
            directory, "client"
        )
        return cls(
            ca_files.cert_file,
            server.cert_file,
            server.key_file,
            client.cert_file,
            client.key_file,
        )

    def server_context(
        self, *, require_client_cert: bool = False, tls12: bool = False
    ) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if tls12:  # TLS 1.2 refuses a missing client certificate inside the handshake
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        if require_client_cert:
            context.load_verify_locations(cafile=self.ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context


@dataclass
class ControllableTarget:
    mode: str = "healthy"  # healthy | slow | status | garbage | empty | redirect | truncated
    status: int = 503
    delay: float = 0.0
    balances: dict[str, Any] = field(default_factory=lambda: dict(BALANCES))
    ssl_context: ssl.SSLContext | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def portal_url(self, op: str = "contoso") -> str:
        return f"{self.base}/{op}/portal"

    def mo_base_url(self, op: str = "contoso") -> str:
        return f"{self.base}/{op}/v1"

    async def _answer(self, request: web.Request, healthy: web.StreamResponse) -> Any:
        body = await request.read()
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "body": body,
            }
        )
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "status":
            return web.json_response({"error": "injected"}, status=self.status)
        if self.mode == "garbage":
            return web.Response(text="<html>oops</html>", content_type="text/html")
        if self.mode == "empty":
            return web.Response(body=b"", content_type="text/html")
        if self.mode == "redirect":
            raise web.HTTPFound(location=request.path_qs)  # to itself: a loop
        if self.mode == "truncated":
            return await self._truncated(request)
        return healthy

    async def _truncated(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"balances": [')
        assert request.transport is not None
        request.transport.close()
        return response

    async def _portal(self, request: web.Request) -> Any:
        page = web.Response(text="<html><main>portal</main></html>", content_type="text/html")
        return await self._answer(request, page)

    async def _balances(self, request: web.Request) -> Any:
        return await self._answer(request, web.json_response(self.balances))

    async def _microbalance(self, request: web.Request) -> Any:
        return await self._answer(request, web.json_response({}))

    async def start(self) -> ControllableTarget:
        app = web.Application()
        app.router.add_get("/{op}/portal", self._portal)
        app.router.add_get("/{op}/v1/sims/{sim}/balances", self._balances)
        app.router.add_put("/{op}/v1/sims/{sim}/microbalance", self._microbalance)
        app.router.add_delete("/{op}/v1/sims/{sim}/microbalance", self._microbalance)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        self.port = self.port or free_port()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context)
        await site.start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
