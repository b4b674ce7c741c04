"""``mobileplans onboarding`` as a shell user runs it: an operator walked from Feasibility
to its accepted launch on a frozen clock; bad input is one line and writes nothing."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from mobileplans.apps.broker.app import create_app
from mobileplans.cli import onboarding_cmd
from mobileplans.cli.demo_onboarding import ensure_onboarding_demo
from mobileplans.cli.demo_registry import Ports, ensure_demo
from mobileplans.cli.main import app
from mobileplans.cli.onboarding_cmd import file_over_http
from mobileplans.config import Settings
from mobileplans.db.engine import make_engine
from mobileplans.db.models import Notification
from mobileplans.db.session import make_sessionmaker, session_scope
from mobileplans.domains.catalog.launch import DeviceContext
from mobileplans.domains.catalog.service import ProviderCatalog
from mobileplans.domains.operator_registry import service as registry_service
from mobileplans.domains.operator_registry.schemas import OperatorSpec
from mobileplans.domains.operator_registry.snapshot import load_snapshot
from mobileplans.domains.probe import service as probe_service
from mobileplans.kit.clock import FrozenClock
from tests.domains.onboarding.support import (
    DEVICES_OK,
    GETBALANCE_OK,
    LIVE_DEVICE_ICCID,
    TEST_DEVICE_ICCID,
    green_probes,
    northwind,
    report,
)
from tests.support import free_port

runner = CliRunner()
T = TypeVar("T")
Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def in_db(database_url: str, action: Callable[[Sessions], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = make_engine(database_url)
        try:
            return await action(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def _add(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        spec = OperatorSpec.model_validate(northwind())
        await registry_service.put_operator(session, spec, actor="test", now=NOW)


async def _what_changes(sessions: Sessions) -> tuple[list[str], list[str], list[str]]:
    """The phase's effects as the service sees them now: production providers for a
    test-range and a full-range device, the enabled production probes, and the platform
    address of the last incident's notifications (D146-D148)."""
    async with session_scope(sessions) as session:
        snapshot = await load_snapshot(session)
        offered = []
        for iccid in (TEST_DEVICE_ICCID, LIVE_DEVICE_ICCID):
            device = DeviceContext(location="FR", market="FR", iccid=iccid)
            body, _ = ProviderCatalog().answer(snapshot, device, environment="production", now=NOW)
            offered.append(",".join(p["moId"] for p in body["providers"]) or "-")
        await probe_service.sync_from_registry(session, now=NOW)
        probes = await probe_service.list_probes(session, operator_id="northwind")
        last = await session.scalar(select(func.max(Notification.incident_id)))
        recipients = await session.scalars(
            select(Notification.recipient).where(Notification.incident_id == last)
        )
    enabled = [p.kind for p in probes if p.environment == "production" and p.enabled]
    platform = sorted(r for r in recipients if r.endswith("@platform.example"))
    return offered, enabled, platform


def _effects(world: str, incident: str | None = None) -> tuple[list[str], list[str], list[str]]:
    if incident is not None:
        args = ["--operator", "northwind", "--title", "t", "--severity", "sev3"]
        declared = runner.invoke(app, ["incidents", "declare", *args, "--category", incident])
        assert declared.exit_code == 0, declared.output
    return in_db(world, _what_changes)


async def _probes(sessions: Sessions) -> None:
    async with session_scope(sessions) as session:
        await green_probes(session, "northwind", now=NOW)


@pytest.fixture
def world(env_for_cli: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(onboarding_cmd, "clock", FrozenClock(NOW))
    in_db(database_url, _add)
    return database_url


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["onboarding", *args], env={"COLUMNS": "80"})
    return result.exit_code, result.output


def ok(*args: str) -> str:
    code, output = cli(*args)
    assert code == 0, output
    return output


