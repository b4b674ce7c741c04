"""``bench/balances.py``: what the broker adds is paired request by request with the MO
stand-in's own time for the same request (decision D192); a tiny real run keeps the
bench from rotting (broker, stand-in and generator as separate processes on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench import balances as bench_balances


def test_added_is_each_requests_latency_minus_the_standins_time_for_it() -> None:
    through_broker = {f"tx{n}": 200.0 + n for n in range(100)}  # 200 … 299 ms
    held = {f"tx{n}": 199.0 + n for n in range(100)}  # the stand-in held each 1 ms less
    held["other"] = 5_000.0  # a request the generator did not record: not paired
    found = bench_balances.paired_added({**through_broker, "lost": 210.0}, held)
    assert (found["paired"], found["unpaired"]) == (100, 1)
    assert found["added_p50_ms"] == pytest.approx(1.0)
    assert found["added_p99_ms"] == pytest.approx(1.0)  # not 299 - 5,000 or 299 - 199
    held["tx7"] = 150.0  # one request the broker held 57 ms longer than the stand-in did
    assert bench_balances.paired_added(through_broker, held)["added_max_ms"] == pytest.approx(57.0)


def test_the_standin_runs_first_in_first_out_or_says_why_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        said = bench_balances.realtime(child.pid)
        policy = os.sched_getscheduler(child.pid)
        if said.startswith("SCHED_FIFO"):  # the privilege is there (root, CAP_SYS_NICE)
            assert policy == os.SCHED_FIFO
            assert os.sched_getparam(child.pid).sched_priority == 10
        else:
            assert "refused" in said
            assert policy == os.SCHED_OTHER
    finally:
        child.kill()
        child.wait()
    assert "refused" in bench_balances.realtime(child.pid)  # gone: said, not raised


@pytest.mark.e2e
def test_balances_bench_runs_tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where its work directory goes
    out = tmp_path / "figures.json"
    argv = ["--rate", "40", "--duration", "2", "--warmup", "0.5", "--runs", "1"]
    argv += ["--delay", "0.05", "--json", str(out), "--broker-probe"]
    assert bench_balances.main(argv) == 0
    document = json.loads(out.read_text())
    [run] = document["balances"]["runs"]
    broker = run["broker"]
    assert broker["errors"] == 0
    assert broker["paired"] == broker["ok"] == 80  # every answer paired with the stand-in's
    assert broker["unpaired"] == 0
    assert broker["standin_held_p99_ms"] >= 50.0  # the stand-in's delay, as it measured it
    # each request's added time is its latency minus what the stand-in held it (>= its
    # 50 ms delay, measured inside the stand-in, so a little less than the client sees):
    # the stand-in's time is taken off, not nothing and not more than the latency
    assert 0.0 < broker["added_p50_ms"] < broker["p50_ms"] - 45.0
    summary = document["summary"]
    assert summary["standin_scheduling"] == document["balances"]["standin_scheduling"]
    assert summary["standin_scheduling"].startswith(("SCHED_FIFO", "as the bench"))
    assert summary["added_p99_ms_median"] == broker["added_p99_ms"]
    # the same pairing straight at the stand-in (the harness's own share): every request
    # paired by the transaction id the generator sent, and far below the 50 ms delay
    standin = run["standin"]
    assert standin["harness_paired"] == standin["ok"] == 80
    assert standin["harness_unpaired"] == 0
    assert 0.0 < standin["harness_added_p50_ms"] < 45.0
    assert summary["harness_added_p99_ms_runs"] == [standin["harness_added_p99_ms"]]
    # the proxy's floor (bench._bare --proxy) loaded the same way in the same run: each of
    # its answers paired too, and the broker's CPU is reported over the floor's
    floor = run["bare_proxy"]
    assert floor["errors"] == 0
    assert floor["paired"] == floor["ok"] == 80
    assert 0.0 < floor["added_p50_ms"] < floor["p50_ms"] - 45.0
    ratio = broker["cpu_ms_per_request"] / floor["cpu_ms_per_request"]
    assert summary["broker_cpu_over_bare_proxy_runs"] == [pytest.approx(ratio)]
    assert summary["bare_proxy_cpu_ms_per_request"] == floor["cpu_ms_per_request"]
    # the probe inside the broker timed its call-record flushes and its loop's lateness
    probe = document["broker_probe"]
    assert probe["flushes"] >= 1
    assert probe["flush_cpu_ms_p50_p99_max"][0] > 0.0
    assert probe["loop_samples"] > 100  # a 1 ms timer over a few seconds of runs
    assert list(scratch.iterdir()) == []  # the work directory is gone (kept with --keep)
