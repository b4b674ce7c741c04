"""``mobileplans sla report|issue|verify|burn|rollup`` and ``traffic failures`` from a shell."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from mobileplans.cli.main import app
from mobileplans.db.engine import make_engine
from mobileplans.db.models import BalanceLookup
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.kit.clock import SystemClock
from tests.domains.sla.support import Result, add_operator, add_probe, store, synthetic, utc

runner = CliRunner()


def seed(database_url: str) -> int:
    """Kolkata (Asia/Kolkata) with a getbalance probe, results 2026-10-29 to 11-01."""

    async def go() -> int:
        engine = make_engine(database_url)
        try:
            sessions = make_sessionmaker(engine)
            now = SystemClock().now()
            await add_operator(sessions, "kolkata", "Asia/Kolkata", now=now)
            probe = await add_probe(sessions, "kolkata", interval=120, now=now)
            results = synthetic(
                probe.id,
                utc(2026, 10, 29),
                utc(2026, 11, 1),
                interval=120,
                seed=31,
                failure_rate=0.02,
            )
            await store(sessions, probe, results)
            async with session_scope(sessions) as session:
                session.add(
                    BalanceLookup(
                        at=now - timedelta(seconds=5),
                        operator_id="kolkata",
                        environment="production",
                        iccid="8901999000000000001",
                        ms_transaction_id="MSFT-1",
                        outcome="timeout",
                        status_code=None,
                        latency_ms=1500.0,
                    )
                )
            return probe.id
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_rollup_then_report_in_every_format(
    env_for_cli: Path, database_url: str, tmp_path: Path
) -> None:
    seed(database_url)
    rolled = runner.invoke(app, ["sla", "rollup"])
    assert rolled.exit_code == 0, rolled.output
    assert "rolled up 2160 results" in rolled.output
    base = ["sla", "report", "--operator", "kolkata", "--period", "2026-10-30"]
    table = runner.invoke(app, base)
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[1].split()[:3] == ["operator", "kind", "probes"]
    assert max(len(line) for line in table.output.splitlines()) <= 80  # CI logs
    assert "kolkata: period 2026-10-30 (Asia/Kolkata), targets 99.9 % and 400 ms avg" in (
        table.output
    )
    assert "kolkata" in table.output
    assert "720" in table.output
    as_json = json.loads(runner.invoke(app, [*base, "--format", "json"]).output)
    statement = as_json["statements"][0]["statement"]
    assert statement["probes"] == 720
    assert as_json["period"]["start"] == "2026-10-29T18:30:00Z"
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, [*base, "--format", "csv"]).output)))
    assert rows[0]["probes"] == "720"
    assert rows[0]["timezone"] == "Asia/Kolkata"
    page = tmp_path / "sla.html"
    written = runner.invoke(app, [*base, "--format", "html", "--output", str(page)])
    assert written.exit_code == 0
    assert page.read_text().startswith("<!doctype html>")
    everyone = runner.invoke(app, ["sla", "report", "--period", "2026-10", "--format", "json"])
    assert json.loads(everyone.output)["statements"][0]["statement"]["operatorId"] == "kolkata"


def test_issue_verify_and_errors(env_for_cli: Path, database_url: str) -> None:
    seed(database_url)
    reported = runner.invoke(
        app, ["sla", "report", "--operator", "kolkata", "--period", "2026-10-30", "--issue"]
    )
    assert reported.exit_code == 0, reported.output
    assert "issued: statement 1 digest" in reported.output
    again = runner.invoke(app, ["sla", "issue", "--operator", "kolkata", "--period", "2026-10-30"])
    issued = json.loads(again.output)
    assert issued[0]["alreadyIssued"] is True
    checked = runner.invoke(app, ["sla", "verify", "--operator", "kolkata", "1"])
    assert checked.exit_code == 0
    assert json.loads(checked.output)["reproducible"] is True
    bad = runner.invoke(app, ["sla", "report", "--operator", "kolkata", "--period", "2026-13"])
    assert bad.exit_code == 1
    assert "period" in bad.output
    unknown = runner.invoke(app, ["sla", "report", "--operator", "nobody", "--period", "2026-10"])
    assert unknown.exit_code == 1
    assert "does not exist" in unknown.output
    current = runner.invoke(app, ["sla", "issue", "--operator", "kolkata", "--period", "2099-01"])
    assert current.exit_code == 1
    assert "can be issued from" in current.output


def test_burn_and_traffic_failures(env_for_cli: Path, database_url: str) -> None:
    seed(database_url)
    burn = runner.invoke(app, ["sla", "burn", "--operator", "kolkata"])
    assert burn.exit_code == 0, burn.output
    assert json.loads(burn.output)["probes"][0]["kind"] == "getbalance"
    table = runner.invoke(app, ["traffic", "failures", "--window", "300"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[1].split() == ["(global)", "1", "1", "100.000"]
    as_json = json.loads(runner.invoke(app, ["traffic", "failures", "--format", "json"]).output)
    assert as_json["partners"][0]["operatorId"] == "kolkata"
    short = runner.invoke(app, ["traffic", "failures", "--window", "1"])
    assert short.exit_code == 1
    assert "window" in short.output


def test_report_without_a_period_is_the_current_month_in_progress(
    env_for_cli: Path, database_url: str
) -> None:
    """Issue #8: no period means this month so far, said in every format; one failed
    probe is one probe interval of downtime, not the whole month."""
    seed_failure_now(database_url)
    table = runner.invoke(app, ["sla", "report", "--operator", "kolkata"])
    assert table.exit_code == 0, table.output
    assert "in progress, generated at" in table.output
    as_json = json.loads(
        runner.invoke(app, ["sla", "report", "--operator", "kolkata", "--format", "json"]).output
    )
    assert as_json["period"]["inProgress"] is True
    assert as_json["period"]["status"].startswith("in progress, generated at")
    statement = as_json["statements"][0]["statement"]
    assert statement["failures"] == 1
    assert statement["downtimeMinutes"] == 2.0  # one failed 120-s probe
    assert statement["errorBudget"]["remainingPercent"] > 90
    for fmt in ("csv", "html"):
        shown = runner.invoke(app, ["sla", "report", "--format", fmt])
        assert shown.exit_code == 0, shown.output
        assert "in progress, generated at" in shown.output, fmt


def test_report_usage_errors_name_the_options_and_fail(
    env_for_cli: Path, database_url: str
) -> None:
    seed_failure_now(database_url)
    half = runner.invoke(app, ["sla", "report", "--operator", "kolkata", "--from", "2026-10-01"])
    assert half.exit_code == 2
    assert "--to" in half.output
    assert "period=" not in half.output
    both = runner.invoke(
        app, ["sla", "report", "--period", "2026-10", "--from", "2026-10-01", "--to", "2026-10-02"]
    )
    assert both.exit_code == 2
    issue = runner.invoke(app, ["sla", "issue", "--operator", "kolkata"])
    assert issue.exit_code == 2
    assert "--period" in issue.output


def seed_failure_now(database_url: str) -> None:
    async def go() -> None:
        engine = make_engine(database_url)
        try:
            sessions = make_sessionmaker(engine)
            now = SystemClock().now()
            await add_operator(sessions, "kolkata", "Asia/Kolkata", now=now)
            probe = await add_probe(sessions, "kolkata", interval=120, now=now)
            failed = Result(
                probe.id,
                now - timedelta(seconds=30),
                now - timedelta(seconds=30),
                "timeout",
                10_000.0,
            )
            await store(sessions, probe, [failed])
        finally:
            await engine.dispose()

    asyncio.run(go())
