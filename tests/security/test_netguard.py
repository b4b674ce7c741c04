"""Connect-time SSRF guard (docs/security.md, D248): names resolving to internal addresses
and redirects to them are refused under the strict policy, allowed under the local one.
Real sockets on 127.0.0.1; DNS is a stub resolver injected into the guard's resolver."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from mobileplans.kit import netguard
from mobileplans.kit.netguard import RefusedAddress, guarded_connector, refuses_internal


class StubDns(AbstractResolver):
    """Answers every name from a fixed table (no network)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def resolve(self, host: str, port: int = 0, family: Any = 0) -> list[ResolveResult]:
        if host not in self.table:
            raise OSError(f"no such name {host}")
        return [
            ResolveResult(
                hostname=host,
                host=a,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in self.table[host]
        ]

    async def close(self) -> None:
        return None


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


@pytest.fixture
async def target() -> AsyncIterator[tuple[int, list[str]]]:
    """The 'internal' server a forged request would reach; records every hit."""
    hits: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="internal")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner, port = await _serve(app)
    yield port, hits
    await runner.cleanup()


async def test_name_resolving_to_loopback_is_refused_under_strict(
    target: tuple[int, list[str]],
) -> None:
    port, hits = target
    dns = StubDns({"public.example": ["127.0.0.1"]})
    connector = guarded_connector(strict=True, inner=dns)
    async with aiohttp.ClientSession(connector=connector) as http:
        with pytest.raises(aiohttp.ClientError, match="server-side request forgery"):
            await http.get(f"http://public.example:{port}/secret")
    assert hits == []


async def test_name_resolving_to_loopback_is_allowed_under_local(
    target: tuple[int, list[str]],
) -> None:
    port, hits = target
    dns = StubDns({"public.example": ["127.0.0.1"]})
    async with aiohttp.ClientSession(connector=guarded_connector(strict=False, inner=dns)) as http:
        async with http.get(f"http://public.example:{port}/ok") as response:
            assert await response.text() == "internal"
    assert hits == ["/ok"]


async def test_mixed_answer_keeps_only_global_addresses() -> None:
    dns = StubDns({"mixed.example": ["10.0.0.7", "93.184.216.34", "169.254.169.254"]})
    resolver = netguard.GuardedResolver(dns)
    answers = await resolver.resolve("mixed.example", 443)
    assert [a["host"] for a in answers] == ["93.184.216.34"]
    with pytest.raises(RefusedAddress):
        await netguard.GuardedResolver(StubDns({"x.example": ["::1", "10.1.2.3"]})).resolve(
            "x.example", 443
        )


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost", "2130706433"])
async def test_ip_literal_hosts_are_refused_under_strict(host: str) -> None:
    async with aiohttp.ClientSession(connector=guarded_connector(strict=True)) as http:
        with pytest.raises(RefusedAddress):
            await http.get(f"http://{host}:9/")


async def _redirector(location: str) -> tuple[web.AppRunner, int]:
    async def handle(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    app = web.Application()
    app.router.add_get("/", handle)
    return await _serve(app)


@pytest.mark.parametrize("via_name", [False, True])
async def test_redirect_to_internal_address_is_not_followed_under_strict(
    target: tuple[int, list[str]], via_name: bool
) -> None:
    port, hits = target
    host = "internal.example" if via_name else "127.0.0.1"
    runner, allowed_port = await _redirector(f"http://{host}:{port}/metadata")

    def refuses(address: str, at_port: int) -> bool:
        """Exactly the redirecting server is allowed (it stands for a public one)."""
        return at_port != allowed_port and refuses_internal(address, at_port)

    dns = StubDns({"internal.example": ["127.0.0.1"], "public.example": ["127.0.0.1"]})
    try:
        connector = guarded_connector(strict=True, refuses=refuses, inner=dns)
        async with aiohttp.ClientSession(connector=connector) as http:
            with pytest.raises(RefusedAddress):
                await http.get(f"http://public.example:{allowed_port}/")
        assert hits == []
        # the same redirect under the local policy is followed: the test would see it
        connector = guarded_connector(strict=False, inner=dns)
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(f"http://public.example:{allowed_port}/") as response:
                assert response.status == 200
        assert hits == ["/metadata"]
    finally:
        await runner.cleanup()


async def test_process_policy_chooses_the_connector() -> None:
    before = netguard.is_enforced()
    try:
        netguard.enforce(strict=True)
        strict = guarded_connector()
        netguard.enforce(strict=False)
        local = guarded_connector()
        assert isinstance(strict, netguard.GuardedConnector)
        assert not isinstance(local, netguard.GuardedConnector)
        await strict.close()
        await local.close()
    finally:
        netguard.enforce(strict=before)


async def test_enforce_in_a_task_is_scoped_to_it() -> None:
    """``serve``/``worker run`` call enforce in their own loop's task: no leak outward."""

    async def command() -> bool:
        netguard.enforce(strict=True)
        inner = guarded_connector()
        await inner.close()
        return isinstance(inner, netguard.GuardedConnector)

    assert await asyncio.create_task(command())
    assert not netguard.is_enforced()


async def test_the_mo_api_client_is_guarded_when_the_policy_is_enforced(
    target: tuple[int, list[str]],
) -> None:
    """A real platform client, as ``serve``/``worker run`` build it inside their loop."""
    from mobileplans.domains.balance.mo_client import MoApiClient

    port, hits = target

    async def call(strict: bool) -> tuple[str, str]:
        netguard.enforce(strict=strict)
        client = MoApiClient(timeout_seconds=5)
        try:
            result = await client.get_balances(
                f"http://127.0.0.1:{port}/mo/", "8901000000000000001", transaction_id="t-1"
            )
        finally:
            await client.close()
        return result.outcome, result.detail

    outcome, detail = await asyncio.create_task(call(True))
    assert outcome == "connect_error"
    assert "server-side request forgery" in detail
    assert hits == []
    await asyncio.create_task(call(False))
    assert len(hits) == 1


def test_every_outgoing_aiohttp_client_is_built_with_the_guard() -> None:
    """No ``aiohttp.TCPConnector(`` and no ``aiohttp.ClientSession(`` without a connector
    anywhere in the package but kit/netguard.py (D251)."""
    import ast
    from pathlib import Path

    import mobileplans

    root = Path(mobileplans.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "netguard.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = ast.unparse(node.func)
            unguarded = name == "aiohttp.TCPConnector" or (
                name == "aiohttp.ClientSession"
                and not any(k.arg == "connector" for k in node.keywords)
            )
            if unguarded:
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
