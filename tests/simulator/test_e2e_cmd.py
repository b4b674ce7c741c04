"""``mobileplans e2e`` argument handling that needs no stack."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mobileplans.cli.main import app
from mobileplans.simulator.endpoints import parse_endpoints
from mobileplans.simulator.runner import default_operator, select
from mobileplans.simulator.scenarios import SCENARIOS


def test_unknown_scenario_is_refused(tmp_path: Path) -> None:
    (tmp_path / "endpoints.json").write_text(json.dumps({"broker": "http://127.0.0.1:1"}))
    result = CliRunner().invoke(app, ["e2e", "nonsense", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown scenario 'nonsense'" in result.output


def test_missing_endpoints_file_is_explained(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["e2e", "all", "--endpoints", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "not found" in result.output


def test_an_unreachable_broker_fails_every_scenario_with_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    path.write_text(
        json.dumps({"broker": "http://127.0.0.1:9", "demo": {"plans": {"prepaid": "x"}}})
    )
    result = CliRunner().invoke(
        app, ["e2e", "cancel", "--endpoints", str(path), "--operator", "contoso"]
    )
    assert result.exit_code == 1, result.output
    assert "cancel (http mode)" in result.output
    assert "ConnectError" in result.output


def test_no_operator_listed_asks_the_broker_and_explains_when_it_cannot(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({"broker": "http://127.0.0.1:9"}))
    result = CliRunner().invoke(app, ["e2e", "cancel", "--endpoints", str(path)])
    assert result.exit_code == 2
    assert "cannot ask the broker for providers" in result.output


def test_a_file_needs_a_broker_or_a_portal(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps({"operators": [{"id": "northwind"}]}))
    result = CliRunner().invoke(app, ["e2e", "cancel", "--endpoints", str(path)])
    assert result.exit_code == 2
    assert "needs a 'broker' URL or an operator with a 'portal_url'" in result.output


def test_selection_and_default_operator() -> None:
    assert [s.name for s in select("all")] == list(SCENARIOS)
    assert [s.name for s in select("cancel")] == ["cancel"]
    endpoints = parse_endpoints(
        {
            "broker": "http://b",
            "operators": [
                {"id": "fabrikam", "countries": ["GB"]},
                {"id": "contoso", "countries": ["US"]},
            ],
            "demo": {"operators": ["fabrikam", "contoso"], "location": "US"},
        }
    )
    assert default_operator(endpoints) == "contoso"
