"""In-memory ICCID -> (operator, environment) resolution, and the overlap rule.

ICCIDs of different lengths are different numbers, so each ICCID is mapped to the
integer key ``len * 10**20 + int(iccid)``: ranges of one length stay contiguous and
never interleave with another length. Per environment the index keeps three
parallel sorted lists (starts, ends, owners) and resolves with one ``bisect``.

When the C extension ``mobileplans._iccid`` is built (``pip install`` compiles it; it is
optional), each environment also gets a ``RangeTable`` holding the same keys as 128-bit
integers and ``resolve`` is one C call: parse, binary search, owner. Both paths give the
same answers (tests compare them); ``IccidIndex(..., native=False)`` forces Python.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

try:
    from mobileplans import _iccid

    NATIVE_AVAILABLE = True
except ImportError:  # built without a C compiler: the pure-Python path serves
    NATIVE_AVAILABLE = False

_LENGTH_BASE = 10**20
_LOW_64 = (1 << 64) - 1


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


def _native_table(index: _EnvironmentIndex) -> Any:
    """The C table of one environment (keys split into high and low 64 bits)."""
    return _iccid.RangeTable(
        [k >> 64 for k in index.starts],
        [k & _LOW_64 for k in index.starts],
        [k >> 64 for k in index.ends],
        [k & _LOW_64 for k in index.ends],
        index.owners,
    )


class IccidIndex:
    """Sorted arrays per environment; ranges must already be free of conflicts."""

    __slots__ = ("_by_environment", "size")

    def __new__(cls, ranges: Iterable[RangeRef], *, native: bool = True) -> IccidIndex:
        chosen = NativeIccidIndex if cls is IccidIndex and native and NATIVE_AVAILABLE else cls
        return object.__new__(chosen)

    def __init__(self, ranges: Iterable[RangeRef], *, native: bool = True) -> None:
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

    @property
    def native(self) -> bool:
        return False

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

    def ranges(self) -> list[RangeRef]:
        """Every range, by environment then start."""
        return [r for env in self.environments() for r in self._by_environment[env].owners]


class NativeIccidIndex(IccidIndex):
    """The same index answered by the C ``RangeTable`` of each environment."""

    __slots__ = ("_native",)

    def __init__(self, ranges: Iterable[RangeRef], *, native: bool = True) -> None:
        super().__init__(ranges, native=native)
        self._native: dict[str, Any] = {
            env: _native_table(ix) for env, ix in self._by_environment.items()
        }

    @property
    def native(self) -> bool:
        return True

    def resolve(self, iccid: str, environment: str) -> RangeRef | None:
        table = self._native.get(environment)
        return None if table is None else table.resolve(iccid)
