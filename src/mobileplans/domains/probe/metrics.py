"""Prometheus metrics of the prober (issue #4), in the process's default registry.

- ``mobileplans_probe_latency_seconds{operator,environment,kind}``: histogram of run latency.
- ``mobileplans_probe_outcomes_total{operator,environment,kind,outcome}``: runs by outcome.
- ``mobileplans_probe_missed_slots_total{operator,environment,kind}``: slots skipped
  because they were more than one interval old when a worker got to them.
- ``mobileplans_probe_lateness_seconds``: start of a run minus its slot.
- ``mobileplans_probe_duplicate_results_total``: runs whose slot was already stored.

The labelled series live in one compact collector (a C array of doubles per series, which
the garbage collector never walks) rather than in ``prometheus_client`` children: a child
histogram is some 30 Python objects with their own locks, and at 50,000 endpoints those 1.5
million objects made each full garbage collection take over a second (bench/prober.py).
Updates come from the worker's event-loop thread; a scrape copies each series' array, which
the GIL makes atomic.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from typing import Final

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from mobileplans.domains.probe.schemas import ClaimedRun, RunResult

log = logging.getLogger(__name__)

LATENCY_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
)
SERIES_LABELS: Final = ["operator", "environment", "kind"]
Series = tuple[str, str, str]

LATENESS = Histogram(
    "mobileplans_probe_lateness_seconds",
    "How long after its slot a probe run started",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DUPLICATES = Counter(
    "mobileplans_probe_duplicate_results_total",
    "Runs whose slot another worker had already stored",
)


class ProbeSeries(Collector):
    """Latency histograms, outcome and missed-slot counters per (operator, environment, kind)."""

    def __init__(self) -> None:
        # per series: one count per bucket (non-cumulative, +Inf last), then the sum
        self.latency: dict[Series, array[float]] = {}
        self.outcomes: dict[tuple[str, str, str, str], int] = {}
        self.missed: dict[Series, int] = {}

    def observe(self, series: Series, outcome: str, seconds: float) -> None:
        values = self.latency.get(series)
        if values is None:
            values = self.latency[series] = array("d", bytes(8 * (len(LATENCY_BUCKETS) + 2)))
        values[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        values[-1] += seconds
        key = (*series, outcome)
        self.outcomes[key] = self.outcomes.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        histogram = HistogramMetricFamily(
            "mobileplans_probe_latency_seconds",
            "Latency of probe runs (the whole exchange, body included)",
            labels=SERIES_LABELS,
        )
        for series, values in list(self.latency.items()):
            snapshot = values.tolist()
            running, buckets = 0.0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), snapshot, strict=False):
                running += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
            histogram.add_metric(list(series), buckets, sum_value=snapshot[-1])
        yield histogram
        outcomes = CounterMetricFamily(
            "mobileplans_probe_outcomes",
            "Probe runs by outcome",
            labels=[*SERIES_LABELS, "outcome"],
        )
        for key, count in list(self.outcomes.items()):
            outcomes.add_metric(list(key), count)
        yield outcomes
        missed = CounterMetricFamily(
            "mobileplans_probe_missed_slots",
            "Slots skipped because no worker ran them within one interval",
            labels=SERIES_LABELS,
        )
        for series, count in list(self.missed.items()):
            missed.add_metric(list(series), count)
        yield missed


SERIES = ProbeSeries()
REGISTRY.register(SERIES)


def observe_result(result: RunResult) -> None:
    run = result.run
    SERIES.observe(
        (run.operator_id, run.environment, run.kind),
        result.outcome.value,
        result.latency_ms / 1000.0,
    )
    lateness = (result.started_at - run.scheduled_at).total_seconds()
    LATENESS.observe(lateness if lateness > 0 else 0.0)


def observe_missed(runs: list[tuple[ClaimedRun, int]]) -> None:
    """Count skipped slots; one log line per batch, naming a few of the probes."""
    total = 0
    for run, slots in runs:
        if slots > 0:
            series = (run.operator_id, run.environment, run.kind)
            SERIES.missed[series] = SERIES.missed.get(series, 0) + slots
            total += slots
    if total:
        named = ", ".join(
            f"{r.operator_id}/{r.environment}/{r.kind}" for r, n in runs[:200] if n > 0
        )
        probes = sum(1 for _, n in runs if n > 0)
        log.warning("%d slot(s) of %d probe(s) missed (e.g. %.200s)", total, probes, named)


def observe_duplicates(count: int) -> None:
    if count:
        DUPLICATES.inc(count)
