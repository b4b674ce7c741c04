"""Synthetic ICCID ranges and query ICCIDs shared by the resolution benchmarks.

Layout (all ICCIDs have 19 digits, start and end of a range the same length):
range ``i`` covers ``8900000000000000000 + i * STRIDE`` up to ``... + WIDTH - 1``.
``WIDTH`` is half of ``STRIDE``, so the second half of every stride is a gap that
no range holds: queries drawn from it are misses. Starts end in 0 and ends in 9,
so every 18-digit body inside a range stays inside whatever its Luhn digit is.
Range ``i`` belongs to operator ``i * operators // ranges`` (contiguous blocks).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from mobileplans.kit.identifiers import iccid_check_digit

BASE = 8_900_000_000_000_000_000
STRIDE = 10**10
WIDTH = STRIDE // 2
ENVIRONMENT = "production"
COUNTRIES = ("US", "GB", "FR", "DE", "ES", "IT", "NL", "SE", "JP", "BR")


@dataclass(frozen=True, slots=True)
class RangeSpec:
    operator: int
    start: str
    end: str


def operator_id(number: int) -> str:
    return f"op-{number:04d}"


def make_ranges(ranges: int, operators: int) -> list[RangeSpec]:
    if ranges * STRIDE >= 10**19 - BASE:
        raise ValueError(f"at most {(10**19 - BASE) // STRIDE} ranges fit the layout")
    operators = max(1, min(operators, ranges))
    out = []
    for i in range(ranges):
        start = BASE + i * STRIDE
        out.append(RangeSpec(i * operators // ranges, str(start), str(start + WIDTH - 1)))
    return out


def operator_documents(ranges: list[RangeSpec], operators: int) -> list[dict[str, Any]]:
    """``OperatorSpec`` wire dicts (camelCase), one per operator, with their ranges."""
    by_operator: dict[int, list[dict[str, str]]] = {}
    for rng in ranges:
        by_operator.setdefault(rng.operator, []).append(
            {"environment": ENVIRONMENT, "start": rng.start, "end": rng.end, "kind": "full"}
        )
    docs = []
    for number in range(operators):
        oid = operator_id(number)
        docs.append(
            {
                "id": oid,
                "brandName": f"Operator {number:04d}",
                "countries": [COUNTRIES[number % len(COUNTRIES)]],
                "environments": {ENVIRONMENT: {"portalUrl": f"https://{oid}.example/portal/"}},
                "iccidRanges": by_operator.get(number, []),
            }
        )
    return docs


def _with_check_digit(body18: int) -> str:
    body = str(body18)
    return body + iccid_check_digit(body)


def hit_iccids(ranges: int, count: int, seed: int = 1) -> list[str]:
    """Luhn-valid ICCIDs, each inside a random range."""
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        start = BASE + rnd.randrange(ranges) * STRIDE
        out.append(_with_check_digit(start // 10 + rnd.randrange(WIDTH // 10)))
    return out


def miss_iccids(ranges: int, count: int, seed: int = 2) -> list[str]:
    """Luhn-valid ICCIDs inside the gap after a random range (in no range)."""
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        gap = BASE + rnd.randrange(ranges) * STRIDE + WIDTH
        out.append(_with_check_digit(gap // 10 + rnd.randrange(WIDTH // 10)))
    return out


def mixed_iccids(ranges: int, count: int, hit_share: float, seed: int = 3) -> list[str]:
    hits = round(count * hit_share)
    out = hit_iccids(ranges, hits, seed) + miss_iccids(ranges, count - hits, seed + 1)
    random.Random(seed).shuffle(out)
    return out
