"""Hop operator → SM-DP+ (ES2+ downloadOrder/confirmOrder during a purchase) through the
fault proxy.

A real ``mobileplans up`` seeds the demo and runs the SM-DP+ (port N+2). A second operator
process (``mobileplans serve operator``, same database) is configured with its ES2+ URL at
a fault proxy in front of that SM-DP+, and the registry points contoso's portal at it.
The simulator's ``first-run-esim`` journey then buys a plan through it while the proxy
fails the ES2+ calls. docs/portal.md "Orders": an unreachable SM-DP+ (after two retries)
fails the order (``failed``, nothing credited, no line), a profile already reserved is
given back, and the portal shows an error page that still calls the app
(``notifyCancelledPurchase`` / ``ServiceError``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from mobileplans.cli.demo_smdp import requester_id
from mobileplans.cli.endpoints import DELAY_MINUTE_SECONDS
from mobileplans.db.engine import make_engine
from mobileplans.simulator.runlog import ScenarioRun
from mobileplans.simulator.runner import run_scenarios
from mobileplans.simulator.scenarios import SCENARIOS
from tests.faults.proxy import Fault, ProxyThread
from tests.simulator.stack import Stack, _wait_healthy, explain, free_port_block, stack_fixture
from tests.support import pg_url

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults-smdp")


@pytest.fixture(scope="module")
async def stack(data_dir: Path) -> AsyncIterator[Stack]:
    async for stack in stack_fixture(data_dir):
        yield stack


def database_url(data_dir: Path) -> str:
    return pg_url() or f"sqlite+aiosqlite:///{data_dir / 'mobileplans.db'}"


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture(scope="module")
def proxy(stack: Stack) -> Iterator[ProxyThread]:
    assert stack.endpoints.smdp
    threaded = ProxyThread(_port(stack.endpoints.smdp))
    yield threaded
    threaded.close()


@pytest.fixture(scope="module")
def side_operator(stack: Stack, proxy: ProxyThread, data_dir: Path) -> Iterator[str]:
    """``mobileplans serve operator`` whose ES2+ calls go through the proxy."""
    port = free_port_block(1)
    base = f"http://127.0.0.1:{port}"
    config = {
        "public_base_url": base,
        "session_secret": "fault-tests-only",
        "sites": [
            {
                "operator_id": "contoso",
                "brand_name": "Contoso Cellular",
                "countries": ["US"],
                "es2plus_url": proxy.proxy.url(),
                "es2plus_requester_id": requester_id("contoso"),
                "download_delay_minute_seconds": DELAY_MINUTE_SECONDS,
            }
        ],
    }
    config_file = data_dir / "side-operator.json"
    config_file.write_text(json.dumps(config))
    # Loopback URLs (the proxy): the local policy, as up keeps it in its own data directory.
    env = {**os.environ, "MP_DATABASE_URL": database_url(data_dir), "MP_URL_POLICY": "local"}
    command = [sys.executable, "-m", "mobileplans.cli.main", "serve", "operator"]
    process = subprocess.Popen(
        [
            *command,
            "--config",
            str(config_file),
            "--port",
            str(port),
            "--data-dir",
            str(data_dir / "side"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(base)
        _point_portal_at(stack, base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _point_portal_at(stack: Stack, base: str) -> None:
    """contoso's portal (and the host its calls to the app come from, spec 2.2) at ``base``."""
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    url = f"{stack.endpoints.broker}/v1/admin/operators/contoso"
    data: dict[str, Any] = httpx.get(url, headers=headers, timeout=10).json()
    production = data["environments"]["production"]
    production["portalUrl"] = f"{base}/contoso/portal/"
    production["notificationUri"] = f"{base}/contoso/api/v1/"
    production["callbackHosts"] = [base]
    assert httpx.put(url, json=data, headers=headers, timeout=10).status_code == 200


async def _buy(stack: Stack) -> ScenarioRun:
    runs = await run_scenarios(
        [SCENARIOS["first-run-esim"]], stack.endpoints, operator_id="contoso", time_limit=45
    )
    return runs[0]


async def _rows(data_dir: Path, sql: str) -> list[Any]:
    engine = make_engine(database_url(data_dir), process_name="tests-faults")
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql))).all())
    finally:
        await engine.dispose()


ORDERS = (
    "SELECT id, status, iccid, eid, failure FROM mo_orders"
    " WHERE operator_id = 'contoso' ORDER BY created_at DESC"
)


def _call_into_app(run: ScenarioRun) -> str:
    step = run.step_named("callback")
    assert step is not None, "the portal made no call into the app"
    return step.detail


def _last_order(data_dir: Path) -> Any:
    return asyncio.run(_rows(data_dir, ORDERS))[0]


