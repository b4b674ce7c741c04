"""The in-memory ICCID index and the overlap rule (issue #2)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mobileplans.domains.operator_registry.iccid_index import (
    IccidIndex,
    RangeRef,
    find_overlaps,
    iccid_key,
)


def ref(op: str, env: str, start: str, end: str, kind: str = "full") -> RangeRef:
    return RangeRef(op, env, start, end, kind)


A = ref("contoso", "production", "8901999000000000000", "8901999099999999999")
B = ref("fabrikam", "production", "8944999000000000000", "8944999099999999999", "test")


class TestResolve:
    def test_finds_the_owner_at_both_ends_and_inside(self) -> None:
        index = IccidIndex([A, B])
        for iccid in (A.start, "8901999050000000000", A.end):
            assert index.resolve(iccid, "production") == A
        assert index.resolve("8944999000000000001", "production") == B

    def test_misses_just_outside_a_range(self) -> None:
        index = IccidIndex([A])
        assert index.resolve("8901998999999999999", "production") is None
        assert index.resolve("8901999100000000000", "production") is None

    def test_another_environment_does_not_match(self) -> None:
        index = IccidIndex([A])
        assert index.resolve(A.start, "staging") is None

    def test_lengths_never_mix(self) -> None:
        twenty = ref("x", "production", "89019990000000000000", "89019999999999999999")
        index = IccidIndex([A, twenty])
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
        self, bounds: list[tuple[int, int]], probes: list[int]
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
        index = IccidIndex(ranges)
        for probe in probes:
            iccid = f"890199900000{probe:07d}"
            expected = next(
                (r for r in ranges if iccid_key(r.start) <= iccid_key(iccid) <= iccid_key(r.end)),
                None,
            )
            assert index.resolve(iccid, "production") == expected


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
