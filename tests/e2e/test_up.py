"""``mobileplans up`` as a user runs it: a real process, real sockets on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = pytest.mark.e2e


class UpProcess:
    def __init__(self, data_dir: Path, database_url: str, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        env = {**os.environ, "MP_DATABASE_URL": database_url}
        env.pop("MP_ADMIN_TOKEN", None)
        self.endpoints_file = data_dir / "endpoints.json"
        self.endpoints_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mobileplans.cli.main",
                "up",
                "--data-dir",
                str(data_dir),
                "--port-base",
                str(port),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"up exited early:\n{self.process.stdout.read() if self.process.stdout else ''}"
                )
            if self.endpoints_file.exists():
                try:
                    if (
                        httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code
                        == 200
                    ):
                        return json.loads(self.endpoints_file.read_text())  # type: ignore[no-any-return]
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        raise AssertionError("up did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(sig)
        output, _ = self.process.communicate(timeout=20)
        return self.process.returncode, output


def commands_on(
    data_dir: Path, database_url: str
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `mobileplans ARGS` as a user would after `export MP_DATA_DIR=...`."""
    env = {**os.environ, "MP_DATA_DIR": str(data_dir), "MP_DATABASE_URL": database_url}
    env.pop("MP_URL_POLICY", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mobileplans.cli.main", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    return cli


@pytest.fixture
def up_runner(tmp_path: Path, database_url: str) -> Iterator[list[UpProcess]]:
    started: list[UpProcess] = []
    yield started
    for up in started:
        if up.process.poll() is None:
            up.process.kill()
            up.process.wait()


def test_up_serves_the_demo_and_keeps_data_across_restarts(
    up_runner: list[UpProcess], tmp_path: Path, database_url: str
) -> None:
    from tests.simulator.stack import free_port_block  # imports this module

    data_dir, port = tmp_path / "data", free_port_block()  # up binds N..N+9
    up = UpProcess(data_dir, database_url, port)
    up_runner.append(up)
    endpoints = up.wait_ready()
    broker = f"http://127.0.0.1:{port}"
    assert endpoints["broker"] == broker
    assert {"operator", "smdp", "dashboard", "admin_token", "operators", "demo"} <= set(endpoints)
    assert endpoints["dashboard"] == f"http://127.0.0.1:{port + 3}"  # the console (issue #10)
    assert httpx.get(f"{endpoints['dashboard']}/signin").status_code == 200
    token = str(endpoints["admin_token"])
    assert (data_dir / "admin_token").read_text().strip() == token
    assert stat.S_IMODE((data_dir / "admin_token").stat().st_mode) == 0o600
    assert stat.S_IMODE(up.endpoints_file.stat().st_mode) == 0o600  # it holds the token
    operators = {o["id"]: o for o in endpoints["operators"]}  # type: ignore[attr-defined]
    assert operators["contoso"]["name"] == "Contoso Cellular"
    assert operators["contoso"]["countries"] == ["US"]
    assert operators["fabrikam"]["countries"] == ["FR", "GB"]
    assert operators["contoso"]["portal_url"] == f"http://127.0.0.1:{port + 1}/contoso/portal/"
    assert operators["contoso"]["iccid_ranges"] == [
        ["8901999000000000000", "8901999099999999999", "full"]
    ]

    us = httpx.get(f"{broker}/v1/providers", params={"location": "US"}).json()
    assert [p["moId"] for p in us["providers"]] == ["contoso"]
    # Fabrikam is in Integration (D146, D167): production offers it only to its test SIMs
    fr = httpx.get(f"{broker}/v1/providers", params={"location": "fr"}).json()
    assert fr["providers"] == []
    fabrikam_sim = endpoints["demo"]["by_operator"]["fabrikam"]["sims"]["active_prepaid"]  # type: ignore[index]
    fr = httpx.get(f"{broker}/v1/providers", params={"location": "FR", "iccid": fabrikam_sim})
    assert [p["moId"] for p in fr.json()["providers"]] == ["fabrikam"]
    staging = {"location": "FR", "environment": "staging"}
    fr = httpx.get(f"{broker}/v1/providers", params=staging).json()
    assert [p["moId"] for p in fr["providers"]] == ["fabrikam"]
    sim = httpx.get(f"{broker}/v1/sims/8901999000000000000").json()
    assert sim["field"] == "iccid"  # range start has no valid check digit: a clear 400

    cli = commands_on(data_dir, database_url)
    exported = cli("config", "export")
    assert exported.returncode == 0, exported.stderr
    operators_yaml = {o["id"]: o for o in yaml.safe_load(exported.stdout)["operators"]}
    assert operators_yaml["fabrikam"]["callbackApi"] == "legacy"  # its portal calls DataMart
    assert operators_yaml["contoso"]["callbackApi"] == "current"
    (tmp_path / "config.yaml").write_text(exported.stdout)
    reimported = cli("config", "import", str(tmp_path / "config.yaml"))
    assert reimported.returncode == 0, reimported.stderr  # up's URL policy is kept
    assert "must use https" not in reimported.stderr

    auth = {"Authorization": f"Bearer {token}"}
    config = httpx.get(f"{broker}/v1/admin/config", headers=auth).text
    renamed = config.replace("id: fabrikam", "id: northwind").replace(
        "Fabrikam Mobile", "Northwind"
    )
    imported = httpx.put(f"{broker}/v1/admin/config", content=renamed, headers=auth)
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == ["northwind"]
    assert imported.json()["deleted"] == ["fabrikam"]

    code, output = up.stop(signal.SIGTERM)
    assert code == 0, output
    assert "stopped" in output
    assert token in output  # printed once, when it was made
    assert f"export MP_DATA_DIR={data_dir.resolve()}" in output

    again = UpProcess(data_dir, database_url, port)
    up_runner.append(again)
    endpoints = again.wait_ready()
    assert endpoints["admin_token"] == token
    ids = {o["id"] for o in endpoints["operators"]}  # type: ignore[attr-defined]
    assert ids == {"contoso", "northwind", "tailspin"}  # onboarding demo (issue #9)
    code, output = again.stop(signal.SIGINT)
    assert code == 0, output
    assert token not in output  # not on every start: it would land in the logs
