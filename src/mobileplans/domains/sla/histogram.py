"""Latency histograms with fixed log-spaced bounds: mergeable by addition, exact to the bucket.

Bounds (``docs/monitoring.md``, "How availability and latency are computed"):

- bucket 0 holds latencies below 1 ms;
- bucket *k* (1 ≤ k ≤ 508) holds ``[2^((k-1)/32), 2^(k/32))`` ms: 32 buckets per doubling,
  so each bucket is 2.19 % wider than the one before (ratio 2^(1/32) ≈ 1.0219);
- bucket 509 holds everything from 2^(508/32) ≈ 60,096 ms up.

Latencies are counted in whole microseconds (``round(latency_ms * 1000)``), so the bucket of
a probe is the same whether it is computed from a raw row or inside a rollup, and sums are
exact integers.

A percentile is the nearest-rank one (the smallest value with at least ``ceil(p·n/100)``
samples at or below it), reported as the **upper bound of the bucket** that holds it: never
below the true value, at most 2.19 % above it. Histograms travel as a flat sorted list
``[bucket, count, bucket, count, ...]`` (the ``histogram`` JSON of ``probe_rollups``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping

STEPS_PER_DOUBLING = 32
FINITE_BUCKETS = 508
RATIO = 2 ** (1 / STEPS_PER_DOUBLING)
EDGES_US: tuple[float, ...] = tuple(
    1000.0 * 2 ** (k / STEPS_PER_DOUBLING) for k in range(FINITE_BUCKETS + 1)
)
"""Lower edges in microseconds: EDGES_US[0] = 1 ms, EDGES_US[508] ≈ 60.1 s."""
OVERFLOW = FINITE_BUCKETS + 1
BUCKETS = FINITE_BUCKETS + 2


def to_us(latency_ms: float) -> int:
    """A latency in whole microseconds (negative values count as 0)."""
    return max(0, round(latency_ms * 1000))


def bucket_of(latency_us: int) -> int:
    """The bucket index of a latency given in microseconds."""
    return bisect_right(EDGES_US, latency_us)


def upper_bound_ms(bucket: int) -> float:
    """The value reported for a percentile falling in ``bucket`` (its upper edge, in ms).

    The overflow bucket has no upper edge; its lower edge (≈ 60,096 ms) is reported.
    """
    if not 0 <= bucket < BUCKETS:
        raise ValueError(f"no bucket {bucket}")
    edge = EDGES_US[min(bucket, FINITE_BUCKETS)]
    return round(edge / 1000.0, 3)


def lower_bound_ms(bucket: int) -> float:
    return 0.0 if bucket == 0 else round(EDGES_US[bucket - 1] / 1000.0, 3)


def nearest_rank(percent: int, count: int) -> int:
    """The 1-based rank of the ``percent`` percentile among ``count`` samples (integer maths)."""
    if not 0 < percent <= 100:
        raise ValueError("percent must be in 1..100")
    return max(1, (percent * count + 99) // 100)


def percentile_bucket(histogram: Mapping[int, int], percent: int) -> int | None:
    """The bucket holding the nearest-rank ``percent`` percentile; None when empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = nearest_rank(percent, total)
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket
    raise AssertionError("unreachable: rank beyond total")


def percentile_ms(histogram: Mapping[int, int], percent: int) -> float | None:
    bucket = percentile_bucket(histogram, percent)
    return None if bucket is None else upper_bound_ms(bucket)


def merge_into(target: dict[int, int], other: Mapping[int, int]) -> None:
    for bucket, count in other.items():
        target[bucket] = target.get(bucket, 0) + count


def encode(histogram: Mapping[int, int]) -> list[int]:
    """The flat sorted ``[bucket, count, ...]`` list stored in a rollup (zero counts dropped)."""
    flat: list[int] = []
    for bucket in sorted(histogram):
        if histogram[bucket]:
            flat.extend((bucket, histogram[bucket]))
    return flat


def decode(flat: Iterable[int]) -> dict[int, int]:
    items = list(flat)
    if len(items) % 2:
        raise ValueError("a histogram list has an even number of items")
    histogram: dict[int, int] = {}
    for i in range(0, len(items), 2):
        bucket, count = int(items[i]), int(items[i + 1])
        if not 0 <= bucket < BUCKETS or count < 0:
            raise ValueError(f"bad histogram entry {bucket}:{count}")
        histogram[bucket] = histogram.get(bucket, 0) + count
    return histogram


def add_decoded(target: dict[int, int], flat: Iterable[int]) -> None:
    """Add a stored flat histogram into ``target`` (the report's hot loop: no validation)."""
    pairs = iter(flat)
    get = target.get
    for bucket, count in zip(pairs, pairs, strict=False):
        target[bucket] = get(bucket, 0) + count
