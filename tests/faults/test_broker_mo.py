"""Hop broker → MO API (GetBalance proxy, ``GET /v1/balances``) through the fault proxy.

A real ``mobileplans up`` on free ports; the demo operator contoso's ``moBaseUrl`` is
pointed at a fault proxy in front of the operator part (port N+1). Every fault must give
the flyout a problem+json with the status ``domains/balance/service.py`` and
docs/api.md document (502, or 504 past ``MP_BALANCE_TIMEOUT_SECONDS``), never a 500; a
cached answer is served while it is fresh; a failure is not cached, so the first call
after the fault clears reaches the operator again.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from mobileplans.cli.demo import demo_sim
from mobileplans.cli.demo_operator import PREFIX
from tests.faults.proxy import Fault, ProxyThread
from tests.simulator.stack import Stack, stack_fixture

pytestmark = pytest.mark.e2e

SIM = demo_sim(PREFIX["contoso"], "active_prepaid")
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async for stack in stack_fixture(tmp_path_factory.mktemp("faults-broker")):
        yield stack


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _point_contoso_at(stack: Stack, base: str) -> None:
    """PUT contoso with ``moBaseUrl`` at ``base`` and wait until the broker's snapshot has it."""
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    url = f"{stack.endpoints.broker}/v1/admin/operators/contoso"
    data: dict[str, Any] = httpx.get(url, headers=headers, timeout=10).json()
    data["environments"]["production"]["moBaseUrl"] = f"{base}/contoso/api/v1"
    assert httpx.put(url, json=data, headers=headers, timeout=10).status_code == 200


@pytest.fixture(scope="module")
def proxy(stack: Stack) -> Iterator[ProxyThread]:
    assert stack.endpoints.operator
    threaded = ProxyThread(_port(stack.endpoints.operator))
    _point_contoso_at(stack, threaded.proxy.url())
    yield threaded
    threaded.close()


def _balance(stack: Stack, location: str) -> httpx.Response:
    return httpx.get(
        f"{stack.endpoints.broker}/v1/balances",
        params={"iccid": SIM, "location": location},
        timeout=30,
    )


def _through_proxy(stack: Stack, proxy: ProxyThread, location: str) -> httpx.Response:
    """The first answer that went through the proxy (the PUT reaches every replica's snapshot
    within the config poll; until then the broker still calls the operator directly)."""
    for _ in range(200):
        before = proxy.proxy.accepted
        response = _balance(stack, location)
        if proxy.proxy.accepted > before:
            return response
        time.sleep(0.1)
    raise AssertionError("the broker never called through the proxy")


def _assert_problem(response: httpx.Response, status: int, outcome: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["operatorId"] == "contoso"
    assert body["upstreamOutcome"] == outcome
    assert "contoso" in body["detail"]


def test_pass_answers_the_balance(stack: Stack, proxy: ProxyThread) -> None:
    proxy.set(Fault.PASS)
    response = _through_proxy(stack, proxy, "US")
    assert response.status_code == 200, response.text
    assert response.json()["balances"]


@pytest.mark.parametrize(
    ("fault", "knobs", "status", "outcome"),
    [
        (Fault.REFUSE, {}, 502, "connect_error"),
        (Fault.RESET, {"reset_after": 40}, 502, "connect_error"),
        (Fault.TRUNCATE, {"truncate_after": 5}, 502, "bad_body"),  # was connect_error
        (Fault.GARBAGE, {"garbage_bytes": 300}, 502, "bad_body"),
        (Fault.DELAY, {"delay_seconds": 4}, 504, "timeout"),
    ],
)
def test_each_fault_is_a_clear_problem_never_a_500(
    stack: Stack,
    proxy: ProxyThread,
    fault: Fault,
    knobs: dict[str, float],
    status: int,
    outcome: str,
) -> None:
    proxy.set(fault, **knobs)
    location = {"refuse": "CA", "reset": "MX", "truncate": "GB", "garbage": "FR", "delay": "DE"}
    _assert_problem(_through_proxy(stack, proxy, location[fault.value]), status, outcome)
    proxy.set(Fault.PASS)
    again = _through_proxy(stack, proxy, location[fault.value])
    assert again.status_code == 200, again.text  # the failure was not cached
    assert again.json()["cached"] is False


def test_wrong_content_type_with_a_valid_body_is_read_as_json(
    stack: Stack, proxy: ProxyThread
) -> None:
    """D230: the broker reads a GetBalance body by its content, not its declared type."""
    proxy.set(Fault.WRONG_TYPE)
    response = _through_proxy(stack, proxy, "IT")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    proxy.set(Fault.PASS)


def test_a_fresh_cached_answer_is_served_while_the_operator_fails(
    stack: Stack, proxy: ProxyThread
) -> None:
    proxy.set(Fault.PASS)
    assert _through_proxy(stack, proxy, "ES").status_code == 200
    proxy.set(Fault.REFUSE)
    before = proxy.proxy.accepted
    cached = _balance(stack, "ES")
    assert cached.status_code == 200
    assert cached.json()["cached"] is True
    assert proxy.proxy.accepted == before  # served without calling the operator
    proxy.set(Fault.PASS)


def test_bad_tls_certificate_is_a_502_naming_tls(stack: Stack, proxy: ProxyThread) -> None:
    proxy.set(Fault.BAD_TLS)
    _point_contoso_at(stack, proxy.proxy.url("https"))
    try:
        _assert_problem(_through_proxy(stack, proxy, "NL"), 502, "tls_error")
    finally:
        proxy.set(Fault.PASS)
        _point_contoso_at(stack, proxy.proxy.url())


def test_the_broker_log_has_no_traceback(stack: Stack, proxy: ProxyThread) -> None:
    assert "Traceback" not in "".join(stack.output), stack.log_tail()