def _profiles_of(data_dir: Path, eid: str) -> list[Any]:
    sql = f"SELECT iccid, state FROM smdp_profiles WHERE eid = '{eid}'"
    return asyncio.run(_rows(data_dir, sql))


def _credit_of(data_dir: Path, eid: str) -> list[Any]:
    sql = f"SELECT iccid FROM mo_lines WHERE eid = '{eid}'"
    return asyncio.run(_rows(data_dir, sql))


def test_pass_buys_a_plan_through_the_proxy(
    stack: Stack, proxy: ProxyThread, side_operator: str
) -> None:
    proxy.set(Fault.PASS)
    before = proxy.proxy.forwarded
    run = asyncio.run(_buy(stack))
    assert not run.failed, explain([run], stack)
    assert proxy.proxy.forwarded >= before + 2  # downloadOrder and confirmOrder went through it


def test_smdp_refusing_fails_the_order_cleanly_after_retries(
    stack: Stack, proxy: ProxyThread, side_operator: str, data_dir: Path
) -> None:
    """docs/portal.md "Orders": unreachable after two retries → order failed, nothing
    credited, no line, an error page that still calls the app (ServiceError)."""
    proxy.set(Fault.REFUSE)
    before = proxy.proxy.accepted
    try:
        run = asyncio.run(_buy(stack))
    finally:
        proxy.set(Fault.PASS)
    assert "notifyCancelledPurchase" in _call_into_app(run), explain([run], stack)
    assert "moDirectStatus=ServiceError" in _call_into_app(run)
    assert proxy.proxy.accepted - before == 3  # the first try and two retries, then it gave up
    order = _last_order(data_dir)
    assert order.status == "failed"
    assert "downloadOrder" in order.failure
    assert order.iccid is None
    assert _credit_of(data_dir, order.eid) == []  # no line, nothing credited
    assert _profiles_of(data_dir, order.eid) == []  # the SM-DP+ never reserved one


@pytest.mark.parametrize("fault", [Fault.RESET, Fault.TRUNCATE, Fault.GARBAGE])
def test_a_lost_es2plus_answer_fails_the_order_without_a_charge_or_a_second_profile(
    stack: Stack, proxy: ProxyThread, side_operator: str, data_dir: Path, fault: Fault
) -> None:
    """The answer is lost after the SM-DP+ acted (reset, truncate) or replaced (garbage):
    the retries carry the same function call identifier, so at most one profile is ever
    linked to the device; the order fails with the error page; nothing is credited."""
    proxy.set(fault, reset_after=20, truncate_after=5, garbage_bytes=200)
    try:
        run = asyncio.run(_buy(stack))
    finally:
        proxy.set(Fault.PASS)
    assert "moDirectStatus=ServiceError" in _call_into_app(run), explain([run], stack)
    order = _last_order(data_dir)
    assert order.status == "failed"
    assert order.failure.isprintable(), order.failure  # no garbled bytes kept or shown
    assert len(order.failure) <= 200, order.failure
    assert _credit_of(data_dir, order.eid) == []
    assert len(_profiles_of(data_dir, order.eid)) <= 1  # replays, never a second profile


def test_a_profile_linked_by_a_lost_answer_is_given_back(
    stack: Stack, proxy: ProxyThread, side_operator: str, data_dir: Path
) -> None:
    """D245: the order fails, and the operator's job replays its downloadOrder (same
    identifier: the SM-DP+ answers with the ICCID it linked) and cancels it Available."""
    proxy.set(Fault.RESET, reset_after=20)
    try:
        asyncio.run(_buy(stack))
    finally:
        proxy.set(Fault.PASS)
    order = _last_order(data_dir)
    assert order.status == "failed"
    assert [p.state for p in _wait_given_back(data_dir, order.eid)] in ([], ["Available"])


def _wait_given_back(data_dir: Path, eid: str) -> list[Any]:
    """The EID's profiles once none is Linked, or as they are after a bounded wait (the
    job's pass is due 5 s after the failure and runs every 2 s)."""
    for _ in range(120):
        profiles = _profiles_of(data_dir, eid)
        if all(p.state == "Available" for p in profiles):
            break
        time.sleep(0.5)
    return profiles


def test_after_the_fault_clears_the_next_purchase_succeeds(
    stack: Stack, proxy: ProxyThread, side_operator: str
) -> None:
    proxy.set(Fault.REFUSE)
    try:
        failed = asyncio.run(_buy(stack))
    finally:
        proxy.set(Fault.PASS)
    assert failed.failed
    run = asyncio.run(_buy(stack))
    assert not run.failed, explain([run], stack)
