"""In-memory ICCID -> (operator, environment) resolution, and the overlap rule.

ICCIDs of different lengths are different numbers, so each ICCID is mapped to the
integer key ``len * 10**20 + int(iccid)``: ranges of one length stay contiguous and
never interleave with another length. Per environment the index keeps three
parallel sorted lists (starts, ends, owners) and resolves with one ``bisect``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

_LENGTH_BASE = 10**20


def iccid_key(iccid: str) -> int:
    return len(iccid) * _LENGTH_BASE + int(iccid)


@dataclass(frozen=True, slots=True)
class RangeRef:
    """One configured range and who owns it."""

    operator_id: str
    environment: str
    start: str
    end: str
    kind: str
    range_id: int | None = None

    def describe(self) -> str:
        return f"{self.start}-{self.end} ({self.operator_id}, {self.environment}, {self.kind})"

    def conflicts_with(self, other: RangeRef) -> bool:
        """Another operator's range never may overlap; the same operator's only across
        environments."""
        if self.operator_id != other.operator_id:
            return True
        return self.environment == other.environment


@dataclass(frozen=True, slots=True)
class Overlap:
    first: RangeRef
    second: RangeRef

    def message(self) -> str:
        return f"ICCID range {self.second.describe()} overlaps {self.first.describe()}"


def find_overlaps(ranges: Iterable[RangeRef]) -> list[Overlap]:
    """Every conflicting pair, by a sweep over ranges sorted by start."""
    ordered = sorted(ranges, key=lambda r: (iccid_key(r.start), iccid_key(r.end)))
    open_ranges: list[tuple[int, RangeRef]] = []
    overlaps: list[Overlap] = []
    for current in ordered:
        start = iccid_key(current.start)
        open_ranges = [(end, r) for end, r in open_ranges if end >= start]
        overlaps.extend(Overlap(r, current) for _, r in open_ranges if r.conflicts_with(current))
        open_ranges.append((iccid_key(current.end), current))
    return overlaps


@dataclass(slots=True)
class _EnvironmentIndex:
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    owners: list[RangeRef] = field(default_factory=list)


class IccidIndex:
    """Sorted arrays per environment; ranges must already be free of conflicts."""

    __slots__ = ("_by_environment", "size")

    def __init__(self, ranges: Iterable[RangeRef]) -> None:
        grouped: dict[str, list[RangeRef]] = {}
        for rng in ranges:
            grouped.setdefault(rng.environment, []).append(rng)
        self._by_environment: dict[str, _EnvironmentIndex] = {}
        self.size = 0
        for environment, items in grouped.items():
            items.sort(key=lambda r: iccid_key(r.start))
            index = _EnvironmentIndex(
                starts=[iccid_key(r.start) for r in items],
                ends=[iccid_key(r.end) for r in items],
                owners=items,
            )
            self._by_environment[environment] = index
            self.size += len(items)

    def resolve(self, iccid: str, environment: str) -> RangeRef | None:
        """The range holding ``iccid`` (digits only, no ``F``) in ``environment``."""
        index = self._by_environment.get(environment)
        if index is None:
            return None
        key = len(iccid) * _LENGTH_BASE + int(iccid)
        position = bisect_right(index.starts, key) - 1
        if position >= 0 and key <= index.ends[position]:
            return index.owners[position]
        return None

    def environments(self) -> list[str]:
        return sorted(self._by_environment)
