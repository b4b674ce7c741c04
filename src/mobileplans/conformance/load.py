"""``conformance load``: the load test of spec 4.2 (MP 2019 →: 1,000 ICCIDs at 3 RPS for
1 h; pass = 99.9 % success and an average latency of 400 ms), over mutual TLS.

Open loop: request *i* goes out at ``start + i / rate`` whatever earlier answers do, and
its latency counts from that scheduled time, so a stalling operator shows in the figures
instead of lowering the rate. The API of each request follows ``--mix`` (default
GetBalance only, spec 7.2 #34); ICCIDs are used round-robin.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobileplans.conformance import KIT_VERSION
from mobileplans.conformance.moapi import headers
from mobileplans.conformance.runner import evidence_of
from mobileplans.conformance.target import Target
from mobileplans.conformance.wire import Wire
from mobileplans.kit.identifiers import parse_iccid

SUCCESS_TARGET = 99.9
APIS = {"getbalance": "balances", "getoffers": "offers", "getnotifications": "notifications"}
API_PARAMS = {
    "balances": [],
    "offers": [("limit", "1")],
    "notifications": [("notificationType", "lowBalance"), ("limit", "1")],
}
HISTOGRAM_EDGES = (0, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 2000)
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$", re.IGNORECASE)


class LoadInputError(ValueError):
    """A load-test argument or the ICCID file is unusable (one line)."""


def parse_duration(text: str) -> float:
    match = DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise LoadInputError(f"--duration {text!r}: give seconds, or a number with s, m or h")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[(match.group(2) or "s").lower()]


def parse_mix(text: str, target: Target) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, weight = part.partition("=")
        key = name.strip().lower()
        if not sep or key not in APIS:
            raise LoadInputError(f"--mix {part!r}: use {'|'.join(APIS)}=<weight>")
        try:
            mix[key] = float(weight)
        except ValueError as exc:
            raise LoadInputError(f"--mix {part!r}: the weight is not a number") from exc
        declared = {
            "getoffers": target.apis.get_offers,
            "getnotifications": target.apis.get_notifications,
        }
        if mix[key] < 0 or not declared.get(key, True):
            raise LoadInputError(f"--mix {part!r}: negative, or an API the target does not declare")
    if not mix or sum(mix.values()) <= 0:
        raise LoadInputError(f"--mix {text!r}: needs a positive weight")
    return mix


def read_iccids(path: Path) -> list[str]:
    """One ICCID per line; blank lines and ``#`` comments are skipped."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise LoadInputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    iccids = []
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            iccids.append(parse_iccid(text))
        except ValueError as exc:
            raise LoadInputError(f"{path} line {number}: {text!r} is not an ICCID ({exc})") from exc
    if not iccids:
        raise LoadInputError(f"{path}: no ICCIDs (one per line)")
    return iccids


@dataclass
class Sample:
    t: float
    api: str
    iccid: str
    status: int | None
    ms: float
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class LoadRun:
    target: Target
    iccids: list[str]
    rate: float
    duration: float
    mix: dict[str, float]
    samples: list[Sample] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    source: str = "target-file"

    @property
    def scheduled(self) -> int:
        return max(1, int(self.rate * self.duration))

    def figures(self) -> dict[str, Any]:
        answered = sorted(s.ms for s in self.samples if s.status is not None)
        ok = sum(1 for s in self.samples if s.ok)
        total = len(self.samples)
        return {
            "requests": total,
            "succeeded": ok,
            "successPercent": round(100.0 * ok / total, 3) if total else 0.0,
            "averageMs": round(sum(answered) / len(answered), 2) if answered else None,
            "p50Ms": _pct(answered, 50),
            "p95Ms": _pct(answered, 95),
            "p99Ms": _pct(answered, 99),
            "maxMs": round(answered[-1], 2) if answered else None,
            "statuses": dict(Counter(str(s.status or s.error) for s in self.samples)),
        }

    def criteria(self) -> list[dict[str, Any]]:
        f = self.figures()
        sla = self.target.latency_sla_ms
        success_ok = f["successPercent"] >= SUCCESS_TARGET
        latency_ok = f["averageMs"] is not None and f["averageMs"] <= sla
        return [
            _criterion(
                "LOAD-001",
                "success rate",
                f"at least {SUCCESS_TARGET} % HTTP 200",
                f"{f['successPercent']} % of {f['requests']}",
                success_ok,
            ),
            _criterion(
                "LOAD-002",
                "average latency",
                f"at most {sla:g} ms",
                f"{f['averageMs']} ms",
                latency_ok,
            ),
        ]

    def wire(self) -> dict[str, Any]:
        cases = self.criteria()
        return {
            "kind": "conformance-load",
            "kitVersion": KIT_VERSION,
            "target": self.target.summary(),
            "evidence": evidence_of(self.target.summary(), {"source": self.source}),
            "parameters": {
                "rate": self.rate,
                "durationS": self.duration,
                "iccids": len(self.iccids),
                "mix": self.mix,
                "latencySlaMs": self.target.latency_sla_ms,
                "successTargetPercent": SUCCESS_TARGET,
            },
            "startedAt": self.started,
            "finishedAt": self.finished,
            "verdict": "pass" if all(c["outcome"] == "pass" for c in cases) else "fail",
            "figures": self.figures(),
            "histogram": histogram([s.ms for s in self.samples if s.status is not None]),
            "timeSeries": time_series(self.samples, self.duration),
            "cases": cases,
            "requests": [
                {
                    "t": round(s.t, 3),
                    "api": s.api,
                    "iccid": s.iccid,
                    "status": s.status,
                    "ms": round(s.ms, 2),
                    "error": s.error,
                }
                for s in self.samples
            ],
        }


