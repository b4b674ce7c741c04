"""``mobileplans maintenance``, ``bugs`` and ``credentials`` as a shell user runs them: the
platform side by default, an operator's side with ``--as-operator``."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from mobileplans.cli import bugs_cmd, credentials_cmd, incidents_cmd, maintenance_cmd
from mobileplans.db.engine import make_engine
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.access import service as access
from mobileplans.domains.access.service import Party
from tests.domains.maintenance_notice.support import CONTOSO_NOC, add_operators, sent

runner = CliRunner()
T = TypeVar("T")
Sessions = async_sessionmaker[AsyncSession]
WIDE = {"COLUMNS": "200"}  # Rich tables are as wide as the terminal; 80 when there is none


def in_db(database_url: str, action: Callable[[Sessions], Awaitable[T]]) -> T:
    """Run ``action(sessions)`` on the test database from synchronous test code."""

    async def go() -> T:
        engine = make_engine(database_url)
        try:
            return await action(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture
def world(env_for_cli: Path, database_url: str) -> str:
    in_db(database_url, lambda sessions: add_operators(sessions, datetime.now(UTC)))
    return database_url


def events(database_url: str, **where: object) -> list[tuple[str, str]]:
    return in_db(database_url, lambda sessions: sent(sessions, **where))


def iso(instant: datetime) -> str:
    return instant.replace(microsecond=0).isoformat()


def test_credentials_create_list_revoke(world: str) -> None:
    created = runner.invoke(
        credentials_cmd.app, ["create", "--operator", "contoso", "--name", "ci"]
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("mpo_")

    async def whom(sessions: Sessions) -> Party | None:
        async with session_scope(sessions) as session:
            return await access.authenticate(session, token)

    assert in_db(world, whom) == Party("operator", "contoso", "contoso:ci")
    platform = runner.invoke(credentials_cmd.app, ["create", "--platform", "--name", "ops"])
    assert platform.exit_code == 0, platform.output
    both = runner.invoke(
        credentials_cmd.app, ["create", "--platform", "--operator", "x", "--name", "n"]
    )
    assert both.exit_code == 2
    unknown = runner.invoke(credentials_cmd.app, ["create", "--operator", "nobody", "--name", "n"])
    assert unknown.exit_code == 1
    listed = json.loads(runner.invoke(credentials_cmd.app, ["list", "--json"]).stdout)
    assert [(c["operatorId"], c["name"], c["revokedAt"]) for c in listed] == [
        ("contoso", "ci", None),
        (None, "ops", None),
    ]
    assert token not in runner.invoke(credentials_cmd.app, ["list"]).output
    revoked = runner.invoke(credentials_cmd.app, ["revoke", str(listed[0]["id"])])
    assert revoked.exit_code == 0, revoked.output
    assert in_db(world, whom) is None
    assert runner.invoke(credentials_cmd.app, ["revoke", "999"]).exit_code == 1


def test_maintenance_schedule_list_cancel(world: str) -> None:
    start = datetime.now(UTC) + timedelta(days=40)
    args = [
        "schedule",
        "--operator",
        "contoso",
        "--environment",
        "production",
        "--starts-at",
        iso(start),
        "--ends-at",
        iso(start + timedelta(hours=2)),
        "--impact",
        "core upgrade",
    ]
    scheduled = runner.invoke(maintenance_cmd.app, args)
    assert scheduled.exit_code == 0, scheduled.output
    assert "late notice" not in scheduled.output
    soon = datetime.now(UTC) + timedelta(hours=6)
    late = runner.invoke(
        maintenance_cmd.app,
        [
            "schedule",
            "--as-operator",
            "contoso",
            "--starts-at",
            iso(soon),
            "--ends-at",
            iso(soon + timedelta(hours=1)),
            "--impact",
            "PGW restart",
        ],
    )
    assert late.exit_code == 0, late.output
    assert "late notice" in late.output
    listed = json.loads(runner.invoke(maintenance_cmd.app, ["list", "--json"]).stdout)
    assert [(w["side"], w["lateNotice"]) for w in sorted(listed, key=lambda w: w["id"])] == [
        ("platform", False),
        ("operator", True),
    ]
    platform_id, operator_id = sorted(w["id"] for w in listed)
    # the platform's window went to the operator, the operator's to the platform contacts
    assert events(world, maintenance_id=platform_id) == [("maintenance.announced", CONTOSO_NOC)]
    assert events(world, maintenance_id=operator_id)[0][1] != CONTOSO_NOC
    # another operator's credentials see and cancel nothing of contoso's
    theirs = runner.invoke(maintenance_cmd.app, ["list", "--as-operator", "fabrikam", "--json"])
    assert json.loads(theirs.stdout) == []
    refused = runner.invoke(
        maintenance_cmd.app, ["cancel", str(platform_id), "--as-operator", "fabrikam"]
    )
    assert refused.exit_code == 1
    assert "does not exist" in refused.output
    table = runner.invoke(maintenance_cmd.app, ["list"], env=WIDE)
    assert table.exit_code == 0
    assert "contoso" in table.output
    cancelled = runner.invoke(maintenance_cmd.app, ["cancel", str(platform_id)])
    assert cancelled.exit_code == 0, cancelled.output
    assert [e for e, _ in events(world, maintenance_id=platform_id)] == [
        "maintenance.announced",
        "maintenance.cancelled",
    ]
    naive = runner.invoke(maintenance_cmd.app, [*args[:6], "2026-12-01T00:00:00", *args[7:]])
    assert naive.exit_code == 2


def test_bugs_from_report_to_deploy(world: str) -> None:
    reported = runner.invoke(
        bugs_cmd.app,
        ["report", "--as-operator", "contoso", "--title", "Flyout blank", "--description", "x"],
    )
    assert reported.exit_code == 0, reported.output
    [bug] = json.loads(runner.invoke(bugs_cmd.app, ["list", "--json"]).stdout)
    bug_id = str(bug["id"])
    assert (bug["operatorId"], bug["reportedBy"], bug["status"]) == (
        "contoso",
        "operator",
        "reported",
    )
    early = runner.invoke(bugs_cmd.app, ["approve", bug_id])
    assert early.exit_code == 1
    assert "is reported" in early.output
    hidden = runner.invoke(bugs_cmd.app, ["show", bug_id, "--as-operator", "fabrikam"])
    assert hidden.exit_code == 1
    day = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    for step in (
        ["triage", bug_id, "--justification", "store reviews", "--impact", "all flyouts"],
        ["approve", bug_id],
        ["schedule", bug_id, "--date", day],
        ["deploy", bug_id, "--note", "v2"],
    ):
        result = runner.invoke(bugs_cmd.app, step)
        assert result.exit_code == 0, (step, result.output)
    assert "bug 1 is deployed" in result.output
    shown = json.loads(
        runner.invoke(bugs_cmd.app, ["show", bug_id, "--as-operator", "contoso", "--json"]).stdout
    )
    assert shown["tentativeDeployDate"] == day
    assert [(e["kind"], e["actor"].startswith("cli")) for e in shown["events"]] == [
        ("reported", False),
        ("triaged", True),
        ("approved", True),
        ("scheduled", True),
        ("deployed", True),
    ]
    assert shown["events"][0]["actor"].startswith("contoso:cli")
    assert ("bug.deployed", CONTOSO_NOC) in events(world, bug_id=bug["id"])
    table = runner.invoke(bugs_cmd.app, ["show", bug_id], env=WIDE)
    assert "store reviews" in table.output
    assert runner.invoke(bugs_cmd.app, ["schedule", bug_id, "--date", "soon"]).exit_code == 2


def test_help_texts_explain_the_workflows() -> None:
    def helps(app: typer.Typer, *args: str) -> str:
        result = runner.invoke(app, [*args, "--help"], env=WIDE)
        assert result.exit_code == 0
        return " ".join(result.output.split())

    assert "five business days" in helps(maintenance_cmd.app)
    assert "completion notice" in helps(maintenance_cmd.app)
    assert "tentative deployment date" in helps(bugs_cmd.app)
    assert "--justification" in helps(bugs_cmd.app, "triage")
    assert "printed once" in helps(credentials_cmd.app)


def test_late_notice_names_the_earliest_timely_start(world: str) -> None:
    """Issue #8: the warning says when a start would have had five business days; that
    start is accepted without the flag."""
    soon = datetime.now(UTC) + timedelta(hours=6)
    args = ["schedule", "--operator", "contoso", "--impact", "PGW restart"]
    late = runner.invoke(
        maintenance_cmd.app,
        [*args, "--starts-at", iso(soon), "--ends-at", iso(soon + timedelta(hours=1))],
    )
    assert late.exit_code == 0, late.output
    match = re.search(
        r"earliest start with five business days' notice is .*--starts-at (\S+)\)", late.output
    )
    assert match is not None, late.output
    earliest = datetime.fromisoformat(match[1])
    timely = runner.invoke(
        maintenance_cmd.app,
        [*args, "--starts-at", match[1], "--ends-at", iso(earliest + timedelta(hours=1))],
    )
    assert timely.exit_code == 0, timely.output
    assert "late notice" not in timely.output


def test_errors_name_the_option_and_the_valid_values(world: str) -> None:
    start = datetime.now(UTC) + timedelta(days=40)
    backwards = runner.invoke(
        maintenance_cmd.app,
        [
            "schedule",
            "--operator",
            "contoso",
            "--impact",
            "x",
            "--starts-at",
            iso(start),
            "--ends-at",
            iso(start - timedelta(hours=1)),
        ],
    )
    assert backwards.exit_code == 1
    assert backwards.output.strip() == "--ends-at must be after --starts-at"
    category = runner.invoke(
        incidents_cmd.app,
        [
            "declare",
            "--title",
            "x",
            "--severity",
            "sev3",
            "--operator",
            "contoso",
            "--category",
            "nope",
        ],
    )
    assert category.exit_code == 1
    assert category.output.startswith("--category: ")
    assert "'core_network_outage'" in category.output
    assert len(category.output.strip().splitlines()) == 1


def test_tables_fit_80_columns_and_cut_no_name(world: str) -> None:
    """Piped output (no terminal, 80 columns): every line fits, nothing is cut with '…'."""
    start = datetime.now(UTC) + timedelta(days=3)
    impact = "Balance lookups may fail for up to ten minutes while the database fails over"
    for offset in (0, 1):
        begin = start + timedelta(days=offset)
        runner.invoke(
            maintenance_cmd.app,
            [
                "schedule",
                "--operator",
                "contoso",
                "--environment",
                "production",
                "--impact",
                impact,
                "--starts-at",
                iso(begin),
                "--ends-at",
                iso(begin + timedelta(days=offset, hours=2)),
            ],
        )
    runner.invoke(
        incidents_cmd.app,
        [
            "declare",
            "--title",
            "GetBalance fails for every Contoso subscriber in production",
            "--severity",
            "sev2",
            "--operator",
            "contoso",
            "-m",
            "we are looking into it",
        ],
    )
    narrow = {"COLUMNS": "80"}
    for app, args in [
        (maintenance_cmd.app, ["list"]),
        (incidents_cmd.app, ["list"]),
        (incidents_cmd.app, ["show", "1"]),
        (credentials_cmd.app, ["list"]),
    ]:
        shown = runner.invoke(app, args, env=narrow)
        assert shown.exit_code == 0, shown.output
        assert max(len(line) for line in shown.output.splitlines()) <= 80, shown.output
        assert "…" not in shown.output, shown.output
    listing = runner.invoke(maintenance_cmd.app, ["list"], env=narrow).output
    assert "contoso" in listing
    assert "production" in listing
    assert " ".join(listing.split()).count("fails over") == 2
