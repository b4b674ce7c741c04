"""Every scenario in HTTP mode against ``mobileplans up`` over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from mobileplans.simulator.runlog import Outcome, ScenarioRun
from mobileplans.simulator.runner import run_scenarios
from mobileplans.simulator.scenarios import SCENARIOS
from tests.simulator.stack import Stack, explain, stack_fixture
from tests.support import free_port, operator_data

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, template_database: str
) -> AsyncIterator[Stack]:
    # template_database: with PostgreSQL, the schema exists before `up` starts
    async for running in stack_fixture(tmp_path_factory.mktemp("e2e-http")):
        yield running


def step(run: ScenarioRun, name: str) -> str:
    found = [s for s in run.steps if s.name == name]
    assert found, f"{run.name} has no step {name!r}:\n{explain([run])}"
    return found[-1].detail


async def run_http(stack: Stack, name: str) -> ScenarioRun:
    [run] = await run_scenarios([SCENARIOS[name]], stack.endpoints)
    assert run.outcome is Outcome.PASS, explain([run], stack)
    return run


async def test_first_run_esim(stack: Stack) -> None:
    run = await run_http(stack, "first-run-esim")
    assert "notifyProfileDownload" in step(run, "callback")
    assert "home" in step(run, "registration")
    assert '"activationResult": "success"' in step(run, "profileActivationCompleteScript")
    assert '"networkRegistrationState": "home"' in step(run, "registrationChangedScript")


async def test_first_run_sim(stack: Stack) -> None:
    run = await run_http(stack, "first-run-sim")
    assert "notifyBalanceAddition" in step(run, "callback")
    assert "home" in step(run, "registration")


async def test_prepaid_topup(stack: Stack) -> None:
    run = await run_http(stack, "prepaid-topup")
    assert "MB →" in step(run, "balance grew")


async def test_cancel(stack: Stack) -> None:
    run = await run_http(stack, "cancel")
    assert "notifyCancelledPurchase" in step(run, "callback")
    assert not any(s.name.startswith("lpa:") for s in run.steps)


async def test_download_error_reentry(stack: Stack) -> None:
    run = await run_http(stack, "download-error-reentry")
    installs = [s.detail for s in run.steps if s.name == "lpa: install"]
    assert "failed as expected: InsufficientSpaceOnCard" in installs[0]
    assert "X-MP-LPAError-Codes: InsufficientSpaceOnCard" in step(run, "user frees space")
    assert "X-MP-LPAError-ICCIDs" in step(run, "portal re-entry")
    assert '"activationResult": "success"' in step(run, "profileActivationCompleteScript")


async def test_delayed_profile(stack: Stack) -> None:
    run = await run_http(stack, "delayed-profile")
    assert "toast shown" in step(run, "delayed download")
    assert "home" in step(run, "registration")


def test_the_cli_runs_everything_twice_against_one_stack(stack: Stack, tmp_path: Path) -> None:
    endpoints_file = tmp_path / "endpoints.json"
    endpoints_file.write_text(stack.endpoints.model_dump_json())
    for _ in range(2):  # fresh EIDs and accounts each time: repeatable against one `up`
        result = subprocess.run(
            [sys.executable, "-m", "mobileplans.cli.main", "e2e", "all", "--endpoints",
             str(endpoints_file)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr + stack.log_tail()
        assert "summary" in result.stdout
        for name in SCENARIOS:
            assert name in result.stdout


@pytest.mark.parametrize("name", ["first-run-esim", "first-run-sim", "prepaid-topup", "cancel"])
async def test_a_legacy_operator_through_datamart(stack: Stack, name: str) -> None:
    """Fabrikam answers with ``DataMart.notifyPurchaseResult(JSON string)`` (spec 2.2.2)."""
    [run] = await run_scenarios([SCENARIOS[name]], stack.endpoints, operator_id="fabrikam")
    assert run.outcome is Outcome.PASS, explain([run], stack)
    assert "DataMart.notifyPurchaseResult" in step(run, "callback")
    # Fabrikam is in Integration (D167): a device with a SIM or profile of its production
    # test range meets it in production, a new eSIM PC in the staging catalog
    asked_staging = "asks the staging catalog" in step(run, "providers")
    assert asked_staging is (name in ("first-run-esim", "cancel")), step(run, "providers")


BAD_META = {"userAccount": "Someone", "moDirectStatus": "Complete", "planName": ""}
NONCONFORMANT_PAGE = """<!doctype html><html><body><main data-mp-step="confirmation">
<p>Thanks!</p><div id="mp-activation-result"></div>
<script type="application/json" id="mp-callback">{block}</script></main></body></html>"""


@pytest.fixture
async def nonconformant_portal() -> AsyncIterator[str]:
    """A third-party portal that hands the app broken metadata and a bad activation code."""
    block = json.dumps(
        {
            "object": "MobilePlansInlineOperations",
            "function": "notifyProfileDownload",
            "args": [BAD_META, "LPA:1$smdp.northwind.example$ABC"],
            "scripts": {"profileActivationCompleteScript": "done"},
        }
    )

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=NONCONFORMANT_PAGE.format(block=block), content_type="text/html")

    app = web.Application()
    app.router.add_get("/portal/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/portal/"
    await runner.cleanup()


async def test_the_kit_reports_a_nonconformant_portal(
    stack: Stack, nonconformant_portal: str
) -> None:
    broker = stack.endpoints.broker
    data = operator_data("northwind", brand="Northwind", countries=["CA"], prefix="8907999")
    data["environments"]["production"]["portalUrl"] = nonconformant_portal
    data["environments"]["production"]["moBaseUrl"] = nonconformant_portal + "api"
    auth = {"Authorization": f"Bearer {stack.admin_token}"}
    async with httpx.AsyncClient(timeout=10) as http:
        put = await http.put(f"{broker}/v1/admin/operators/northwind", json=data, headers=auth)
        assert put.status_code in (200, 201), put.text
        for _ in range(100):  # the broker picks configuration changes up by polling
            listed = await http.get(f"{broker}/v1/providers", params={"location": "CA"})
            if listed.json()["providers"]:
                break
            await asyncio.sleep(0.1)
    demo = stack.endpoints.demo.model_copy(update={"location": "CA"})
    endpoints = stack.endpoints.model_copy(update={"demo": demo})
    [run] = await run_scenarios([SCENARIOS["first-run-esim"]], endpoints, operator_id="northwind")
    assert run.outcome is Outcome.FAIL
    callback = run.step_named("callback")
    assert callback is not None, explain([run])
    assert callback.outcome is Outcome.FAIL
    assert "userAccount 'Someone' is not one of" in callback.detail
    assert "planName must be a non-empty name" in callback.detail
    assert "must not carry the 'LPA:' prefix" in callback.detail
    assert '"activationResult": "invalidActivationCode"' in step(
        run, "profileActivationCompleteScript"
    )
    assert not any(s.name.startswith("lpa:") for s in run.steps)


def test_the_kit_passes_against_plain_up(stack: Stack, tmp_path: Path) -> None:
    """Issue #9 on plain ``up`` (http): ``conformance run --operator contoso --environment
    production`` passes every mandatory case and writes the three reports; the mutual-TLS
    cases are not applicable over http (D166), visibly, and nothing else is skipped."""
    endpoints_file = tmp_path / "endpoints.json"
    document = {**stack.endpoints.model_dump(mode="json"), "admin_token": stack.admin_token}
    endpoints_file.write_text(json.dumps(document))
    files = {"junit": tmp_path / "r.xml", "html": tmp_path / "r.html", "json": tmp_path / "r.json"}
    args = ["conformance", "run", "--operator", "contoso", "--environment", "production"]
    args += ["--endpoints", str(endpoints_file)]
    args += [item for name, path in files.items() for item in (f"--{name}", str(path))]
    result = subprocess.run(
        [sys.executable, "-m", "mobileplans.cli.main", *args],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr + stack.log_tail()
    evidence = json.loads(files["json"].read_text())
    assert evidence["verdict"] == "pass"
    outcomes = {c["id"]: c["outcome"] for c in evidence["cases"]}
    skipped = {i for i, outcome in outcomes.items() if outcome == "skip"}
    assert skipped == {"MOAPI-TLS-001", "MOAPI-TLS-002", "MOAPI-TLS-003", "MOAPI-TLS-004"}
    mandatory = {c["id"] for c in evidence["cases"] if c["mandatory"]} - skipped
    assert {outcomes[i] for i in mandatory} == {"pass"}
    assert "DEVICE-001" in mandatory
    junit = files["junit"].read_text()
    assert junit.count('<skipped message="not applicable: an http:// MO API') == 4
    assert "not applicable: an http:// MO API" in files["html"].read_text()
