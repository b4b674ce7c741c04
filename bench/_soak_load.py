"""The soak's mixed load: device flows, flyout GetBalance, incidents and their notices.

Every request the load makes is recorded (interface, start, latency, status or the
error's class); a device flow is one record with the simulator's outcome. Probes are not
load sent from here: the worker inside ``up`` runs them against the probe target.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench._load import percentile
from bench._soak_stack import Stack
from mobileplans.kit.clock import SystemClock
from mobileplans.simulator.runner import HTTP_TIMEOUT_SECONDS, driver_factory
from mobileplans.simulator.runner import run_one as run_scenario
from mobileplans.simulator.scenarios import SCENARIOS

FLOW_TIME_LIMIT_S = 90.0
INCIDENT_STEP_S = 15.0


@dataclass(frozen=True, slots=True)
class Sample:
    interface: str
    started: float
    """``time.monotonic()`` at the request's start."""
    ms: float
    status: str
    """The HTTP status, ``ok``/``failed`` for a device flow, or the exception's class."""


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    flow_failures: Counter[str] = field(default_factory=Counter)

    def add(self, interface: str, started: float, status: str) -> None:
        ms = (time.monotonic() - started) * 1000
        self.samples.append(Sample(interface, started, ms, status))

    def by_interface(self) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[Sample]] = defaultdict(list)
        for sample in self.samples:
            groups[sample.interface].append(sample)
        out = {}
        for name, samples in sorted(groups.items()):
            latencies = sorted(s.ms for s in samples)
            out[name] = {
                "requests": len(samples),
                "statuses": dict(sorted(Counter(s.status for s in samples).items())),
                "p50_ms": round(percentile(latencies, 50), 1),
                "p99_ms": round(percentile(latencies, 99), 1),
            }
        return out


async def timed(
    recorder: Recorder, interface: str, call: Any, *args: Any, **kwargs: Any
) -> httpx.Response | None:
    started = time.monotonic()
    try:
        response: httpx.Response = await call(*args, **kwargs)
    except httpx.HTTPError as exc:
        recorder.add(interface, started, type(exc).__name__)
        return None
    recorder.add(interface, started, str(response.status_code))
    return response


async def devices(stack: Stack, count: int, stop: asyncio.Event, recorder: Recorder) -> None:
    """``count`` simulated PCs, each running first-run eSIM flows back to back (a fresh
    EID, account and profile per flow) until ``stop``."""
    endpoints = stack.endpoints.for_operator("contoso")

    async def one_device() -> None:
        while not stop.is_set():
            started = time.monotonic()
            async with (
                httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, verify=endpoints.verify()) as http,
                driver_factory(False, endpoints) as new_driver,
            ):
                run = await run_scenario(
                    SCENARIOS["first-run-esim"],
                    endpoints,
                    operator_id="contoso",
                    mode="http",
                    http=http,
                    new_driver=new_driver,
                    clock=SystemClock(),
                    time_limit=FLOW_TIME_LIMIT_S,
                )
            recorder.add("device flow (first-run eSIM)", started, "failed" if run.failed else "ok")
            if run.failed:
                recorder.flow_failures[_reason(run)] += 1
                await asyncio.sleep(1.0)  # a failed flow is retried by a new PC, not at once

    await asyncio.gather(*(one_device() for _ in range(count)))


def _reason(run: Any) -> str:
    failed = next((s for s in run.steps if s.outcome.name == "FAIL"), None)
    text = run.error or (f"{failed.name}: {failed.detail}" if failed else "failed")
    return str(text)[:120]


async def flyout(stack: Stack, rate: float, stop: asyncio.Event, recorder: Recorder) -> None:
    """The flyout's balance read through the broker at ``rate`` requests/s, open loop
    (a request late because the previous one is slow does not delay the next one)."""
    sims = stack.summary["demo"]["by_operator"]["contoso"]["sims"]
    iccid = sims["active_prepaid"]
    url, name = f"{stack.broker}/v1/balances", "flyout GetBalance (broker)"
    pending: set[asyncio.Task[Any]] = set()
    async with httpx.AsyncClient(timeout=10.0) as client:
        next_at = time.monotonic()
        while not stop.is_set():
            task = asyncio.create_task(
                timed(recorder, name, client.get, url, params={"iccid": iccid})
            )
            pending.add(task)
            task.add_done_callback(pending.discard)
            next_at += 1.0 / rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.gather(*pending)


async def incidents(stack: Stack, every: float, stop: asyncio.Event, recorder: Recorder) -> None:
    """Every ``every`` s the platform declares an outage (with its first communication) on
    contoso or fabrikam, then updates, mitigates, resolves and closes it a step each
    ``INCIDENT_STEP_S``; each step queues notifications the worker mails."""
    api = f"{stack.broker}/v1/incidents"
    operators = ("contoso", "fabrikam")
    round_ = 0
    async with httpx.AsyncClient(headers=stack.admin, timeout=30.0) as client:
        while not stop.is_set():
            started = time.monotonic()
            body = {
                "operatorId": operators[round_ % 2],
                "category": "core_network_outage",
                "title": f"soak outage {round_}",
                "severity": "sev2",
                "outage": True,
                "message": "Purchases are failing; we are investigating.",
            }
            declared = await timed(recorder, "incidents API", client.post, api, json=body)
            if declared is not None and declared.status_code == 201:
                await _walk(client, f"{api}/{declared.json()['id']}", stop, recorder)
            round_ += 1
            await _sleep(stop, max(0.0, every - (time.monotonic() - started)))


async def _walk(client: httpx.AsyncClient, url: str, stop: asyncio.Event, rec: Recorder) -> None:
    steps = [
        ("updates", {"message": "Root cause found; a fix is rolling out."}),
        ("mitigate", {"message": "Mitigated."}),
        ("resolve", {"message": "Resolved."}),
        ("close", {}),
    ]
    for path, body in steps:
        if await _sleep(stop, INCIDENT_STEP_S):
            return
        await timed(rec, "incidents API", client.post, f"{url}/{path}", json=body)


async def _sleep(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop``; True if stopped."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True
