"""Broker token failures (issue #11, D249-D250): a wrong bearer token on the admin or
operations API is audited (a SHA-256 prefix, never the token) and counted per client IP;
past the burst the IP gets 429 problem+json with ``Retry-After`` until its bucket refills."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import BrokerApp
from mobileplans.apps.broker.ratelimit import TokenFailureLimiter
from mobileplans.cli.serve_cmd import openapi_document
from mobileplans.domains.audit import service as audit_service
from mobileplans.domains.audit.schemas import AuditEntryRead
from mobileplans.kit.clock import FrozenClock
from tests.apps.broker.conftest import ADMIN, broker, client  # noqa: F401 (fixtures)

WRONG = "wrong-token-" + "x" * 40


async def _audit(sessions: async_sessionmaker[AsyncSession]) -> list[AuditEntryRead]:
    async with sessions() as session:
        entries = await audit_service.list_entries(session, limit=1000)
    return [e for e in entries if e.action == "broker.token_rejected"]


@pytest.mark.parametrize("path", ["/v1/admin/operators", "/v1/incidents"])
async def test_each_wrong_token_is_audited_without_the_token(
    client: httpx.AsyncClient,  # noqa: F811
    sessions: async_sessionmaker[AsyncSession],
    path: str,
) -> None:
    response = await client.get(path, headers={"Authorization": f"Bearer {WRONG}"})
    assert response.status_code == 401
    (entry,) = await _audit(sessions)
    assert entry.entity_type == "broker_token"
    assert entry.entity_id == "127.0.0.1"
    assert entry.after == {
        "path": path,
        "method": "GET",
        "tokenSha256Prefix": hashlib.sha256(WRONG.encode()).hexdigest()[:12],
    }
    assert "wrong-token" not in repr(entry)
    # a missing token is not a guess: 401, not counted, not audited
    assert (await client.get(path)).status_code == 401
    assert len(await _audit(sessions)) == 1


async def test_past_the_burst_the_ip_gets_429_with_retry_after_until_refilled(
    client: httpx.AsyncClient,  # noqa: F811
    broker: BrokerApp,  # noqa: F811
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    burst = TokenFailureLimiter().burst
    bad = {"Authorization": f"Bearer {WRONG}"}
    for _ in range(int(burst)):
        assert (await client.get("/v1/admin/operators", headers=bad)).status_code == 401
    limited = await client.get("/v1/admin/operators", headers=bad)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["status"] == 429
    assert int(limited.headers["Retry-After"]) == 6  # one token at 10 per minute
    # the right token is refused too while the bucket is empty (the guessing stops) ...
    assert (await client.get("/v1/admin/operators", headers=ADMIN)).status_code == 429
    # ... on the operations API as well; 429s are not audited (the rate bounds the rows)
    assert (await client.get("/v1/incidents", headers=bad)).status_code == 429
    assert len(await _audit(sessions)) == burst
    clock.advance(timedelta(seconds=6))
    assert (await client.get("/v1/admin/operators", headers=ADMIN)).status_code == 200
    assert (await client.get("/v1/admin/operators", headers=bad)).status_code == 401
    assert (await client.get("/v1/admin/operators", headers=bad)).status_code == 429


def test_limiter_buckets_are_per_client_and_bounded() -> None:
    limiter = TokenFailureLimiter(burst=2, per_minute=60, max_clients=2)
    for _ in range(2):
        limiter.failed("a", 0.0)
    assert limiter.retry_after("a", 0.0) == 1
    assert limiter.retry_after("b", 0.0) is None
    assert limiter.retry_after("a", 1.0) is None  # refilled one
    limiter.failed("b", 0.0)
    limiter.failed("c", 0.0)  # "a" is the least recently used: dropped
    assert limiter.retry_after("a", 0.0) is None


def test_openapi_documents_429_on_the_authenticated_apis() -> None:
    paths = openapi_document("broker")["paths"]
    assert "429" in paths["/v1/admin/operators"]["get"]["responses"]
    assert "429" in paths["/v1/incidents"]["get"]["responses"]
