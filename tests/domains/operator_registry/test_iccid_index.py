"""The in-memory ICCID index and the overlap rule (issue #2)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobileplans.domains.operator_registry.iccid_index import (
    NATIVE_AVAILABLE,
    IccidIndex,
    RangeRef,
    find_overlaps,
    iccid_key,
)


def ref(op: str, env: str, start: str, end: str, kind: str = "full") -> RangeRef:
    return RangeRef(op, env, start, end, kind)


A = ref("contoso", "production", "8901999000000000000", "8901999099999999999")
B = ref("fabrikam", "production", "8944999000000000000", "8944999099999999999", "test")


@pytest.mark.parametrize("native", [False, True], ids=["python", "native"])
class TestResolve:
    def test_finds_the_owner_at_both_ends_and_inside(self, native: bool) -> None:
        index = IccidIndex([A, B], native=native)
        for iccid in (A.start, "8901999050000000000", A.end):
            assert index.resolve(iccid, "production") == A
        assert index.resolve("8944999000000000001", "production") == B

    def test_misses_just_outside_a_range(self, native: bool) -> None:
        index = IccidIndex([A], native=native)
        assert index.resolve("8901998999999999999", "production") is None
        assert index.resolve("8901999100000000000", "production") is None

    def test_another_environment_does_not_match(self, native: bool) -> None:
        index = IccidIndex([A], native=native)
        assert index.resolve(A.start, "staging") is None

    def test_lengths_never_mix(self, native: bool) -> None:
        twenty = ref("x", "production", "89019990000000000000", "89019999999999999999")
        index = IccidIndex([A, twenty], native=native)
        # Numerically "8901999000000000000" (19) lies below the 20-digit range, but a
        # 19-digit ICCID must only match 19-digit ranges and vice versa.
        assert index.resolve("8901999050000000000", "production") == A
        assert index.resolve("89019995000000000000", "production") == twenty
        assert index.resolve("890199905000000000", "production") is None

    @given(
        bounds=st.lists(
            st.tuples(st.integers(0, 10**6), st.integers(0, 500)), min_size=1, max_size=40
        ),
        probes=st.lists(st.integers(0, 10**6 + 600), min_size=1, max_size=50),
    )
    def test_agrees_with_a_linear_scan(
        self, native: bool, bounds: list[tuple[int, int]], probes: list[int]
    ) -> None:
        ranges: list[RangeRef] = []
        for start, width in sorted(bounds):
            if ranges and start <= int(ranges[-1].end[-7:]):
                continue  # keep ranges disjoint
            ranges.append(
                ref(
                    f"op{len(ranges)}",
                    "production",
                    f"890199900000{start:07d}",
                    f"890199900000{start + width:07d}",
                )
            )
        index = IccidIndex(ranges, native=native)
        for probe in probes:
            iccid = f"890199900000{probe:07d}"
            expected = next(
                (r for r in ranges if iccid_key(r.start) <= iccid_key(iccid) <= iccid_key(r.end)),
                None,
            )
            assert index.resolve(iccid, "production") == expected

    def test_keys_beyond_64_bits_and_every_length(self, native: bool) -> None:
        # 20-digit ICCIDs exceed 2**64 (and their keys 2**70): the C table splits keys in two.
        top = ref("big", "production", "99999999999999999900", "99999999999999999999")
        low = ref("low", "production", "100000000000000000", "100000000000000099")  # 18 digits
        index = IccidIndex([top, low, A], native=native)
        assert index.native is (native and NATIVE_AVAILABLE)
        assert index.resolve("99999999999999999950", "production") == top
        assert index.resolve("99999999999999999899", "production") is None
        assert index.resolve("100000000000000050", "production") == low
        assert index.resolve("1000000000000000500", "production") is None

    def test_an_empty_environment_and_no_ranges(self, native: bool) -> None:
        assert IccidIndex([], native=native).resolve(A.start, "production") is None


@pytest.mark.skipif(not NATIVE_AVAILABLE, reason="C extension not built")
class TestNativeTable:
    def test_what_is_not_an_iccid_is_in_no_range(self) -> None:
        index = IccidIndex([A])
        for text in (
            "",
            "89019990500000000x0",
            "８９０１９９９０５０００００００００００",
            "1" * 21,
            " 8901999050000000000",
        ):
            assert index.resolve(text, "production") is None

    def test_the_table_refuses_unsorted_or_ragged_input(self) -> None:
        from mobileplans import _iccid

        with pytest.raises(ValueError, match="strictly increasing"):
            _iccid.RangeTable([0, 0], [5, 1], [0, 0], [6, 2], ["a", "b"])
        with pytest.raises(ValueError, match="differ in length"):
            _iccid.RangeTable([0], [1], [0], [2], [])
        with pytest.raises(TypeError):
            _iccid.RangeTable([0], [1], [0], [2], ["a"]).resolve(8901)  # type: ignore[arg-type]


def test_the_native_table_is_built_unless_explicitly_allowed_missing() -> None:
    """``pip install`` compiles the C table (gcc is part of every supported machine); a
    missing build would silently fall back to the slower Python path, so it fails here
    unless ``MP_ALLOW_PURE_PYTHON_INDEX=1`` says that is intended."""
    if os.environ.get("MP_ALLOW_PURE_PYTHON_INDEX") == "1":
        pytest.skip("pure-Python index allowed by MP_ALLOW_PURE_PYTHON_INDEX")
    assert NATIVE_AVAILABLE
    assert IccidIndex([A]).native


class TestOverlaps:
    def test_other_operators_range_inside_is_an_overlap_naming_both(self) -> None:
        inner = ref("fabrikam", "staging", "8901999000000000500", "8901999000000000600")
        overlaps = find_overlaps([A, inner])
        assert len(overlaps) == 1
        message = overlaps[0].message()
        assert "contoso" in message
        assert "fabrikam" in message
        assert A.start in message
        assert inner.start in message

    def test_other_operator_overlaps_even_across_environments(self) -> None:
        other = ref("fabrikam", "staging", A.end, "8901999199999999999")
        assert find_overlaps([A, other])

    def test_same_operator_may_reuse_a_range_in_another_environment(self) -> None:
        staging = ref("contoso", "staging", A.start, A.end, "test")
        assert find_overlaps([A, staging]) == []

    def test_same_operator_same_environment_overlap_is_rejected(self) -> None:
        subset = ref("contoso", "production", A.start, "8901999000000009999", "test")
        assert find_overlaps([A, subset])

    def test_adjacent_ranges_do_not_overlap(self) -> None:
        next_one = ref("fabrikam", "production", "8901999100000000000", "8901999199999999999")
        assert find_overlaps([A, next_one]) == []

    def test_every_pair_is_reported(self) -> None:
        x = ref("x", "production", "8901999000000000010", "8901999000000000020")
        y = ref("y", "production", "8901999000000000015", "8901999000000000030")
        assert len(find_overlaps([A, x, y])) == 3
