"""Exact counts over arbitrary intervals from rollups, raw edges and the un-rolled tail.

Each request names a probe, the intervals to count and the excluded (maintenance)
intervals. The included intervals are split by :func:`periods.read_plan`: whole buckets of
the coarsest grain from its rollups, finer grains at the edges, raw rows for what is left
(period edges off the hour, hours touching a maintenance window). Results the rollup job
has not reached yet (ids past the watermark read in the same statement as the rollups) are
added from the raw table, so the counts are exact at any moment. Requests with the same
plan are read together: one query for all their probes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.sla import repository
from mobileplans.domains.sla.maintenance import IntervalSet
from mobileplans.domains.sla.periods import Interval, ReadPlan, read_plan
from mobileplans.domains.sla.tally import Tally


@dataclass
class CountRequest:
    probe_id: int
    included: list[Interval]
    excluded: list[Interval] = field(default_factory=list)


@dataclass
class CountResult:
    tally: Tally = field(default_factory=Tally)
    excluded_probes: int = 0
    rollup_rows: dict[str, int] = field(default_factory=dict)
    raw_rows: int = 0


@dataclass
class _Group:
    plan: ReadPlan
    excluded: list[Interval]
    members: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    marks: dict[int, int] = field(default_factory=dict)


def _group(requests: Sequence[CountRequest], grains: Sequence[str]) -> list[_Group]:
    groups: dict[tuple[object, ...], _Group] = {}
    for index, request in enumerate(requests):
        plan = read_plan(request.included, grains)
        key = (plan.key(), tuple(request.excluded))
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(plan, list(request.excluded))
        group.members[request.probe_id].append(index)
    return list(groups.values())


async def _read_rollups(
    session: AsyncSession, group: _Group, results: list[CountResult], histograms: bool
) -> None:
    probe_ids = sorted(group.members)
    group.marks, rows = await repository.rollups_with_watermark(
        session, probe_ids, group.plan.rollups, histograms=histograms
    )
    for probe_id, grain, probes, failures, degraded, latency_sum, flat in rows:
        for index in group.members[probe_id]:
            result = results[index]
            result.tally.add_rollup(probes, failures, degraded, latency_sum, flat)
            result.rollup_rows[grain] = result.rollup_rows.get(grain, 0) + 1


async def _read_raw(session: AsyncSession, group: _Group, results: list[CountResult]) -> None:
    excluded = IntervalSet(group.excluded)
    intervals = sorted(group.plan.raw + group.excluded)
    for _id, probe_id, started_at, outcome, latency in await repository.raw_results(
        session, sorted(group.members), intervals
    ):
        skip = started_at in excluded
        for index in group.members[probe_id]:
            result = results[index]
            if skip:
                result.excluded_probes += 1
            else:
                result.tally.add_result(outcome, latency)
                result.raw_rows += 1


async def _read_tail(
    session: AsyncSession, groups: list[_Group], results: list[CountResult]
) -> None:
    rolled = [g for g in groups if any(g.plan.rollups.values())]
    if not rolled:
        return
    spans = {
        id(g): IntervalSet(sorted(i for v in g.plan.rollups.values() for i in v)) for g in rolled
    }
    by_probe: dict[int, list[_Group]] = defaultdict(list)
    for group in rolled:
        for probe_id in group.members:
            by_probe[probe_id].append(group)
    lowest = min(min(g.marks.values(), default=0) for g in rolled)
    async for result_id, probe_id, started_at, outcome, latency in repository.results_past(
        session, lowest
    ):
        for group in by_probe.get(probe_id, ()):
            if result_id <= group.marks[probe_id] or started_at not in spans[id(group)]:
                continue
            for index in group.members[probe_id]:
                results[index].tally.add_result(outcome, latency)
                results[index].raw_rows += 1


async def count(
    session: AsyncSession,
    requests: Sequence[CountRequest],
    grains: Sequence[str],
    *,
    histograms: bool = True,
) -> list[CountResult]:
    """One :class:`CountResult` per request, in order. Without ``histograms`` the rollups'
    latency histograms are not read (the tallies' histograms then hold raw rows only)."""
    results = [CountResult() for _ in requests]
    groups = _group(requests, grains)
    for group in groups:
        await _read_rollups(session, group, results, histograms)
        await _read_raw(session, group, results)
    await _read_tail(session, groups, results)
    return results


async def count_buckets(
    session: AsyncSession,
    probe_ids: Sequence[int],
    starts: Sequence[datetime],
    step: timedelta,
    end: datetime,
    grains: Sequence[str],
    *,
    histograms: bool = True,
) -> dict[int, list[Tally]]:
    """Tallies of consecutive buckets of each probe (``starts``: UTC bucket starts ``step``
    apart, aligned to ``grains[0]``, which is the grain of ``step``), each counted up to
    ``end``; the same counts as one :func:`count` request per probe and bucket, read in a
    few statements instead of one group per bucket.

    Whole buckets: their own rollup rows, all buckets and probes at once (with the
    watermark), plus results past the watermark; the bucket ``end`` cuts through: one
    :func:`count` request per probe (one group). Buckets starting at or after ``end`` are
    empty. ``histograms``: as for :func:`count`."""
    tallies = {pid: [Tally() for _ in starts] for pid in probe_ids}
    position = {start: index for index, start in enumerate(starts)}
    whole = [s for s in starts if s + step <= end]
    if whole and probe_ids:
        first, stop = whole[0], whole[-1] + step
        marks, rows = await repository.rollup_buckets(
            session, probe_ids, grains[0], (first, stop), histograms=histograms
        )
        for probe_id, start, probes, failures, degraded, latency_sum, flat in rows:
            slot = tallies[probe_id][position[start]]
            slot.add_rollup(probes, failures, degraded, latency_sum, flat)
        lowest = min(marks.values(), default=0)
        async for result_id, probe_id, started_at, outcome, latency in repository.results_past(
            session, lowest
        ):
            if result_id > marks.get(probe_id, result_id) and first <= started_at < stop:
                tallies[probe_id][(started_at - first) // step].add_result(outcome, latency)
    for index, start in enumerate(starts):
        if start < end < start + step:
            requests = [CountRequest(probe_id=pid, included=[(start, end)]) for pid in probe_ids]
            counted = await count(session, requests, grains, histograms=histograms)
            for pid, result in zip(probe_ids, counted, strict=True):
                tallies[pid][index] = result.tally
    return tallies
