"""Counting probe results: the one definition of failure, success and latency sample.

- A probe *succeeds* when its outcome is ``ok`` or ``degraded`` (it answered correctly,
  degraded only slower than the latency target); every other outcome (``http_error``,
  ``timeout``, ``connect_error``, ``tls_error``, ``bad_body`` or anything unknown) is a
  *failure*.
- Latency statistics are over successful probes only: a refused connection answers in
  0.3 ms and a timeout in exactly the timeout, and neither says how fast the service is.

A :class:`Tally` adds raw results and rollups alike, so a statement computed from rollups
and one computed from raw rows use the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mobileplans.domains.sla import histogram as hist

SUCCESS_OUTCOMES = frozenset({"ok", "degraded"})


def is_failure(outcome: str) -> bool:
    return outcome not in SUCCESS_OUTCOMES


@dataclass
class Tally:
    probes: int = 0
    failures: int = 0
    degraded: int = 0
    latency_us: int = 0
    histogram: dict[int, int] = field(default_factory=dict)

    @property
    def successes(self) -> int:
        return self.probes - self.failures

    def add_result(self, outcome: str, latency_ms: float) -> None:
        self.probes += 1
        if outcome not in SUCCESS_OUTCOMES:
            self.failures += 1
            return
        if outcome == "degraded":
            self.degraded += 1
        us = hist.to_us(latency_ms)
        self.latency_us += us
        bucket = hist.bucket_of(us)
        self.histogram[bucket] = self.histogram.get(bucket, 0) + 1

    def add_rollup(
        self,
        probes: int,
        failures: int,
        degraded: int,
        latency_sum_ms: float,
        flat_histogram: Iterable[int],
    ) -> None:
        self.probes += probes
        self.failures += failures
        self.degraded += degraded
        self.latency_us += round(latency_sum_ms * 1000)
        hist.add_decoded(self.histogram, flat_histogram)

    def merge(self, other: Tally) -> None:
        self.probes += other.probes
        self.failures += other.failures
        self.degraded += other.degraded
        self.latency_us += other.latency_us
        hist.merge_into(self.histogram, other.histogram)

    @property
    def latency_sum_ms(self) -> float:
        """The sum stored in a rollup; ``round(value * 1000)`` gives back the exact integer."""
        return self.latency_us / 1000

    def average_ms(self) -> float | None:
        return None if self.successes == 0 else round(self.latency_us / self.successes / 1000, 3)

    def percentile_ms(self, percent: int) -> float | None:
        return hist.percentile_ms(self.histogram, percent)
