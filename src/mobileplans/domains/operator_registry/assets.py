"""Visual assets and text limits (spec 3.3, 3.4): logo sizes, gateway images, colours,
and the flyout's one-line brand name."""

from __future__ import annotations

import re
from typing import Final

LOGO_SIZES: Final = frozenset({150, 188, 225, 300, 400, 600})
"""Square logo edges allowed: 300 px (Mobile Plans) and the DYNAMO set."""
GATEWAY_IMAGE_MAX: Final = (1200, 600)
COLOR = re.compile(r"0x[0-9A-Fa-f]{8}")

# Flyout branding name: one line, tested maxima W x18, M x19, m x20, i x72 (spec 3.3).
# Each glyph gets the share of the line those maxima imply; glyphs the docs do not
# measure get the share of a glyph of the same shape class. Total must stay <= 1.
_MEASURED: Final = {"W": 1 / 18, "M": 1 / 19, "m": 1 / 20, "i": 1 / 72}
_NARROW: Final = frozenset("iIl.,:;'!|j ")
_WIDE_UPPER: Final = frozenset("WM")


def glyph_share(char: str) -> float:
    if char in _MEASURED:
        return _MEASURED[char]
    if char in _NARROW:
        return 1 / 72
    if char.isupper() or char in _WIDE_UPPER:
        return 1 / 26
    if char in "wm":
        return 1 / 20
    return 1 / 36


def brand_name_line_share(name: str) -> float:
    """Fraction of the flyout's branding line that ``name`` fills (> 1 means truncated)."""
    return sum(glyph_share(c) for c in name)
