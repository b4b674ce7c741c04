"""The reference operator (``mobileplans up --tls``, real sockets) passes every mandatory
case; the reports are what they claim; a third-party operator without a broker or a
core-network stand-in is judged by what a device can observe."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobileplans.cli.main import app
from mobileplans.conformance.case import Outcome
from mobileplans.conformance.registry_target import target_from_registry
from mobileplans.conformance.reports import verify_seal
from mobileplans.conformance.runner import run_cases, select
from mobileplans.simulator.endpoints import parse_endpoints
from mobileplans.simulator.runlog import Outcome as StepOutcome
from mobileplans.simulator.runner import run_scenarios
from mobileplans.simulator.scenarios import SCENARIOS
from tests.conformance.reference import TlsStack, tls_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, template_database: str
) -> AsyncIterator[TlsStack]:
    async for running in tls_stack(tmp_path_factory.mktemp("conformance-up")):
        yield running


def test_the_reference_operator_passes_every_mandatory_case(
    stack: TlsStack, tmp_path: Path
) -> None:
    files = {"junit": tmp_path / "r.xml", "html": tmp_path / "r.html", "json": tmp_path / "r.json"}
    args = ["conformance", "run", "--operator", "contoso", "--environment", "production"]
    args += ["--endpoints", str(stack.endpoints_file)]
    args += [item for name, path in files.items() for item in (f"--{name}", str(path))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + stack.tail()
    assert "PASS" in result.output
    evidence = json.loads(files["json"].read_text())
    assert verify_seal(evidence)
    assert evidence["verdict"] == "pass"
    assert evidence["target"]["operator"] == "contoso"
    assert evidence["evidence"] == {
        "operator": "contoso",
        "environment": "production",
        "source": "registry",
    }
    assert evidence["kitVersion"].startswith("mobileplans-conformance/")
    mandatory = [c for c in evidence["cases"] if c["mandatory"]]
    assert mandatory
    assert {c["outcome"] for c in mandatory} == {"pass"}, [
        (c["id"], c["failures"]) for c in mandatory if c["outcome"] != "pass"
    ]
    assert any(c["id"] == "DEVICE-001" for c in mandatory)
    gb = next(c for c in evidence["cases"] if c["id"] == "MOAPI-GB-001")
    assert gb["exchanges"][0]["status"] == 200
    assert gb["exchanges"][0]["requestHeaders"]["X-MS-DM-TransactionId"].startswith('"MSFT-')
    suite = ET.fromstring(files["junit"].read_bytes()).find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) == len(evidence["cases"])
    page = files["html"].read_text()
    assert re.search(r"<(script|link|img|iframe)\b|\bsrc=|url\(", page) is None
    assert "MOAPI-TLS-002" in page


def test_a_tampered_evidence_file_fails_its_seal(stack: TlsStack, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    args = ["conformance", "run", "--operator", "contoso", "--only", "MOAPI-GB-00[13]"]
    result = CliRunner().invoke(
        app, [*args, "--endpoints", str(stack.endpoints_file), "--json", str(path)]
    )
    assert result.exit_code == 0, result.output
    evidence = json.loads(path.read_text())
    assert [c["id"] for c in evidence["cases"]] == ["MOAPI-GB-001", "MOAPI-GB-003"]
    evidence["cases"][1]["outcome"] = "fail"
    assert not verify_seal(evidence)


async def test_a_third_party_operator_is_judged_by_what_a_device_observes(stack: TlsStack) -> None:
    """No broker, no core-network stand-in: the device launches the portal itself and
    judges connectivity from the enabled profile and a GetBalance that answers."""
    target = await target_from_registry(stack.endpoints_file, "contoso", "production")
    third_party = target.model_copy(update={"broker_url": None, "network_url": None})
    report = await run_cases(third_party, select("DEVICE-001,DEVICE-004"))
    by_id = {r.id: r for r in report.results}
    assert by_id["DEVICE-001"].outcome is Outcome.PASS, by_id["DEVICE-001"].failures
    assert by_id["DEVICE-004"].outcome is Outcome.PASS, by_id["DEVICE-004"].failures
    steps = {s["step"]: s for s in by_id["DEVICE-001"].steps}
    assert steps["registration"]["outcome"] == "skip"
    assert steps["registration"]["detail"].startswith("not observable")
    assert steps["providers"]["detail"].startswith("not observable: no broker")
    assert "GetBalance (direct, no broker)" in steps["flyout"]["detail"]
    assert "registration not observable" in steps["result"]["detail"]
    assert steps["result"]["outcome"] == "pass"


async def test_an_endpoints_file_with_only_a_broker_and_plans(stack: TlsStack) -> None:
    """docs/simulator.md: no operator listed, the device takes what the broker offers."""
    data = {
        "broker": stack.endpoints["broker"],
        "tls": {"trust_bundle": stack.endpoints["tls"]["trust_bundle"]},
        "demo": {"plans": stack.endpoints["demo"]["by_operator"]["contoso"]["plans"]},
    }
    [run] = await run_scenarios([SCENARIOS["cancel"]], parse_endpoints(data))
    assert run.outcome is StepOutcome.PASS, [(s.name, s.detail) for s in run.steps]
    assert "chose Contoso Cellular" in run.steps[1].detail


def test_load_passes_against_the_reference_operator(stack: TlsStack, tmp_path: Path) -> None:
    iccids = tmp_path / "iccids.txt"
    iccids.write_text("\n".join([stack.sims["active_prepaid"], *stack.sims["warm_sims"][:3]]))
    report, page = tmp_path / "load.json", tmp_path / "load.html"
    args = ["conformance", "load", "--operator", "contoso", "--iccids", str(iccids)]
    args += ["--endpoints", str(stack.endpoints_file), "--duration", "3", "--rate", "3"]
    result = CliRunner().invoke(app, [*args, "--json", str(report), "--html", str(page)])
    assert result.exit_code == 0, result.output + stack.tail()
    evidence = json.loads(report.read_text())
    assert verify_seal(evidence)
    assert evidence["figures"]["requests"] == 9
    assert evidence["figures"]["succeeded"] == 9
    assert [c["outcome"] for c in evidence["cases"]] == ["pass", "pass"]
    assert len(evidence["requests"]) == 9
    assert {r["iccid"] for r in evidence["requests"]} == set(iccids.read_text().split())
    assert sum(b["count"] for b in evidence["histogram"]) == 9
    html = page.read_text()
    assert html.count("<svg") == 2


async def test_the_journeys_run_in_chromium_with_browser(stack: TlsStack) -> None:
    target = await target_from_registry(stack.endpoints_file, "contoso", "production")
    report = await run_cases(target, select("DEVICE-001"), browser=True)
    [result] = report.results
    assert result.outcome is Outcome.PASS, result.failures
    assert "(browser)" in result.detail
    assert report.options["browser"] is True
    script = next(s for s in result.steps if s["step"] == "profileActivationCompleteScript")
    assert "page shows" in script["detail"]  # the portal's own JavaScript ran
