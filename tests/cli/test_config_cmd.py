"""``mobileplans config import|export`` and ``db`` commands, as a shell user runs them."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from mobileplans.cli.main import app
from tests.support import operator_data

runner = CliRunner()


def write(path: Path, document: object) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_import_then_export_round_trips(env_for_cli: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "in.yaml", {"version": 1, "operators": [operator_data()]})
    result = runner.invoke(app, ["config", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert '"created"' in result.output
    assert "contoso" in result.output
    exported = runner.invoke(app, ["config", "export"])
    assert exported.exit_code == 0
    data = yaml.safe_load(exported.output)
    assert [op["id"] for op in data["operators"]] == ["contoso"]
    assert data["operators"][0]["iccidRanges"][0]["start"] == "8901999000000000000"


def test_invalid_file_prints_lines_and_changes_nothing(env_for_cli: Path, tmp_path: Path) -> None:
    good = write(tmp_path / "good.yaml", {"operators": [operator_data()]})
    assert runner.invoke(app, ["config", "import", str(good)]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("- US", "- XX").replace("Contoso Cellular", "Renamed"))
    result = runner.invoke(app, ["config", "import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:" in result.output
    assert "XX" in result.output
    exported = yaml.safe_load(runner.invoke(app, ["config", "export"]).output)
    assert exported["operators"][0]["brandName"] == "Contoso Cellular"


def test_overlapping_file_is_rejected(env_for_cli: Path, tmp_path: Path) -> None:
    clash = write(
        tmp_path / "clash.yaml", {"operators": [operator_data(), operator_data("b", brand="B")]}
    )
    result = runner.invoke(app, ["config", "import", str(clash)])
    assert result.exit_code == 1
    assert "overlaps" in result.output


def test_dry_run_writes_nothing(env_for_cli: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "in.yaml", {"operators": [operator_data()]})
    result = runner.invoke(app, ["config", "import", str(source), "--dry-run"])
    assert result.exit_code == 0
    assert "dry run" in result.output
    exported = yaml.safe_load(runner.invoke(app, ["config", "export"]).output)
    assert exported["operators"] == []


def test_db_commands(env_for_cli: Path) -> None:
    assert "current:" in runner.invoke(app, ["db", "current"]).output
    result = runner.invoke(app, ["db", "check"])
    assert result.exit_code == 0
    assert "agree" in result.output


def test_help_explains_itself() -> None:
    for args in (["--help"], ["up", "--help"], ["config", "import", "--help"], ["serve", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
    assert "--port-base" in runner.invoke(app, ["up", "--help"]).output
