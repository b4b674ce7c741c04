"""E.164 number ranges an operator serves (seed 004 step 1; spec 1.11, 2.10): prefixes such
as ``+3361`` next to its MCC/MNC, and the lookup of a phone number to its operator.

A prefix is ``+`` and 1-15 digits starting with a country calling code ``phonenumbers``
knows. Two operators' prefixes overlap when one starts with the other; like overlapping
ICCID ranges, that is refused. A lookup takes the longest matching prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from mobileplans.errors import Conflict

PREFIX = re.compile(r"^\+[1-9][0-9]{0,14}$")


def parse_prefix(value: str) -> str:
    """The prefix, spaces and dashes removed; ValueError naming the rule if malformed."""
    text = re.sub(r"[\s-]", "", value)
    if not PREFIX.fullmatch(text):
        raise ValueError(f"phone prefix {value!r} must be + and 1-15 digits (E.164)")
    digits = text[1:]
    codes = (int(digits[:n]) for n in (1, 2, 3) if len(digits) >= n)
    if not any(phonenumbers.region_code_for_country_code(c) != "ZZ" for c in codes):
        raise ValueError(f"phone prefix {value!r} starts with no country calling code")
    return text


@dataclass(frozen=True)
class PrefixRef:
    operator_id: str
    prefix: str


def check_no_prefix_overlap(refs: Iterable[PrefixRef]) -> None:
    """Raise :class:`Conflict` naming both prefixes of the first overlap between operators."""
    ordered = sorted(refs, key=lambda r: r.prefix)
    messages = []
    for i, ref in enumerate(ordered):
        for other in ordered[i + 1 :]:
            if not other.prefix.startswith(ref.prefix):
                break
            if other.operator_id != ref.operator_id:
                messages.append(
                    f"phone prefix {other.prefix} of {other.operator_id} overlaps "
                    f"{ref.prefix} of {ref.operator_id}"
                )
    if messages:
        raise Conflict(messages[0], overlaps=messages, field="phonePrefixes")


class PhoneIndex:
    """Longest-prefix lookup of an E.164 number (at most 15 dictionary probes)."""

    def __init__(self, refs: Iterable[PrefixRef]) -> None:
        self._owners = {r.prefix: r.operator_id for r in refs}

    def resolve(self, e164: str) -> str | None:
        for end in range(len(e164), 1, -1):
            owner = self._owners.get(e164[:end])
            if owner is not None:
                return owner
        return None
