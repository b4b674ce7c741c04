"""The lean ASGI path answers exactly like the FastAPI routes it stands in front of.

Each request goes once through the broker (fast path on) and once straight to the
FastAPI app; status, the headers that matter and the body must be the same bytes.
Generated identifiers (portal ``transactionId``, ``X-MS-DM-TransactionId``) are new in
every answer, so each is replaced by a placeholder of the same length before comparing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mobileplans.apps.broker.app import BrokerApp, create_app
from mobileplans.apps.broker.fastpath import DeviceFastPath, query_params
from mobileplans.config import Settings
from mobileplans.domains.catalog.schemas import ProviderList
from mobileplans.kit.clock import FrozenClock
from mobileplans.web.metrics import REQUESTS, TALLY_SECONDS
from tests.apps.broker.conftest import ADMIN, TOKEN
from tests.controllable_operator import ControllableOperator
from tests.support import free_port, operator_data, valid_iccid

EID = "89033023422130000000000199055797"
IMEI = "001102000315468"
CONTOSO_SIM = valid_iccid("890199910000000001")
STAGING_SIM = valid_iccid("890199900000000005")
FABRIKAM_SIM = valid_iccid("894499900000000001")
UNKNOWN_SIM = valid_iccid("893399900000000001")
BAD_LUHN = CONTOSO_SIM[:-1] + str((int(CONTOSO_SIM[-1]) + 1) % 10)
HEADERS = ("content-type", "content-length", "retry-after")
_TRANSACTION = re.compile(rb'(transactionId(?:"?:"|=))([A-Za-z0-9]{16}\.1)')
_MS_TRANSACTION = re.compile(rb"MSFT-[0-9a-f-]{36}")


def normalised(body: bytes) -> bytes:
    """The body with every generated identifier replaced by a same-length placeholder."""
    body = _TRANSACTION.sub(lambda m: m.group(1) + b"T" * 16 + b".1", body)
    return _MS_TRANSACTION.sub(b"MSFT-" + b"0" * 36, body)


def shape(response: httpx.Response) -> tuple[int, dict[str, str | None], bytes]:
    headers = {name: response.headers.get(name) for name in HEADERS}
    return response.status_code, headers, normalised(response.content)


@pytest.fixture
async def operator() -> AsyncIterator[ControllableOperator]:
    mo = await ControllableOperator().start()
    yield mo
    await mo.stop()


@pytest.fixture
async def broker(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    operator: ControllableOperator,
) -> AsyncIterator[BrokerApp]:
    local = settings.model_copy(
        update={"url_policy": "local", "balance_cache_seconds": 0, "balance_timeout_seconds": 0.5}
    )
    app = create_app(local, sessions, admin_token=TOKEN, clock=clock)
    await app.state.refresh()
    assert app.state.settings.broker_fast_path
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as h:
        contoso = operator_data(
            environments=("staging", "production"),
            phonePrefixes=["+1425555", "+1206"],
            logo={"uri": "https://cdn.contoso.example/logo.png", "width": 300, "height": 300},
            gatewayTemplates=[{"id": "0", "bodyText": "Stay connected — everywhere."}],
        )
        for env in ("staging", "production"):
            contoso["environments"][env]["moBaseUrl"] = operator.base_url
        fabrikam = operator_data(
            "fabrikam",
            brand="Fabrikam",
            countries=["GB"],
            prefix="8944999",
            phonePrefixes=["+4479"],
        )
        fabrikam["environments"]["production"]["moBaseUrl"] = f"http://127.0.0.1:{free_port()}/v1"
        for data in (contoso, fabrikam):
            response = await h.put(f"/v1/admin/operators/{data['id']}", json=data, headers=ADMIN)
            assert response.status_code == 201, response.text
    yield app
    await app.state.balances.client.close()


async def compare(broker: BrokerApp, paths: list[str]) -> None:
    fast = httpx.AsyncClient(transport=httpx.ASGITransport(app=broker), base_url="http://b")
    slow = httpx.AsyncClient(transport=httpx.ASGITransport(app=broker.api), base_url="http://b")
    async with fast, slow:
        for path in paths:
            a, b = shape(await fast.get(path)), shape(await slow.get(path))
            assert a == b, path


PROVIDER_PATHS = [
    "/v1/providers?location=US",
    "/v1/providers?location=us&market=GB&environment=staging",
    f"/v1/providers?location=US&eid={EID}&imei={IMEI}&iccids={CONTOSO_SIM}F,%20{FABRIKAM_SIM}",
    f"/v1/providers?location=US&iccid={CONTOSO_SIM}&imei={IMEI}",
    "/v1/providers?location=UK",
    "/v1/providers?location=JP",
    "/v1/providers?location=GB&location=US",
    "/v1/providers?location=US&market=",
    "/v1/providers?location=US&unknown=1",
    # invalid: each is FastAPI's (or the domain's) 400/404, never a launch
    "/v1/providers",
    "/v1/providers?location=",
    "/v1/providers?location=XX",
    "/v1/providers?location=USA",
    "/v1/providers?location=US&market=ZZ",
    "/v1/providers?location=US&imei=001102000315469",
    f"/v1/providers?location=US&eid={EID[:-1]}8",
    "/v1/providers?location=US&iccids=123",
    f"/v1/providers?location=US&iccids={CONTOSO_SIM},,",
    f"/v1/providers?location=US&iccid={CONTOSO_SIM}&eid={EID}",
    "/v1/providers?location=US&environment=dev",
    "/v1/providers?location=US&environment=",
    f"/v1/providers?location=US&iccid={UNKNOWN_SIM}",
    f"/v1/providers?location=US&iccid={BAD_LUHN}",
]


async def test_providers_fast_path_answers_like_the_fastapi_route(broker: BrokerApp) -> None:
    await compare(broker, PROVIDER_PATHS)


async def test_sims_fast_path_answers_like_the_fastapi_route(broker: BrokerApp) -> None:
    await compare(
        broker,
        [
            f"/v1/sims/{CONTOSO_SIM}",
            f"/v1/sims/{STAGING_SIM}?environment=staging",
            f"/v1/sims/{CONTOSO_SIM}?environment=",
            f"/v1/sims/{CONTOSO_SIM}?environment=dev",
            "/v1/sims/123",
            f"/v1/sims/{UNKNOWN_SIM}",
            f"/v1/sims/{BAD_LUHN}",
        ],
    )


async def test_phone_numbers_fast_path_answers_like_the_fastapi_route(broker: BrokerApp) -> None:
    await compare(
        broker,
        [
            "/v1/phone-numbers/+14255550100",
            "/v1/phone-numbers/%2B14255550100",
            "/v1/phone-numbers/+12065550100?environment=staging",
            "/v1/phone-numbers/+447911123456",  # Fabrikam: production only
            "/v1/phone-numbers/+447911123456?environment=staging",  # 404 there
            "/v1/phone-numbers/+33612345678",  # nobody's: 404
            "/v1/phone-numbers/14255550100",  # no +: 400 naming phoneNumber
            "/v1/phone-numbers/+1425",
            "/v1/phone-numbers/hello",
            "/v1/phone-numbers/%252B14255550100",
            "/v1/phone-numbers/+14255550100?environment=dev",
            "/v1/phone-numbers/+14255550100?environment=",
            "/v1/phone-numbers/",
            "/v1/phone-numbers/+14255550100/x",
        ],
    )


BALANCE_PATHS = [
    f"/v1/balances?iccid={CONTOSO_SIM}",
    f"/v1/balances?iccid={CONTOSO_SIM}F&location=us",
    f"/v1/balances?iccid={STAGING_SIM}&environment=staging",
    f"/v1/balances?iccid={FABRIKAM_SIM}",  # nothing listens at Fabrikam's MO API: 502
    f"/v1/balances?iccid={UNKNOWN_SIM}",
    f"/v1/balances?iccid={BAD_LUHN}",
    "/v1/balances?iccid=12",
    "/v1/balances",
    "/v1/balances?iccid=",
    f"/v1/balances?iccid={CONTOSO_SIM}&location=XX",
    f"/v1/balances?iccid={CONTOSO_SIM}&location=",
    f"/v1/balances?iccid={CONTOSO_SIM}&environment=dev",
]


@pytest.mark.parametrize(
    ("mode", "status"), [("healthy", 200), ("status", 404), ("status", 500), ("garbage", 200)]
)
async def test_balances_fast_path_answers_like_the_fastapi_route(
    broker: BrokerApp, operator: ControllableOperator, mode: str, status: int
) -> None:
    operator.mode, operator.status = mode, status
    await compare(broker, BALANCE_PATHS)


async def test_balances_rate_limited_answers_alike_with_retry_after(
    broker: BrokerApp, operator: ControllableOperator, clock: FrozenClock
) -> None:
    operator.mode, operator.retry_after = "ratelimit", 30
    path = f"/v1/balances?iccid={CONTOSO_SIM}"
    fast = httpx.AsyncClient(transport=httpx.ASGITransport(app=broker), base_url="http://b")
    slow = httpx.AsyncClient(transport=httpx.ASGITransport(app=broker.api), base_url="http://b")
    async with fast, slow:
        first = shape(await fast.get(path))
        held_fast = shape(await fast.get(path))
        clock.advance(timedelta(seconds=31))  # the hold-off is over: the operator is asked again
        second = shape(await slow.get(path))
        held_slow = shape(await slow.get(path))
    assert first == second
    assert first[0] == 503
    assert first[1]["retry-after"] == "30"
    assert held_fast == held_slow
    assert len(operator.requests) == 2


async def test_provider_answers_match_the_documented_schema(broker: BrokerApp) -> None:
    """The providers body is built by hand now (no response model on the way): it must
    still be what the OpenAPI schema ``ProviderList`` documents, field for field. (The
    balance body is ``BalanceAnswer.wire()`` itself.)"""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=broker), base_url="http://b"
    ) as http:
        providers = (
            await http.get(
                "/v1/providers", params={"location": "US", "eid": EID, "iccids": CONTOSO_SIM}
            )
        ).json()
    assert providers["providers"][0]["logo"]["width"] == 300
    assert ProviderList.model_validate(providers).model_dump(by_alias=True) == providers


def counted(route: str, status: int) -> float:
    return float(REQUESTS.labels("broker", "GET", route, str(status))._value.get())


async def test_fast_path_requests_are_counted_once_by_the_next_scrape(broker: BrokerApp) -> None:
    """The fast path tallies its requests (D294): a ``/metrics`` answer includes every one
    answered before it, under the FastAPI route's labels, and none twice."""
    sims, providers = "/v1/sims/{iccid}", "/v1/providers"
    before = (counted(sims, 200), counted(sims, 404), counted(providers, 200))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=broker), base_url="http://b"
    ) as h:
        for _ in range(3):
            assert (await h.get(f"/v1/sims/{CONTOSO_SIM}")).status_code == 200
        assert (await h.get(f"/v1/sims/{UNKNOWN_SIM}")).status_code == 404
        assert (await h.get("/v1/providers?location=US")).status_code == 200
        text = (await h.get("/metrics")).text
        text_again = (await h.get("/metrics")).text
    after = (counted(sims, 200), counted(sims, 404), counted(providers, 200))
    assert [a - b for a, b in zip(after, before, strict=True)] == [3, 1, 1]
    line = f'app="broker",method="GET",route="{sims}",status="200"}} {after[0]}'
    assert line in text
    assert line in text_again  # a second scrape adds nothing


