"""The tables ``bench/getbalance.py`` prints."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import _procs

P99_LIMIT_MS = 50.0
console = Console(width=None if sys.stdout.isatty() else 160)


def summary_table(documents: list[dict[str, Any]], args: argparse.Namespace) -> Table:
    table = Table(
        title=f"GetBalance, one process each: closed loop wrk -c{args.connections} "
        f"{args.duration:g} s × {args.rounds} alternating rounds (medians; rate vs bare: "
        f"median of the rounds' ratios, each round in brackets; CPU vs bare: bare CPU ms/req "
        f"÷ operator's); open loop p99 < {P99_LIMIT_MS:g} ms",
        title_justify="left",
    )
    for column in ("database", "server", "req/s", "p50 ms", "p99 ms", "CPU ms/req"):
        table.add_column(column, justify="right")
    for column in ("other CPU %", "rate vs bare", "CPU vs bare", "max open-loop/s", "its p99 ms"):
        table.add_column(column, justify="right")
    for doc in documents:
        for role in ("bare", "operator"):
            closed, found = doc[role]["closed_loop"], doc[role]["open_loop"]
            passing = [s for s in found["steps"] if s["passed"]]
            table.add_row(
                doc["database"],
                role,
                f"{closed['rps']:.0f}",
                f"{closed['p50_ms']:.2f}",
                f"{closed['p99_ms']:.2f}",
                f"{closed['cpu_ms_per_request']:.3f}",
                f"{closed['other_cpu_pct']:.0f}",
                "1" if role == "bare" else _ratios(doc),
                "1" if role == "bare" else f"{doc['cpu_ratio']:.2f}",
                str(found["max_passing_rps"]),
                f"{passing[-1]['p99_ms']:.1f}" if passing else "-",
            )
    return table


def _ratios(doc: dict[str, Any]) -> str:
    rounds = ", ".join(f"{r:.2f}" for r in doc["round_ratios"])
    return f"{doc['ratio']:.2f} ({rounds})"


def steps_table(doc: dict[str, Any], role: str) -> Table:
    table = Table(title=f"open loop, {doc['database']} {role}", title_justify="left")
    for column in ("target/s", "try", "achieved/s", "success %", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right")
    for column in ("send lag p99 ms", "server CPU %", "CPU ms/req", "other CPU %", "pass"):
        table.add_column(column, justify="right")
    for s in doc[role]["open_loop"]["steps"]:
        table.add_row(
            f"{s['target_rps']:g}",
            str(s["attempt"]),
            f"{s['achieved_rps']:.0f}",
            f"{s['success_pct']:.2f}",
            f"{s['p50_ms']:.1f}",
            f"{s['p99_ms']:.1f}",
            f"{s['max_ms']:.1f}",
            f"{s['send_lag_p99_ms']:.1f}",
            f"{s['server_cpu_pct']:.0f}",
            f"{s['cpu_ms_per_request']:.3f}",
            f"{s['other_cpu_pct']:.0f}",
            "yes" if s["passed"] else "[red]no[/red]",
        )
    return table


def print_report(documents: list[dict[str, Any]], args: argparse.Namespace) -> None:
    for doc in documents:
        for role in ("bare", "operator"):
            console.print(steps_table(doc, role))
        load = f"load1 {doc['load_start']['load1']:.2f} → {doc['load_end']['load1']:.2f}"
        console.print(f"{doc['database']}: {load}")
        profile = doc.get("profile")
        if profile:
            console.print(
                f"{doc['database']} spec 4.2 profile (3/s, {profile['duration_s']:g} s): "
                f"success {profile['success_pct']:.2f} %, mean {profile['mean_ms']:.1f} ms, "
                f"p99 {profile['p99_ms']:.1f} ms → "
                + ("PASS" if profile["verdict"] else "FAIL")
                + " (≥ 99.9 %, mean ≤ 400 ms)"
            )
    console.print(summary_table(documents, args))
    console.print(
        f"{len(os.sched_getaffinity(0))} usable cores, pinned: {_procs.can_pin()} "
        "(servers core 0, load generators core 1)"
    )
