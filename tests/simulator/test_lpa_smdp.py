"""The simulator's LPA against the real SM-DP+ app on a real socket (docs/activation.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import httpx
import pytest

from mobileplans.apps.smdp.app import create_app
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.esim import ActivationCode, ESimOperationStatus
from mobileplans.simulator.clients import SmdpDeviceClient
from mobileplans.simulator.euicc import Euicc, EuiccProfile
from mobileplans.simulator.lpa import Lpa, LpaErrorLog
from mobileplans.simulator.runlog import Outcome, ScenarioRun
from mobileplans.web.server import Listener, make_server
from tests.domains.smdp.support import (
    CONFIG,
    EID_A,
    EID_B,
    Sessions,
    World,
    profile,
    released,
    seed,
)
from tests.support import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
async def smdp_url(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[str]:
    app = create_app(CONFIG, sessions, clock=clock)
    port = free_port()
    server = make_server(Listener("smdp", app, "127.0.0.1", port))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    await app.state.callbacks.aclose()


@pytest.fixture
async def world(sessions: Sessions, clock: FrozenClock) -> World:
    return await seed(sessions, clock)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def lpa_for(card: Euicc, url: str, http: httpx.AsyncClient, clock: FrozenClock) -> Lpa:
    return Lpa(
        card,
        imei="001102000315468",
        smdp_for=lambda _address: SmdpDeviceClient(http, url),
        clock=clock,
        errors=LpaErrorLog(ZoneInfo("UTC")),
        retry_seconds=0.01,
    )


def code(matching_id: str) -> ActivationCode:
    return ActivationCode(CONFIG.address, matching_id)


async def test_download_install_enable(
    smdp_url: str, world: World, sessions: Sessions, clock: FrozenClock, http: httpx.AsyncClient
) -> None:
    iccid, matching_id = await released(sessions, clock, eid=EID_A)
    card = Euicc(EID_A)
    run = ScenarioRun("lpa", "http")
    result = await lpa_for(card, smdp_url, http, clock).download(code(matching_id), run)
    assert result.ok, [(s.name, s.detail) for s in run.steps]
    assert result.iccid == iccid
    assert result.operator_id == "contoso"
    assert card.enabled is not None
    assert card.enabled.iccid == iccid
    assert [s.name for s in run.steps] == [
        "lpa: initiateDownload",
        "lpa: getBoundProfilePackage",
        "lpa: install",
        "lpa: handleNotification(install)",
        "lpa: enable",
        "lpa: handleNotification(enable)",
    ]
    assert all(s.outcome is Outcome.PASS for s in run.steps)
    assert (await profile(sessions, iccid)).state == "Installed"
    again = await lpa_for(Euicc(EID_A), smdp_url, http, clock).download(
        code(matching_id), ScenarioRun("again", "http")
    )
    assert again.status is ESimOperationStatus.ProfileNotAvailableForNewBinding


async def test_a_full_card_fails_the_install_and_tells_the_smdp(
    smdp_url: str, world: World, sessions: Sessions, clock: FrozenClock, http: httpx.AsyncClient
) -> None:
    iccid, matching_id = await released(sessions, clock, eid=EID_A)
    card = Euicc(EID_A, capacity=1)
    card.install(EuiccProfile("8999900000000000016", None, "Test", "leftover"))
    lpa = lpa_for(card, smdp_url, http, clock)
    run = ScenarioRun("full", "http")
    failed = await lpa.download(
        code(matching_id), run, expected=ESimOperationStatus.InsufficientSpaceOnCard
    )
    assert failed.status is ESimOperationStatus.InsufficientSpaceOnCard
    install = run.step_named("lpa: install")
    assert install is not None
    assert install.outcome is Outcome.PASS
    assert "failed as expected" in install.detail
    assert run.step_named("lpa: enable") is None
    assert (await profile(sessions, iccid)).state != "Installed"
    assert lpa.errors.headers()["X-MP-LPAError-ICCIDs"] == iccid
    card.delete("8999900000000000016")
    retried = await lpa.download(code(matching_id), ScenarioRun("retry", "http"))
    assert retried.ok  # spec 2.2.5: the code may be reused after a failure
    assert lpa.errors.headers() == {}


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown", ESimOperationStatus.InvalidMatchingId),
        ("other-eid", ESimOperationStatus.EidMismatch),
        ("not-released", ESimOperationStatus.ProfileNotReleasedByOperator),
    ],
)
async def test_smdp_refusals_become_operation_statuses(
    smdp_url: str,
    world: World,
    sessions: Sessions,
    clock: FrozenClock,
    http: httpx.AsyncClient,
    case: str,
    status: ESimOperationStatus,
) -> None:
    if case == "unknown":
        matching_id = "NOPE-NOPE"
    elif case == "other-eid":
        _, matching_id = await released(sessions, clock, eid=EID_B)
    else:
        _, matching_id = await released(sessions, clock, eid=EID_A, releaseFlag=False)
    run = ScenarioRun(case, "http")
    card = Euicc(EID_A)
    result = await lpa_for(card, smdp_url, http, clock).download(code(matching_id), run)
    assert result.status is status
    step = run.step_named("lpa: initiateDownload")
    assert step is not None
    assert step.outcome is Outcome.FAIL
    assert status.name in step.detail
    assert card.profiles == []


async def test_an_unreachable_smdp_is_retried_then_reported(
    clock: FrozenClock, http: httpx.AsyncClient
) -> None:
    card = Euicc(EID_A)
    lpa = lpa_for(card, f"http://127.0.0.1:{free_port()}", http, clock)
    run = ScenarioRun("down", "http")
    result = await lpa.download(code("AB12"), run)
    assert result.status is ESimOperationStatus.ServerNotReachable
    assert [s.outcome for s in run.steps] == [Outcome.SKIP, Outcome.SKIP, Outcome.FAIL]
    assert lpa.errors.headers()["X-MP-LPAError-Codes"] == ",".join(["ServerNotReachable"] * 3)
