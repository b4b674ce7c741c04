"""``mobileplans incidents calls``: the platform lists the calls it owes and records them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobileplans.cli import incidents_cmd
from tests.cli.test_maintenance_bugs_cli import in_db
from tests.domains.maintenance_notice.support import add_operators

runner = CliRunner()
NARROW = {"COLUMNS": "80"}


@pytest.fixture
def world(env_for_cli: Path, database_url: str) -> str:
    in_db(database_url, lambda sessions: add_operators(sessions, datetime.now(UTC)))
    return database_url


def cli(*args: str) -> str:
    result = runner.invoke(incidents_cmd.app, list(args), env=NARROW)
    assert result.exit_code == 0, result.output
    return result.output


def test_list_and_record_calls(world: str) -> None:
    declared = json.loads(
        cli("declare", "--operator", "contoso", "--title", "down", "--severity", "sev1", "--json")
    )
    number = str(declared["id"])
    owed = cli("calls", "list")
    assert all(len(line) <= 80 for line in owed.splitlines())
    assert "escalation" in owed
    assert "platform" in owed
    assert "operator" in owed
    [task] = json.loads(cli("calls", "list", number, "--json"))
    assert task["numbers"] == []  # Contoso's contacts have e-mail only
    # No number on file: the error names the option to give.
    missing = runner.invoke(
        incidents_cmd.app, ["calls", "record", number, str(task["id"]), "--outcome", "no_answer"]
    )
    assert missing.exit_code == 1
    assert "--number" in missing.output
    no_name = runner.invoke(
        incidents_cmd.app,
        ["calls", "record", number, str(task["id"]), "--outcome", "reached",
         "--number", "+14255550150"],
    )  # fmt: skip
    assert no_name.exit_code == 1
    assert "--reached" in no_name.output
    bad_at = runner.invoke(
        incidents_cmd.app,
        ["calls", "record", number, str(task["id"]), "--outcome", "no_answer", "--at", "soon"],
    )
    assert bad_at.exit_code == 2
    assert "--at" in bad_at.output
    shown = cli(
        "calls", "record", number, str(task["id"]), "--outcome", "acknowledged",
        "--number", "+14255550150", "--reached", "Ana", "--notes", "on it",
    )  # fmt: skip
    assert "done" in shown
    assert "acknowledged" in shown
    assert all(len(line) <= 80 for line in shown.splitlines())
    incident = json.loads(cli("show", number, "--json"))
    assert incident["status"] == "acknowledged"
    assert "Ana (by phone)" in [e["actor"] for e in incident["events"]]
    assert "escalation" not in cli("calls", "list")  # nothing owed any more
