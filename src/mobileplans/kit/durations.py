"""ISO 8601 durations as GetBalance's ``timeRemaining`` carries them (``P23DT23H``, ``PT0S``)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


_HOURS = ("", *(f"{n}H" for n in range(1, 24)))
_MINUTES = ("", *(f"{n}M" for n in range(1, 60)))
_SECONDS = ("", *(f"{n}S" for n in range(1, 60)))
"""The time parts by value, made once: formatting three numbers per call is most of the
cost of a GetBalance's ``timeRemaining`` (issue #8)."""


def format_duration(delta: timedelta) -> str:
    """Whole seconds, largest units first, zero parts left out; ``PT0S`` for nothing left."""
    total = int(delta.total_seconds())
    if total <= 0:
        return "PT0S"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = _HOURS[hours] + _MINUTES[minutes] + _SECONDS[seconds]
    if not days:
        return "PT" + clock  # not empty: total > 0
    return f"P{days}DT{clock}" if clock else f"P{days}D"


def parse_duration(text: str) -> timedelta:
    """Parse the day/time subset of ISO 8601 durations; raise ``ValueError`` otherwise
    (a trailing newline, or a duration past ``timedelta``'s 999,999,999 days, included)."""
    match = _DURATION.fullmatch(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 day/time duration: {text!r}")
    days, hours, minutes, seconds = match.groups()  # each once a GetBalance (issue #8)
    try:
        return timedelta(
            days=float(days) if days else 0,
            hours=float(hours) if hours else 0,
            minutes=float(minutes) if minutes else 0,
            seconds=float(seconds) if seconds else 0,
        )
    except OverflowError as exc:
        raise ValueError(f"ISO 8601 duration too long: {text[:40]!r}") from exc