def _criterion(id_: str, title: str, expected: str, actual: str, ok: bool) -> dict[str, Any]:
    return {
        "id": id_,
        "title": title,
        "spec": "4.2",
        "mandatory": True,
        "outcome": "pass" if ok else "fail",
        "detail": f"{actual} (expected {expected})",
        "failures": []
        if ok
        else [{"sent": "the load of spec 4.2", "got": actual, "expected": expected}],
        "exchanges": [],
        "steps": [],
        "ms": 0.0,
    }


def _pct(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    index = max(0, min(len(values) - 1, int(-(-pct * len(values) // 100)) - 1))
    return round(values[index], 2)


def histogram(latencies: list[float]) -> list[dict[str, Any]]:
    edges = [*HISTOGRAM_EDGES, float("inf")]
    out = []
    for low, high in itertools.pairwise(edges):
        label = f"{low}-{high:g} ms" if high != float("inf") else f"≥{low} ms"
        count = sum(1 for v in latencies if low <= v < high)
        out.append({"label": label, "from": low, "count": count})
    return out


def time_series(samples: list[Sample], duration: float) -> list[dict[str, Any]]:
    step = max(1.0, duration / 120)
    buckets: dict[int, list[Sample]] = {}
    for sample in samples:
        buckets.setdefault(int(sample.t // step), []).append(sample)
    series = []
    for index in sorted(buckets):
        group = buckets[index]
        answered = [s.ms for s in group if s.status is not None]
        series.append(
            {
                "t": round((index + 1) * step, 1),
                "requests": len(group),
                "ok": sum(1 for s in group if s.ok),
                "avgMs": round(sum(answered) / len(answered), 2) if answered else None,
            }
        )
    return series


Live = Callable[[LoadRun, Sample], None]


async def _one(
    wire: Wire,
    run: LoadRun,
    index: int,
    api: str,
    scheduled: float,
    live: Live | None,
    origin: float,
) -> None:
    iccid = run.iccids[index % len(run.iccids)]
    url = f"{run.target.api_base(api)}/sims/iccid:{iccid}/{api}"
    exchange = await wire.request("GET", url, headers=headers(), params=API_PARAMS[api])
    ms = (time.perf_counter() - scheduled) * 1000.0
    sample = Sample(scheduled - origin, api, iccid, exchange.status, ms, exchange.error)
    run.samples.append(sample)
    if live is not None:
        live(run, sample)


async def run_load(run: LoadRun, *, live: Live | None = None, seed: int = 0) -> LoadRun:
    chooser = random.Random(seed)  # noqa: S311 - a traffic mix, not a secret
    names = [APIS[k] for k in run.mix]
    weights = list(run.mix.values())
    run.started = datetime.now(UTC).isoformat()
    with tempfile.TemporaryDirectory(prefix="mp-load-") as directory:
        wire = Wire(run.target, Path(directory))
        tasks: set[asyncio.Task[None]] = set()
        origin = time.perf_counter() + 0.05
        try:
            for index in range(run.scheduled):
                when = origin + index / run.rate
                await asyncio.sleep(max(0.0, when - time.perf_counter()))
                api = chooser.choices(names, weights)[0]
                task = asyncio.create_task(_one(wire, run, index, api, when, live, origin))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(set(tasks), timeout=wire.timeout + 5)
        finally:
            for task in tasks:
                task.cancel()
            await wire.close()
    run.samples.sort(key=lambda s: s.t)
    run.finished = datetime.now(UTC).isoformat()
    return run
