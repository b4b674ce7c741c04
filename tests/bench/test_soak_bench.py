"""``bench/soak.py`` (issue #11): how a 5xx is set against the fault windows, how the
server-side counts are read, and a tiny real soak on PostgreSQL (every process real, faults
injected through the proxies) whose verdict must hold."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import _soak_checks, _soak_report
from bench import soak as bench_soak
from tests.support import pg_url

MO_WINDOW = {"hop": "mo", "mode": "refuse", "start": 100.0, "end": 110.0}


def test_a_5xx_is_explained_only_by_a_window_of_a_hop_its_app_depends_on() -> None:
    explained = bench_soak.explained
    assert explained("broker", (105.0, 106.0), [MO_WINDOW])
    grace = bench_soak.GRACE_S
    assert explained("broker", (110.0 + grace - 1, 140.0), [MO_WINDOW])  # just after it
    assert not explained("broker", (110.0 + grace + 1, 140.0), [MO_WINDOW])
    assert not explained("broker", (50.0, 99.0), [MO_WINDOW])  # before it
    es2 = {**MO_WINDOW, "hop": "es2"}
    assert not explained("broker", (105.0, 106.0), [es2])  # the broker never calls the SM-DP+
    assert explained("smdp", (105.0, 106.0), [es2])
    assert not explained("incidents", (105.0, 106.0), [MO_WINDOW, es2])


EXPOSITION = """\
# HELP mobileplans_http_requests_total HTTP requests served
# TYPE mobileplans_http_requests_total counter
mobileplans_http_requests_total{app="broker",method="GET",route="/v1/balances",status="200"} 41.0
mobileplans_http_requests_total{app="broker",method="GET",route="/v1/balances",status="502"} 3.0
mobileplans_http_requests_total{app="smdp",method="POST",route="/rsp/x",status="200"} 7.0
mobileplans_http_request_duration_seconds_count{app="broker",route="/v1/balances"} 44.0
"""


def test_the_request_counter_is_read_by_app_route_and_status() -> None:
    counts = _soak_checks._requests("up", EXPOSITION)
    assert counts == Counter(
        {
            ("up", "broker", "/v1/balances", "200"): 41,
            ("up", "broker", "/v1/balances", "502"): 3,
            ("up", "smdp", "/rsp/x", "200"): 7,
        }
    )


def test_server_side_places_each_5xx_in_the_interval_it_was_counted_in() -> None:
    key = ("up", "broker", "/v1/balances", "502")
    ok = ("up", "broker", "/v1/balances", "200")
    watch = _soak_checks.Watch()
    watch.counts = [
        (90.0, Counter({ok: 10})),
        (100.0, Counter({ok: 20, key: 0})),
        (110.0, Counter({ok: 22, key: 5})),  # 5 during the mo window
        (140.0, Counter({ok: 30, key: 5})),
        (200.0, Counter({ok: 40, key: 7})),  # 2 in an interval that starts after its grace
    ]
    found = _soak_report.server_side(watch, [MO_WINDOW], bench_soak.explained)
    assert found["5xx_during_faults"] == {"up broker /v1/balances 502": 5}
    assert found["5xx_outside"] == {"up broker /v1/balances 502": 2}
    served = {(r["status"]): r["requests"] for r in found["requests"]}
    assert served == {"200": 30, "502": 7}


def test_memory_is_compared_from_the_first_sample_after_the_warm_up() -> None:
    watch = _soak_checks.Watch()
    watch.processes = {"up": [(0.0, 50.0, 10), (60.0, 100.0, 30), (120.0, 104.0, 31)]}
    report = _soak_checks.memory_report(watch, warmup_until=60.0)["up"]
    assert (report["rss_start_mb"], report["rss_growth_mb"]) == (100.0, 4.0)
    assert (report["fds_start"], report["fds_end"], report["alive_at_end"]) == (30, 31, True)
    watch.processes["up"].append((180.0, float("nan"), -1))  # gone
    assert not _soak_checks.memory_report(watch, 60.0)["up"]["alive_at_end"]


@pytest.fixture
def soak_database() -> str:
    """A scratch database beside the test database (the soak drops its schema)."""
    base = pg_url()
    assert base is not None
    name = f"mp_soak_test_{os.getpid()}"
    server = base.rsplit("/", 1)[0]

    async def admin(statement: str) -> None:
        engine = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name}"))
    asyncio.run(admin(f"CREATE DATABASE {name}"))
    yield f"{server}/{name}"
    asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.mark.e2e
@pytest.mark.skipif(pg_url() is None, reason="PostgreSQL pass only (MP_TEST_DATABASE_URL)")
def test_a_tiny_soak_holds_its_invariants(soak_database: str, tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    argv = ["--postgres", soak_database, "--minutes", "0.6", "--devices", "1", "--rate", "5"]
    argv += ["--operators", "5", "--profiles", "200", "--incident-every", "15"]
    argv += ["--fault-every", "12", "--fault-seconds", "6", "--drain", "90"]
    with pytest.raises(SystemExit) as exited:
        bench_soak.main([*argv, "--json", str(out)])
    document = json.loads(out.read_text())
    assert exited.value.code == 0, document
    assert document["verdict"]["holds"]
    assert document["fault_windows"][0]["hop"] == "mo"  # the schedule's first fault ran
    flyout = document["client"]["flyout GetBalance (broker)"]["statuses"]
    assert flyout.get("200", 0) > 0
    assert document["client"]["device flow (first-run eSIM)"]["statuses"].get("ok", 0) > 0
    assert document["invariants"]["notifications"]["delivered_emails"] > 0
    assert all(p["alive_at_end"] for p in document["processes"].values())


def test_the_memory_series_and_the_second_half_show_a_steady_climb() -> None:
    watch = _soak_checks.Watch()
    watch.processes = {"up": [(t * 10.0, 100.0 + t, 20) for t in range(0, 91)]}  # +1 MB/10 s
    report = _soak_checks.memory_report(watch, warmup_until=0.0)["up"]
    assert report["rss_every_5_min_mb"] == [100.0, 130.0, 160.0, 190.0]
    assert report["rss_growth_second_half_mb"] == 45.0


def test_tracebacks_in_a_servers_log_are_counted(tmp_path: Path) -> None:
    log = tmp_path / "up.log"
    traceback = "Traceback (most recent call last):\n  x\n"
    log.write_text("ok\n" + traceback * 2)
    quiet = tmp_path / "side.log"
    quiet.write_text("database unavailable: worker claims (no traceback)\n")
    assert _soak_checks.logged_errors({"up": log, "side": quiet}) == {"up": 2, "side": 0}
