"""What the soak watches while it runs and checks at the end.

- Processes: resident memory (``VmRSS``) and open descriptors (``/proc/<pid>/fd``) of every
  process of the stack, sampled every ``SAMPLE_S``.
- Server side: ``mobileplans_http_requests_total`` of every app (``up``'s registry and the
  side operator's), scraped at the same cadence, so each 5xx is placed in time and set
  against the fault windows of the hops that app depends on.
- At the end, from the database and the mail sink: the invariants (nothing lost, nothing
  doubled) after the outboxes have drained.
"""

from __future__ import annotations

import asyncio
import mailbox
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench._soak_stack import Stack
from mobileplans.db.engine import make_engine
from mobileplans.domains.probe.scheduler import slot_at_or_after

SAMPLE_S = 10.0
SERIES_S = 300.0
REQUESTS = "mobileplans_http_requests_total"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Watch:
    """Process samples and server-side request counts over the run."""

    processes: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)
    """name -> [(monotonic, RSS MB, descriptors)]."""
    counts: list[tuple[float, Counter[tuple[str, str, str, str]]]] = field(default_factory=list)
    """[(monotonic, {(source, app, route, status): total})]."""

    async def run(self, stack: Stack, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=10.0) as client:
            while True:
                await self.sample(stack, client)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=SAMPLE_S)
                    await self.sample(stack, client)
                    return
                except TimeoutError:
                    pass

    async def sample(self, stack: Stack, client: httpx.AsyncClient) -> None:
        now = time.monotonic()
        for name, pid in stack.pids().items():
            try:
                self.processes.setdefault(name, []).append((now, rss_mb(pid), descriptors(pid)))
            except OSError:  # the process is gone: the end report says so
                self.processes.setdefault(name, []).append((now, float("nan"), -1))
        total: Counter[tuple[str, str, str, str]] = Counter()
        for source, base in (("up", stack.broker), ("side", stack.side.base_url)):
            try:
                response = await client.get(f"{base}/metrics")
            except httpx.HTTPError:
                continue
            total.update(_requests(source, response.text))
        self.counts.append((now, total))


def _requests(source: str, exposition: str) -> Counter[tuple[str, str, str, str]]:
    out: Counter[tuple[str, str, str, str]] = Counter()
    for line in exposition.splitlines():
        if not line.startswith(REQUESTS + "{"):
            continue
        labels_text, _, value = line[len(REQUESTS) + 1 :].rpartition("} ")
        labels = dict(part.split("=", 1) for part in labels_text.split('",') if "=" in part)
        key = tuple(labels.get(k, "").strip('"') for k in ("app", "route", "status"))
        out[(source, *key)] += int(float(value))  # type: ignore[index]
    return out


def memory_report(watch: Watch, warmup_until: float) -> dict[str, dict[str, float]]:
    """Per process: RSS and descriptors at the first sample after the warm-up and at the
    end, the peak, and the growth between the two."""
    out = {}
    for name, samples in watch.processes.items():
        settled = [s for s in samples if s[0] >= warmup_until] or samples
        first, last = settled[0], settled[-1]
        middle = min(settled, key=lambda s: abs(s[0] - (first[0] + last[0]) / 2))
        out[name] = {
            "rss_every_5_min_mb": [round(s[1], 1) for s in _every(settled, SERIES_S)],
            "rss_growth_second_half_mb": round(last[1] - middle[1], 1),
            "rss_start_mb": round(first[1], 1),
            "rss_end_mb": round(last[1], 1),
            "rss_peak_mb": round(max(s[1] for s in settled), 1),
            "rss_growth_mb": round(last[1] - first[1], 1),
            "fds_start": first[2],
            "fds_end": last[2],
            "fds_peak": max(s[2] for s in settled),
            "alive_at_end": last[2] >= 0,
        }
    return out


def _every(samples: list[tuple[float, float, int]], step: float) -> list[tuple[float, float, int]]:
    """The first sample, then the first at or after each further ``step`` seconds."""
    picked, due = [], samples[0][0]
    for sample in samples:
        if sample[0] >= due:
            picked.append(sample)
            due = sample[0] + step
    return picked


def logged_errors(logs: dict[str, Path]) -> dict[str, int]:
    """Tracebacks each server logged: an error nobody expected (an outage of the database
    or of a peer logs one line without a traceback, D264)."""
    return {
        name: path.read_text(errors="replace").count("Traceback (most recent call last)")
        for name, path in logs.items()
    }


# --- invariants ------------------------------------------------------------------------


async def drain(url: str, limit_s: float) -> dict[str, int]:
    """Wait (up to ``limit_s``) until no notification and no SM-DP+ callback is pending."""
    deadline = time.monotonic() + limit_s
    while True:
        pending = {
            "notifications": await _scalar(
                url, "SELECT count(*) FROM notifications WHERE status = 'pending'"
            ),
            "callbacks": await _scalar(
                url, "SELECT count(*) FROM smdp_callback_outbox WHERE status = 'pending'"
            ),
        }
        if not any(pending.values()) or time.monotonic() > deadline:
            return pending
        await asyncio.sleep(2.0)


