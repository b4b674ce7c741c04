"""Request body limits on every app and security headers on every HTML page, against a
real ``mobileplans up`` on 127.0.0.1 (issue #11, docs/security.md, D235).

Body limits (``web/limits.py``): a body one byte over the app's limit answers 413
``application/problem+json``, whether announced by ``Content-Length`` or sent chunked,
in front of the fast paths too; a chunked body under the limit still reaches the route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mobileplans.web.limits import MAX_BODY_BYTES, MAX_CONFIG_BODY_BYTES
from tests.simulator.stack import Stack, stack_fixture

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async for stack in stack_fixture(tmp_path_factory.mktemp("security")):
        yield stack


def console(stack: Stack) -> str:
    """The console: the port after the SM-DP+'s (``up``'s port block)."""
    assert stack.endpoints.broker
    host, port = stack.endpoints.broker.rsplit(":", 1)
    return f"{host}:{int(port) + 3}"


def apps(stack: Stack) -> dict[str, tuple[str, str, int]]:
    """name: (base URL, a POST path of that app, its limit)."""
    endpoints = stack.endpoints
    assert endpoints.broker
    assert endpoints.operator
    assert endpoints.smdp
    return {
        "broker": (endpoints.broker, "/v1/admin/config", MAX_CONFIG_BODY_BYTES),
        "operator": (endpoints.operator, "/contoso/api/v1/balance", MAX_BODY_BYTES),
        "smdp": (endpoints.smdp, "/gsma/rsp2/es2plus/downloadOrder", MAX_BODY_BYTES),
        "console": (console(stack), "/signin", MAX_BODY_BYTES),
    }


async def chunks(size: int, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        yield b"x" * min(piece, size - sent)
        sent += piece


@pytest.mark.parametrize("app", ["broker", "operator", "smdp", "console"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_answers_413(stack: Stack, app: str, chunked: bool) -> None:
    base, path, limit = apps(stack)[app]
    content: bytes | AsyncIterator[bytes] = chunks(limit + 1) if chunked else b"x" * (limit + 1)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        answer = await client.post(path, content=content)
    assert answer.status_code == 413, answer.text[:300]
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["limit"] == limit


@pytest.mark.parametrize("app", ["broker", "operator", "smdp", "console"])
async def test_a_chunked_body_under_the_limit_reaches_the_route(stack: Stack, app: str) -> None:
    base, path, _limit = apps(stack)[app]
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        answer = await client.post(path, content=chunks(1000, piece=100))
    assert answer.status_code not in (413, 500), answer.text[:300]
    assert answer.status_code < 500


def _check_headers(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html"), response.url
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors" in csp or response.headers.get("x-frame-options") == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in ("no-referrer", "same-origin")


@pytest.mark.parametrize("path", ["/signin", "/", "/no-such-page", "/incidents", "/operators"])
async def test_every_console_page_carries_the_security_headers(stack: Stack, path: str) -> None:
    async with httpx.AsyncClient(base_url=console(stack)) as client:
        page = await client.get(path, follow_redirects=True)  # unsigned: the sign-in page
    _check_headers(page)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "path", ["/contoso/portal/", "/contoso/portal/signin", "/contoso/portal/error"]
)
async def test_every_portal_page_carries_the_security_headers(stack: Stack, path: str) -> None:
    assert stack.endpoints.operator
    async with httpx.AsyncClient(base_url=stack.endpoints.operator) as client:
        page = await client.get(path, follow_redirects=True)
    _check_headers(page)
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
