"""Log-spaced latency histogram: bounds, bucket choice, exact-to-the-bucket percentiles."""

from __future__ import annotations

import math
import random

import pytest

from mobileplans.domains.sla import histogram as hist


def test_bounds_cover_1ms_to_60s_with_constant_ratio_under_2_2_percent() -> None:
    assert hist.EDGES_US[0] == 1000.0
    assert hist.EDGES_US[-1] >= 60_000_000
    assert hist.EDGES_US[-2] < 60_000_000
    ratios = {round(b / a, 12) for a, b in zip(hist.EDGES_US, hist.EDGES_US[1:], strict=False)}
    assert len(ratios) == 1
    assert 1.0218 < ratios.pop() < 1.0220
    assert hist.BUCKETS == 510


@pytest.mark.parametrize(
    ("latency_us", "bucket"),
    [
        (0, 0),
        (999, 0),
        (1000, 1),
        (1021, 1),
        (1022, 2),
        (2000, 33),
        (60_096_777, 509),
        (10**9, 509),
    ],
)
def test_bucket_of_edges(latency_us: int, bucket: int) -> None:
    assert hist.bucket_of(latency_us) == bucket


def test_every_value_lies_inside_its_bucket() -> None:
    rng = random.Random(7)
    for _ in range(5000):
        us = int(math.exp(rng.uniform(0, math.log(70_000_000))))
        b = hist.bucket_of(us)
        assert hist.lower_bound_ms(b) * 1000 <= us + 1
        if b < hist.OVERFLOW:
            assert us < hist.EDGES_US[b]


def test_to_us_rounds_to_whole_microseconds() -> None:
    assert hist.to_us(123.4564) == 123456
    assert hist.to_us(123.4565001) == 123457
    assert hist.to_us(-1.0) == 0


@pytest.mark.parametrize("seed", range(20))
def test_percentile_is_the_bucket_of_the_exact_nearest_rank(seed: int) -> None:
    rng = random.Random(seed)
    values = [int(math.exp(rng.gauss(math.log(150_000), 0.8))) for _ in range(rng.randint(1, 3000))]
    histogram: dict[int, int] = {}
    for v in values:
        histogram[hist.bucket_of(v)] = histogram.get(hist.bucket_of(v), 0) + 1
    ordered = sorted(values)
    for percent in (50, 95, 99, 100):
        exact = ordered[math.ceil(percent * len(ordered) / 100) - 1]
        reported = hist.percentile_ms(histogram, percent)
        assert reported is not None
        assert hist.percentile_bucket(histogram, percent) == hist.bucket_of(exact)
        assert exact / 1000 <= reported
        if exact >= 1000:
            assert reported <= exact / 1000 * hist.RATIO + 0.001


def test_nearest_rank_uses_integer_arithmetic() -> None:
    assert hist.nearest_rank(95, 100) == 95
    assert hist.nearest_rank(95, 101) == 96
    assert hist.nearest_rank(50, 1) == 1
    assert hist.nearest_rank(99, 1000) == 990
    with pytest.raises(ValueError, match="percent"):
        hist.nearest_rank(0, 10)


def test_merge_by_addition_equals_histogram_of_union() -> None:
    rng = random.Random(3)
    a = [rng.randrange(100, 5_000_000) for _ in range(500)]
    b = [rng.randrange(100, 5_000_000) for _ in range(700)]

    def of(values: list[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        for v in values:
            out[hist.bucket_of(v)] = out.get(hist.bucket_of(v), 0) + 1
        return out

    merged = of(a)
    hist.merge_into(merged, of(b))
    assert merged == of(a + b)


def test_encode_decode_round_trip_and_rejects_garbage() -> None:
    histogram = {3: 2, 250: 7, 1: 1}
    flat = hist.encode(histogram)
    assert flat == [1, 1, 3, 2, 250, 7]
    assert hist.decode(flat) == histogram
    with pytest.raises(ValueError, match="even"):
        hist.decode([1, 2, 3])
    with pytest.raises(ValueError, match="bad histogram"):
        hist.decode([600, 1])
    assert hist.percentile_ms({}, 50) is None
