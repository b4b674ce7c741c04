"""``mobileplans incidents`` as a shell user runs it: an operator declares an outage, the
platform acknowledges, updates and resolves it, and the timeline shows every step."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobileplans.cli import incidents_cmd
from tests.cli.test_maintenance_bugs_cli import in_db
from tests.domains.maintenance_notice.support import add_operators

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


@pytest.fixture
def world(env_for_cli: Path, database_url: str) -> str:
    in_db(database_url, lambda sessions: add_operators(sessions, datetime.now(UTC)))
    return database_url


def invoke(*args: str) -> dict:
    result = runner.invoke(incidents_cmd.app, [*args, "--json"], env=WIDE)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_declare_ack_update_resolve_close(world: str) -> None:
    declared = invoke(
        "declare",
        "--as-operator",
        "contoso",
        "--title",
        "core network down",
        "--severity",
        "sev1",
        "--category",
        "core_network_outage",
        "--outage",
        "-m",
        "Our PGW is down since 09:00.",
    )
    number = str(declared["id"])
    assert (declared["openedBy"], declared["responder"]) == ("operator", "platform")
    comms = [c for c in declared["clocks"] if c["clock"] == "communication"]
    assert comms[0]["metAt"] is not None  # the declaration carried the first communication
    acked = invoke("ack", number, "-m", "platform on it")
    assert acked["status"] == "acknowledged"
    updated = invoke("update", number, "-m", "traffic rerouted")
    updates = [c for c in updated["clocks"] if c["clock"] == "update"]
    assert updates[0]["metAt"] is not None
    assert len(updates) == 2
    assert invoke("resolve", number)["status"] == "resolved"
    closed = invoke("close", number)
    assert closed["status"] == "closed"
    kinds = [e["kind"] for e in closed["events"]]
    assert kinds == [
        "declared",
        "contacted",
        "communication",
        "acknowledged",
        "update",
        "resolved",
        "closed",
    ]
    listing = runner.invoke(incidents_cmd.app, ["list"], env=WIDE)
    assert "core network down" in listing.output


def test_an_operator_cannot_touch_another_operators_incident(world: str) -> None:
    declared = invoke("declare", "--as-operator", "contoso", "--title", "x", "--severity", "sev3")
    result = runner.invoke(
        incidents_cmd.app, ["show", str(declared["id"]), "--as-operator", "fabrikam"], env=WIDE
    )
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_policy_and_breaches(world: str) -> None:
    shown = runner.invoke(incidents_cmd.app, ["policy", "contoso", "--set", "dynamo"], env=WIDE)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["policy"] == "dynamo"
    bad = runner.invoke(incidents_cmd.app, ["policy", "contoso", "--set", "nope"], env=WIDE)
    assert bad.exit_code == 1
    assert "mobile_plans" in bad.output  # the message lists the policies there are
    again = runner.invoke(incidents_cmd.app, ["policy", "contoso"], env=WIDE)
    assert json.loads(again.output)["policy"] == "dynamo"  # the refused change wrote nothing
    now = datetime.now(UTC)
    report = runner.invoke(
        incidents_cmd.app,
        ["breaches", "--from", (now - timedelta(days=1)).isoformat(), "--to", now.isoformat()],
        env=WIDE,
    )
    assert report.exit_code == 0, report.output
    assert "breaches" in report.output


def test_bad_input_is_refused_and_writes_nothing(world: str) -> None:
    bad_severity = runner.invoke(
        incidents_cmd.app,
        ["declare", "--title", "x", "--severity", "sev9", "--operator", "contoso"],
    )
    assert bad_severity.exit_code == 1
    assert "no severity 'sev9'" in bad_severity.output
    long_title = runner.invoke(
        incidents_cmd.app, ["declare", "--title", "x" * 201, "--severity", "sev1"]
    )
    assert long_title.exit_code == 1
    assert "at most 200 characters" in long_title.output
    bad_date = runner.invoke(incidents_cmd.app, ["breaches", "--from", "soon", "--to", "later"])
    assert bad_date.exit_code == 2
    assert "ISO 8601" in bad_date.output
    listing = runner.invoke(incidents_cmd.app, ["list", "--json"], env=WIDE)
    assert json.loads(listing.output) == []
