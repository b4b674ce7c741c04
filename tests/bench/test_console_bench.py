"""``bench/console.py`` in a tiny configuration, so it cannot rot: 5 operators (10 probes),
a day of rollups, 2 hours of raw results, a few incidents and windows; the real console
process on a free port on 127.0.0.1, every page measured a few times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import _procs
from bench import console as bench_console
from mobileplans.domains.access.service import TOKEN_PREFIX

pytestmark = pytest.mark.e2e


def test_console_bench_runs_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"
    argv = ["--operators", "5", "--days", "1", "--raw-hours", "2", "--incidents", "3"]
    argv += ["--maintenance", "2", "--requests", "3", "--warmup", "1"]
    argv += ["--port", str(_procs.free_port()), "--workdir", str(tmp_path), "--json", str(out)]
    assert bench_console.main(argv) == 0
    document = json.loads(out.read_text())
    seeded = document["seeded"]
    assert len(seeded["operators"]) == 5
    assert seeded["probes"] == 10  # a portal and a GetBalance probe each, from the sync
    assert seeded["incidents"] == 3
    assert seeded["maintenance"] == 2
    assert seeded["rollup_rows"]["hour"] > 0
    assert seeded["raw_rows"] > 0
    assert TOKEN_PREFIX not in out.read_text()  # the operator's credential is never written
    pages = [(r["path"], r["party"]) for r in document["results"]]
    assert pages == [
        ("/healthz", "platform"),
        ("/status", "platform"),
        ("/", "platform"),
        ("/overview/rows", "platform"),
        ("/?sort=availability", "platform"),
        ("/operators/op0001", "platform"),
        ("/operators/op0001", "operator"),
    ]
    for result in document["results"]:
        assert result["requests"] == 3
        assert result["server_p50_ms"] > 0  # the app's histogram moved for this route
        assert result["cpu_ms_per_request"] > 0
        assert result["response_bytes"] > 0 or result["path"] == "/healthz"
    assert "overview rows (15-s poll) /overview/rows" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == [out]  # the work directory is removed