def file(tmp_path: Path, name: str, document: dict[str, object]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_feasibility_to_accepted_launch(world: str, tmp_path: Path) -> None:
    shown = ok("start", "northwind", "--plan", "mobile-plans", "--start", "2026-11-02")
    assert "phase feasibility" in shown
    assert "assess-scenarios" in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    for key, sides in [
        ("assess-scenarios", ("platform", "operator")),
        ("commit", ("platform", "operator")),
        ("cosa-update", ("operator",)),
        ("code-complete", ("operator",)),
        ("test-sign-off", ("platform",)),
        ("customer-support", ("platform", "operator")),
        ("commercial-agreement", ("operator",)),
    ]:
        for side in sides:
            extra = ["--as-operator", "northwind"] if side == "operator" else []
            ok("record", "northwind", key, "--note", "agreed", *extra)
    code, output = cli("go-no-go", "northwind")
    assert code == 1
    assert "NO-GO" in output
    assert "getbalance-validated" in output
    code, output = cli("go", "northwind")
    assert code == 1
    assert "Go refused" in output
    assert len(output.strip().splitlines()) == 1
    staging = report("staging", {**GETBALANCE_OK, **DEVICES_OK}, finished=NOW)
    assert "filed conformance-run#1" in ok(
        "evidence", "northwind", "--file", file(tmp_path, "s.json", staging)
    )
    offered, probes, platform = _effects(world, "other")
    assert offered == ["-", "-"]  # Integration, production not promoted: nobody
    assert probes == []
    assert platform == ["mp-implementation@platform.example"]  # before launch (D148)
    promoted = ok("promote", "northwind", "--range", "test")
    assert "portal URL" in promoted
    assert "applied" in promoted
    offered, probes, _ = _effects(world)
    assert offered == ["northwind", "-"]  # its production test range only (D146)
    assert probes == []  # production probes wait for Rollout & Launch (D147)
    ok(
        "evidence",
        "northwind",
        "--file",
        file(tmp_path, "p.json", report("production", DEVICES_OK, finished=NOW)),
    )
    load = report("production", {"LOAD-001": "pass"}, finished=NOW, kind="conformance-load")
    ok("evidence", "northwind", "--file", file(tmp_path, "l.json", load))
    assert json.loads(ok("show", "northwind", "--json"))["phase"] == "rollout"
    offered, probes, _ = _effects(world)
    assert probes  # Rollout & Launch: production probes run
    assert offered == ["northwind", "-"]
    in_db(world, _probes)
    assert "northwind: GO" in ok("go-no-go", "northwind")
    ok("go", "northwind", "--as-operator", "northwind", "--note", "ready")
    assert "both sides" in ok("go", "northwind", "--note", "ready")
    ok("promote", "northwind", "--range", "full")
    offered, _, _ = _effects(world)
    assert offered == ["northwind", "-"]  # Go and the full range, but not launched yet
    ok("launch", "northwind", "--note", "09:00 Paris")
    offered, _, platform = _effects(world, "endpoint_failure")
    assert offered == ["northwind", "northwind"]  # launched: everyone in its countries
    assert "mp-implementation@platform.example" not in platform
    assert platform  # operations support now (D148)
    assert "accepted" in ok("accept", "northwind", "--note", "launch-day E2E passed")
    shown = ok("show", "northwind")
    assert "phase post-launch" in shown
    assert "accepted by the operator" in shown
    assert "conformance-run#1" in shown  # evidence of GetBalance validated


def test_bad_input_is_one_line_and_writes_nothing(world: str, tmp_path: Path) -> None:
    ok("start", "northwind", "--start", "2026-11-02")
    edited = {**report("staging", GETBALANCE_OK, finished=NOW), "verdict": "fail"}
    code, output = cli("evidence", "northwind", "--file", file(tmp_path, "e.json", edited))
    assert code == 1
    assert "sha256" in output
    assert len(output.strip().splitlines()) == 1
    code, output = cli("evidence", "northwind", "--file", str(tmp_path / "missing.json"))
    assert code == 1
    assert "missing.json" in output
    code, output = cli("record", "northwind", "getbalance-validated", "--note", "trust me")
    assert code == 1
    assert "cannot be ticked by hand" in output
    code, output = cli("start", "nobody", "--start", "2026-11-02")
    assert code == 1
    assert "nobody" in output
    shown = json.loads(ok("show", "northwind", "--json"))
    assert shown["evidence"] == []
    assert all(m["doneAt"] is None for m in shown["milestones"] if m["kind"] == "manual")


def test_a_registry_run_of_the_kit_is_filed_over_http(world: str, tmp_path: Path) -> None:
    """``conformance run|load --operator`` posts its report to the broker of endpoints.json."""
    ok("start", "northwind", "--start", "2026-11-02")
    port = free_port()
    sessions = make_sessionmaker(make_engine(world))
    app = create_app(Settings(data_dir=tmp_path), sessions, admin_token="t0ken")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        endpoints = tmp_path / "endpoints.json"
        endpoints.write_text(
            json.dumps({"broker": f"http://127.0.0.1:{port}", "admin_token": "t0ken"})
        )
        document = report("staging", GETBALANCE_OK, finished=NOW)
        del document["sha256"]  # the kit hands over the unsealed document
        said = file_over_http(endpoints, "northwind", document)
        assert said == "filed as onboarding evidence conformance-run#1 of northwind"
        said = file_over_http(endpoints, "contoso", document)
        assert said.startswith("onboarding evidence not filed (404)")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    shown = json.loads(ok("show", "northwind", "--json"))
    assert [e["runId"] for e in shown["evidence"]] == ["conformance-run#1"]


async def _demo(sessions: Sessions) -> None:
    await ensure_demo(sessions, Ports("127.0.0.1", 9800))
    await ensure_onboarding_demo(sessions, NOW)
    await ensure_onboarding_demo(sessions, NOW)  # a second start seeds nothing more


def test_demo_projects(
    env_for_cli: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``up``: Contoso live and accepted, Fabrikam in Integration with its staging
    GetBalance run filed, one milestone slipping and production in its test range (D167),
    Tailspin in Feasibility."""
    monkeypatch.setattr(onboarding_cmd, "clock", FrozenClock(NOW))
    in_db(database_url, _demo)
    contoso = json.loads(ok("show", "contoso", "--json"))
    assert contoso["phase"] == "post-launch"
    assert contoso["acceptedAt"] is not None
    fabrikam = json.loads(ok("show", "fabrikam", "--json"))
    assert fabrikam["phase"] == "integration"
    assert fabrikam["slipping"] == ["e2e-staging"]
    assert fabrikam["productionStage"] == "test"
    done = {m["key"] for m in fabrikam["milestones"] if m["doneAt"]}
    assert {"service-configuration", "getbalance-validated"} <= done
    assert "e2e-staging" not in done
    assert [e["runId"] for e in fabrikam["evidence"]] == ["conformance-run#1"]
    assert json.loads(ok("show", "tailspin", "--json"))["phase"] == "feasibility"
    shown = ok("show", "fabrikam")
    assert "SLIPPING" in shown
    assert "conformance-run#1" in shown
    assert max(len(line) for line in shown.splitlines()) <= 80


def test_an_operator_live_before_tracking_is_adopted(world: str) -> None:
    shown = ok("start", "northwind", "--start", "2026-05-04", "--live")
    assert "phase post-launch" in shown
    assert "accepted by the operator" in shown
    code, output = cli("record", "northwind", "commit", "--note", "again")
    assert code == 1
    assert "already completed" in output