async def _rows(url: str, sql: str) -> list[Any]:
    engine = make_engine(url, process_name="bench-soak")
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def _scalar(url: str, sql: str) -> int:
    return int((await _rows(url, sql))[0][0])


def message_ids(mbox: Path) -> Counter[str]:
    if not mbox.exists():
        return Counter()
    box = mailbox.mbox(mbox)
    try:
        return Counter(str(message["Message-ID"]) for message in box)
    finally:
        box.close()


async def invariants(stack: Stack, window: tuple[datetime, datetime]) -> dict[str, Any]:
    """Each check: the figures and whether it holds."""
    url = stack.database_url
    return {
        "notifications": await _notifications(url, stack.sink.path),
        "callbacks": await _callbacks(url),
        "probe slots": await _probe_slots(url, window),
        "orders": await _orders(url),
    }


async def _notifications(url: str, mbox: Path) -> dict[str, Any]:
    rows = await _rows(url, "SELECT id, channel, status FROM notifications")
    statuses = Counter(status for _, _, status in rows)
    sent = message_ids(mbox)
    mailed = [i for i, channel, status in rows if channel == "email" and status == "delivered"]
    expected = {f"<notification-{i}@mobileplans>" for i in mailed}
    return {
        "by_status": dict(statuses),
        "delivered_emails": len(mailed),
        "messages_in_sink": sum(sent.values()),
        "missing_from_sink": len(expected - set(sent)),
        "doubled_in_sink": sum(1 for n in sent.values() if n > 1),
        "unknown_in_sink": len(set(sent) - expected),
        "holds": statuses.get("pending", 0) == 0
        and expected == set(sent)
        and all(n == 1 for n in sent.values()),
    }


async def _callbacks(url: str) -> dict[str, Any]:
    rows = await _rows(
        url, "SELECT iccid, id, status, delivered_at FROM smdp_callback_outbox ORDER BY iccid, id"
    )
    out_of_order, last = 0, {}
    for iccid, _, status, delivered_at in rows:
        if status != "delivered":
            continue
        if iccid in last and delivered_at < last[iccid]:
            out_of_order += 1
        last[iccid] = delivered_at
    statuses = Counter(status for _, _, status, _ in rows)
    return {
        "by_status": dict(statuses),
        "delivered_out_of_order": out_of_order,
        "holds": statuses.get("pending", 0) == 0 and out_of_order == 0,
    }


async def _probe_slots(url: str, window: tuple[datetime, datetime]) -> dict[str, Any]:
    """Each enabled probe's slots in ``window`` (its grid: interval and jitter) against the
    results stored for them: none doubled, and how many have no result."""
    start, end = window
    doubled = await _scalar(
        url,
        "SELECT count(*) FROM (SELECT probe_id, scheduled_at FROM probe_results "
        "GROUP BY probe_id, scheduled_at HAVING count(*) > 1) AS d",
    )
    results = await _rows(
        url,
        "SELECT probe_id, scheduled_at, outcome FROM probe_results "
        f"WHERE scheduled_at >= '{start.isoformat()}' AND scheduled_at < '{end.isoformat()}'",
    )
    probes = await _rows(
        url,
        "SELECT id, interval_seconds, jitter_ms FROM probes "
        f"WHERE enabled AND created_at < '{start.isoformat()}'",
    )
    stored = {(probe_id, _utc(at)) for probe_id, at, _ in results}
    due = missing = 0
    for probe_id, interval, jitter in probes:
        slot = slot_at_or_after(start, interval, jitter)
        while slot < end:
            due += 1
            missing += (probe_id, slot) not in stored
            slot += timedelta(seconds=interval)
    return {
        "probes": len(probes),
        "results_by_outcome": dict(Counter(outcome for _, _, outcome in results)),
        "slots_due": due,
        "slots_without_result": missing,
        "doubled_slots": doubled,
        "holds": doubled == 0 and missing == 0,
    }


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _orders(url: str) -> dict[str, Any]:
    orders = await _rows(url, "SELECT status, iccid FROM mo_orders")
    lines = {row[0] for row in await _rows(url, "SELECT iccid FROM mo_lines")}
    statuses = Counter(status for status, _ in orders)
    held = [iccid for status, iccid in orders if status == "fulfilled"]
    doubled = len(held) - len(set(held))
    without_line = len(set(held) - lines)
    return {
        "by_status": dict(statuses),
        "profile_in_two_orders": doubled,
        "fulfilled_without_line": without_line,
        "left_placed": statuses.get("placed", 0),
        "holds": doubled == 0 and without_line == 0 and statuses.get("placed", 0) == 0,
    }
