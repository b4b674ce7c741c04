"""The figures ``bench/balances.py --broker-probe`` reports from the broker's probe file
(``bench/_broker_probe/sitecustomize.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench._load import percentile


def probe_figures(path: Path) -> dict[str, Any]:
    """What the broker's probe counted over its life after start-up (all runs)."""
    found = json.loads(path.read_text())
    pauses = [ms for _, ms in found["pauses"]]
    calls = max(1, int(found["counts"].get("upstream_calls", 0)))
    by_generation = {
        str(g): {
            "collections": sum(1 for gen, _ in found["pauses"] if gen == g),
            "cpu_ms": round(sum(ms for gen, ms in found["pauses"] if gen == g), 1),
            "max_ms": round(max((ms for gen, ms in found["pauses"] if gen == g), default=0), 2),
        }
        for g in (0, 1, 2)
    }
    return {
        "gc_thresholds": found["thresholds"],
        "gc_by_generation": by_generation,
        "gc_pauses_ge_1ms": sum(1 for ms in pauses if ms >= 1),
        "gc_pauses_ge_3ms": sum(1 for ms in pauses if ms >= 3),
        "gc_pauses_ge_10ms": sum(1 for ms in pauses if ms >= 10),
        "gc_cpu_us_per_upstream_call": round(sum(pauses) * 1e3 / calls, 1),
        "gc_collected_per_upstream_call": round(found.get("collected", 0) / calls, 2),
        "upstream_calls": calls,
        "connections_opened": found["counts"].get("connections_opened", 0),
        "connections_opened_per_1000_calls": round(
            found["counts"].get("connections_opened", 0) * 1e3 / calls, 2
        ),
        "sql_statements": found["statements"],
        "copies": found["counts"].get("copies", 0),
        **_flush_figures(found.get("flushes", [])),
        **_lateness_figures(found.get("late_ms", [])),
    }


def _share(values: list[float], q: float) -> float:
    return round(percentile(sorted(values), q), 2)


def _flush_figures(flushes: list[list[float]]) -> dict[str, Any]:
    """The call-record flushes: CPU of the loop thread across each, and its wall time."""
    cpu = [c for c, _ in flushes]
    wall = [w for _, w in flushes]
    return {
        "flushes": len(flushes),
        "flush_cpu_ms_p50_p99_max": [
            _share(cpu, 50),
            _share(cpu, 99),
            round(max(cpu, default=0), 2),
        ],
        "flush_wall_ms_p50_p99_max": [
            _share(wall, 50),
            _share(wall, 99),
            round(max(wall, default=0), 2),
        ],
    }


def _lateness_figures(late: list[float]) -> dict[str, Any]:
    """How late a 1 ms timer on the broker's loop woke: how long the loop was held."""
    return {
        "loop_late_ms_p50_p99_p999": [_share(late, 50), _share(late, 99), _share(late, 99.9)],
        "loop_late_ge_3ms": sum(1 for ms in late if ms >= 3),
        "loop_late_ge_5ms": sum(1 for ms in late if ms >= 5),
        "loop_samples": len(late),
    }
