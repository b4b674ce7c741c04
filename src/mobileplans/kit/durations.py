"""ISO 8601 durations as GetBalance's ``timeRemaining`` carries them (``P23DT23H``, ``PT0S``)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def format_duration(delta: timedelta) -> str:
    """Whole seconds, largest units first, zero parts left out; ``PT0S`` for nothing left."""
    total = max(0, int(delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    clock += f"{seconds}S" if seconds else ""
    if clock:
        out += "T" + clock
    return out if out != "P" else "PT0S"


def parse_duration(text: str) -> timedelta:
    """Parse the day/time subset of ISO 8601 durations; raise ``ValueError`` otherwise
    (a trailing newline, or a duration past ``timedelta``'s 999,999,999 days, included)."""
    match = _DURATION.fullmatch(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 day/time duration: {text!r}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    try:
        return timedelta(
            days=parts.get("days", 0),
            hours=parts.get("hours", 0),
            minutes=parts.get("minutes", 0),
            seconds=parts.get("seconds", 0),
        )
    except OverflowError as exc:
        raise ValueError(f"ISO 8601 duration too long: {text[:40]!r}") from exc