async def test_fast_path_tally_reaches_the_series_within_a_second(broker: BrokerApp) -> None:
    assert isinstance(broker, DeviceFastPath)  # the outer callable is the fast path (D304)
    tally = broker.metrics
    route, before = "/v1/providers", counted("/v1/providers", 429)
    tally.observe(route, 429, 0.002, now=tally.flushed)  # tallied, not yet in the series
    assert counted(route, 429) == before
    tally.observe(route, 429, 0.002, now=tally.flushed + TALLY_SECONDS)  # a second on: added
    assert counted(route, 429) == before + 2


_QUERY_CHARS = st.sampled_from(
    ["a", "iccid", "8", "=", "&", ";", "%", "%4", "%41", "+", " ", "é", ""]
)


@given(parts=st.lists(_QUERY_CHARS, max_size=12))
def test_query_params_read_a_query_as_starlette_does(parts: list[str]) -> None:
    """The split for unescaped queries gives what ``parse_qsl`` (Starlette's reading)
    gives, escaped or not."""
    raw = "".join(parts).encode("latin-1")
    expected = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
    assert query_params({"query_string": raw}) == expected


async def test_with_the_fast_path_off_every_request_goes_to_fastapi(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """``MP_BROKER_FAST_PATH=false``: the outer callable hands everything to FastAPI (its
    own tally stays empty; the FastAPI route answers, with its own metrics)."""
    off = settings.model_copy(update={"broker_fast_path": False})
    app = create_app(off, sessions, admin_token=TOKEN, clock=clock)
    await app.state.refresh()
    before = counted("/v1/sims/{iccid}", 404)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as h:
        response = await h.get(f"/v1/sims/{UNKNOWN_SIM}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert app.metrics._tallies == {}  # the fast path answered nothing
    assert counted("/v1/sims/{iccid}", 404) == before + 1  # FastAPI's middleware counted it
