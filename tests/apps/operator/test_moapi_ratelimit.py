"""Rate limiting of the MO API (spec 2.3 429 with a required Retry-After, 5.7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mobileplans.apps.operator.app import OperatorApp
from mobileplans.apps.operator.ratelimit import RateLimiter, TooManyRequests
from mobileplans.config import OperatorSite
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.conftest import BASE_URL, MO_HEADERS, TRANSACTION_ID, Demo, make_site

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def operator_sites() -> list[OperatorSite]:
    return [
        make_site("contoso", rate_limit_per_second=0.5, rate_limit_burst=3),
        make_site("fabrikam", rate_limit_per_second=0.5, rate_limit_burst=3),
    ]


def client_at(app: OperatorApp, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@pytest.fixture
async def second_client(operator_app: OperatorApp) -> AsyncIterator[httpx.AsyncClient]:
    async with client_at(operator_app, "127.0.0.2") as http:
        yield http


async def balance(client: httpx.AsyncClient, sim: str, operator: str = "contoso") -> httpx.Response:
    return await client.get(f"/{operator}/api/v1/sims/iccid:{sim}/balances", headers=MO_HEADERS)


async def test_burst_then_429_with_retry_after_then_recovery(
    operator_client: httpx.AsyncClient, demo: Demo, clock: FrozenClock
) -> None:
    sim = demo.sims().active_prepaid
    assert [(await balance(operator_client, sim)).status_code for _ in range(3)] == [200] * 3
    limited = await balance(operator_client, sim)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"  # one token at 0.5/s
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.headers["X-MS-DM-TransactionId"] == TRANSACTION_ID
    assert limited.json()["status"] == 429
    assert limited.json()["retryAfter"] == 2
    clock.advance(timedelta(seconds=1))
    still = await balance(operator_client, sim)
    assert (still.status_code, still.headers["Retry-After"]) == (429, "1")
    clock.advance(timedelta(seconds=1))
    assert (await balance(operator_client, sim)).status_code == 200
    assert (await balance(operator_client, sim)).status_code == 429


async def test_every_mo_api_route_is_limited_and_errors_count(
    operator_client: httpx.AsyncClient, demo: Demo
) -> None:
    sim = demo.sims().active_prepaid
    base = f"/contoso/api/v1/sims/iccid:{sim}"
    offers = await operator_client.get(f"{base}/offers?limit=1", headers=MO_HEADERS)
    bad = await operator_client.get(f"{base}/balances?limit=-1", headers=MO_HEADERS)
    notes = await operator_client.get(
        f"{base}/notifications?notificationType=lowBalance&limit=1", headers=MO_HEADERS
    )
    assert [offers.status_code, bad.status_code, notes.status_code] == [200, 400, 200]
    assert (await balance(operator_client, sim)).status_code == 429
    # The core-network stand-in is not the MO API: never limited.
    for _ in range(5):
        line = await operator_client.get(f"/contoso/network/lines/{sim}")
        assert line.status_code == 200


async def test_buckets_are_per_client_and_per_operator(
    operator_client: httpx.AsyncClient, second_client: httpx.AsyncClient, demo: Demo
) -> None:
    contoso, fabrikam = demo.sims().active_prepaid, demo.sims("fabrikam").active_prepaid
    for _ in range(3):
        assert (await balance(operator_client, contoso)).status_code == 200
    assert (await balance(operator_client, contoso)).status_code == 429
    assert (await balance(second_client, contoso)).status_code == 200
    assert (await balance(operator_client, fabrikam, "fabrikam")).status_code == 200


def test_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    limiter = RateLimiter()
    key = ("contoso", "127.0.0.1")
    take = lambda at: limiter.take(key, rate=4.0, burst=2, now=at)  # noqa: E731
    assert [take(T0), take(T0), take(T0)] == [None, None, 1]
    assert take(T0 + timedelta(milliseconds=250)) is None  # one token back after 1/4 s
    assert take(T0 + timedelta(milliseconds=250)) == 1
    later = T0 + timedelta(hours=1)  # idle for long: never more than the burst
    assert [take(later), take(later), take(later)] == [None, None, 1]


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    limiter = RateLimiter()
    key = ("contoso", "c")
    assert limiter.take(key, rate=0.3, burst=1, now=T0) is None
    assert limiter.take(key, rate=0.3, burst=1, now=T0) == 4  # 1 / 0.3 = 3.33 s
    with pytest.raises(TooManyRequests) as caught:
        limiter.check(key, rate=0.3, burst=1, now=T0 + timedelta(seconds=3))
    assert caught.value.retry_after == 1
    assert caught.value.problem()["retryAfter"] == 1


def test_clock_going_backwards_grants_nothing_extra() -> None:
    limiter = RateLimiter()
    key = ("contoso", "c")
    assert limiter.take(key, rate=1.0, burst=1, now=T0) is None
    assert limiter.take(key, rate=1.0, burst=1, now=T0 - timedelta(hours=1)) == 1


def test_zero_rate_turns_limiting_off() -> None:
    limiter = RateLimiter()
    assert all(limiter.take(("c", "x"), rate=0, burst=1, now=T0) is None for _ in range(100))
    assert len(limiter) == 0


def test_bucket_table_is_bounded() -> None:
    limiter = RateLimiter(max_clients=10)
    for i in range(25):  # busy clients: none is full, least recently used go first
        limiter.take(("c", f"10.0.0.{i}"), rate=1.0, burst=5, now=T0)
        assert len(limiter) <= 10
    # The most recent client kept its bucket: its second request is counted.
    for _ in range(4):
        assert limiter.take(("c", "10.0.0.24"), rate=1.0, burst=5, now=T0) is None
    assert limiter.take(("c", "10.0.0.24"), rate=1.0, burst=5, now=T0) == 1
