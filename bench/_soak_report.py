"""The soak's report: a JSON document and the tables printed from it."""

from __future__ import annotations

import argparse
import platform
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import _stack
from bench._soak_checks import Watch, logged_errors, memory_report
from bench._soak_load import Recorder

Explained = Callable[[str, tuple[float, float], list[dict[str, Any]]], bool]


def server_side(
    watch: Watch, windows: list[dict[str, Any]], explained: Explained
) -> dict[str, Any]:
    """Requests by source, app, route and status over the run, and each 5xx placed against
    the fault windows (by the scrape interval it was counted in)."""
    totals: Counter[tuple[str, str, str, str]] = Counter()
    during, outside = Counter(), Counter()  # type: ignore[var-annotated]
    for (t0, before), (t1, after) in zip(watch.counts, watch.counts[1:], strict=False):
        for key, value in after.items():
            delta = value - before.get(key, 0)
            if delta <= 0:
                continue
            totals[key] += delta
            if key[3].startswith("5"):
                bucket = during if explained(key[1], (t0, t1), windows) else outside
                bucket[" ".join(key)] += delta
    rows = [
        {"source": s, "app": a, "route": r, "status": st, "requests": n}
        for (s, a, r, st), n in sorted(totals.items())
    ]
    return {"requests": rows, "5xx_during_faults": dict(during), "5xx_outside": dict(outside)}


def document(
    args: argparse.Namespace,
    recorder: Recorder,
    watch: Watch,
    windows: list[dict[str, Any]],
    checks: dict[str, Any],
    pending: dict[str, int],
    warmup: tuple[float, float],
    explained: Explained,
    logs: dict[str, Path],
) -> dict[str, Any]:
    client = recorder.by_interface()
    server = server_side(watch, windows, explained)
    client_5xx_outside = [
        s for s in recorder.samples
        if s.status.startswith("5")
        and not explained(_app_of(s.interface), (s.started, s.started + s.ms / 1000), windows)
    ]  # fmt: skip
    memory = memory_report(watch, warmup[1])
    tracebacks = logged_errors(logs)
    holds = (
        not any(tracebacks.values())
        and not server["5xx_outside"]
        and not client_5xx_outside
        and all(check["holds"] for check in checks.values())
        and all(p["alive_at_end"] for p in memory.values())
    )
    return {
        "args": {k: str(v) if v is not None else None for k, v in vars(args).items()},
        "machine": {"python": platform.python_version(), **_stack.load_average()},
        "fault_windows": [
            {**w, "start": round(w["start"] - warmup[0], 1), "end": round(w["end"] - warmup[0], 1)}
            for w in windows
        ],
        "client": client,
        "device_flow_failures": dict(recorder.flow_failures.most_common()),
        "server": server,
        "client_5xx_outside_faults": len(client_5xx_outside),
        "processes": memory,
        "tracebacks_logged": tracebacks,
        "pending_after_drain": pending,
        "invariants": checks,
        "verdict": {"holds": holds},
    }


def _app_of(interface: str) -> str:
    """The dependency entry of a client-side interface: the flyout's read crosses the
    broker → MO API hop; the incidents API depends on no faulted hop."""
    return "incidents" if interface.startswith("incidents") else "broker"


def show(console: Console, doc: dict[str, Any]) -> None:
    table = Table(title="Requests by interface (client side)")
    for column in ("interface", "requests", "statuses", "p50 ms", "p99 ms"):
        table.add_column(column)
    for name, row in doc["client"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in row["statuses"].items())
        table.add_row(name, str(row["requests"]), statuses, str(row["p50_ms"]), str(row["p99_ms"]))
    console.print(table)
    if doc["device_flow_failures"]:
        console.print("device flow failures:", doc["device_flow_failures"])
    _show_server(console, doc["server"])
    _show_processes(console, doc["processes"])
    console.print("fault windows:", len(doc["fault_windows"]))
    console.print("tracebacks logged:", doc["tracebacks_logged"])
    for name, check in doc["invariants"].items():
        mark = "[green]holds[/green]" if check["holds"] else "[red]FAILS[/red]"
        figures = {k: v for k, v in check.items() if k != "holds"}
        console.print(f"{name}: {mark} {figures}")
    verdict = "[green]PASS[/green]" if doc["verdict"]["holds"] else "[red]FAIL[/red]"
    console.print(
        f"{verdict}: 5xx outside faults: server {sum(doc['server']['5xx_outside'].values())}, "
        f"client {doc['client_5xx_outside_faults']}; "
        f"during faults: {sum(doc['server']['5xx_during_faults'].values())}"
    )


def _show_server(console: Console, server: dict[str, Any]) -> None:
    table = Table(title="Requests served (server side, /metrics)")
    for column in ("source", "app", "route", "status", "requests"):
        table.add_column(column)
    for row in server["requests"]:
        table.add_row(*(str(row[k]) for k in ("source", "app", "route", "status", "requests")))
    console.print(table)


def _show_processes(console: Console, processes: dict[str, Any]) -> None:
    table = Table(title="Processes: resident memory (MB) and open descriptors")
    columns = ("process", "RSS start", "RSS end", "peak", "growth", "2nd half", "fds start")
    for column in (*columns, "fds end", "RSS every 5 min"):
        table.add_column(column)
    for name, p in processes.items():
        table.add_row(
            name,
            str(p["rss_start_mb"]),
            str(p["rss_end_mb"]),
            str(p["rss_peak_mb"]),
            str(p["rss_growth_mb"]),
            str(p["rss_growth_second_half_mb"]),
            str(p["fds_start"]),
            str(p["fds_end"]),
            " ".join(str(v) for v in p["rss_every_5_min_mb"]),
        )
    console.print(table)
