"""The compact per-series collector renders proper Prometheus histograms and counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from mobileplans.domains.probe.metrics import ProbeSeries

SERIES = ("contoso", "production", "getbalance")


def samples(collector: ProbeSeries) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in collector.collect():
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def labels(**extra: str) -> tuple[tuple[str, str], ...]:
    base = {"operator": "contoso", "environment": "production", "kind": "getbalance", **extra}
    return tuple(sorted(base.items()))


def test_latency_histogram_is_cumulative_with_exact_bounds() -> None:
    collector = ProbeSeries()
    for seconds in (0.004, 0.4, 0.4, 0.41, 12.0):  # 0.4 is in le="0.4"; 12 s only in +Inf
        collector.observe(SERIES, "ok", seconds)
    got = samples(collector)
    bucket = "mobileplans_probe_latency_seconds_bucket"
    assert got[(bucket, labels(le="0.005"))] == 1
    assert got[(bucket, labels(le="0.3"))] == 1
    assert got[(bucket, labels(le="0.4"))] == 3
    assert got[(bucket, labels(le="0.5"))] == 4
    assert got[(bucket, labels(le="10.0"))] == 4
    assert got[(bucket, labels(le="+Inf"))] == 5
    assert got[("mobileplans_probe_latency_seconds_count", labels())] == 5
    assert abs(got[("mobileplans_probe_latency_seconds_sum", labels())] - 13.214) < 1e-9


def test_outcome_and_missed_counters() -> None:
    collector = ProbeSeries()
    collector.observe(SERIES, "ok", 0.1)
    collector.observe(SERIES, "timeout", 5.0)
    collector.observe(SERIES, "timeout", 5.0)
    collector.missed[SERIES] = 3
    got = samples(collector)
    assert got[("mobileplans_probe_outcomes_total", labels(outcome="ok"))] == 1
    assert got[("mobileplans_probe_outcomes_total", labels(outcome="timeout"))] == 2
    assert got[("mobileplans_probe_missed_slots_total", labels())] == 3


def test_exposition_text_parses_as_prometheus_families() -> None:
    registry = CollectorRegistry()
    collector = ProbeSeries()
    registry.register(collector)
    collector.observe(SERIES, "degraded", 0.45)
    text = generate_latest(registry).decode()
    assert "# TYPE mobileplans_probe_latency_seconds histogram" in text
    assert "# TYPE mobileplans_probe_outcomes_total counter" in text
    assert 'outcome="degraded"' in text
