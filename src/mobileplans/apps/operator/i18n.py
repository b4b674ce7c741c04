"""Portal languages (spec 2.1.2 ``Accept-Language``; 5.11 "honor Accept-Language").

Catalogues are ``locales/<language>.yaml`` (flat ``key: text`` maps, ``{name}`` fields).
English is complete and the fallback for any missing key; French is the second language.
A site serves the languages in ``OperatorSite.languages`` that have a catalogue.

Negotiation (RFC 9110 12.5.4): ranges are weighed by ``q`` (default 1, ``q=0`` refuses);
the highest weight wins, ties keep header order; ``fr-CA`` matches ``fr``; ``*`` matches
the site's first language; nothing acceptable → English.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

LOCALES = Path(__file__).parent / "locales"
FALLBACK = "en"
MAX_RANGES = 32


@functools.cache
def catalogues() -> dict[str, dict[str, str]]:
    found = {}
    for path in sorted(LOCALES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found[path.stem] = {str(k): str(v) for k, v in data.items()}
    return found


def _ranges(header: str) -> list[tuple[str, float]]:
    weighed = []
    for part in header.split(",")[:MAX_RANGES]:
        tag, *params = (piece.strip() for piece in part.split(";"))
        if not tag:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1.0
        if 0 < q <= 1:
            weighed.append((tag.lower(), q))
    return sorted(weighed, key=lambda item: -item[1])  # stable: ties keep header order


def negotiate(header: str | None, available: Sequence[str]) -> str:
    """The language to render for an ``Accept-Language`` header."""
    offered = [lang for lang in available if lang in catalogues()] or [FALLBACK]
    for tag, _ in _ranges(header or ""):
        if tag == "*":
            return offered[0]
        primary = tag.split("-")[0]
        if tag in offered:
            return tag
        if primary in offered:
            return primary
    return FALLBACK if FALLBACK in offered or not offered else offered[0]


class Translator:
    """``t(key, **fields)`` in one language, English for what that language lacks."""

    def __init__(self, language: str) -> None:
        everything = catalogues()
        self.language = language if language in everything else FALLBACK
        self._texts = everything.get(self.language, {})
        self._fallback = everything.get(FALLBACK, {})

    def __call__(self, key: str, **fields: Any) -> str:
        text = self._texts.get(key) or self._fallback.get(key) or key
        return text.format(**fields) if fields else text

    def has(self, key: str) -> bool:
        return key in self._texts or key in self._fallback
