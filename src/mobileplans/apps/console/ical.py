"""A small RFC 5545 (iCalendar) writer for the console's maintenance feed: one VCALENDAR
of VEVENTs, TEXT values escaped (3.3.11), date-times in UTC (3.3.5 form #2), content lines
ending in CRLF and folded at 75 octets without splitting a UTF-8 character (3.1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

CRLF = "\r\n"
LINE_OCTETS = 75
PRODID = "-//Mobile Plans//Console maintenance feed//EN"


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str
    status: str  # CONFIRMED | CANCELLED (3.8.1.11)
    created: datetime
    last_modified: datetime
    sequence: int = 0
    categories: str | None = None


def escape_text(value: str) -> str:
    """RFC 5545 3.3.11: backslash, semicolon and comma escaped; line breaks as ``\\n``."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def utc(value: datetime) -> str:
    """3.3.5 form #2: ``19980119T070000Z``."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """3.1: lines longer than 75 octets split into a first line of at most 75 octets and
    continuation lines of one space plus at most 74 octets, never inside a character."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > LINE_OCTETS:
            out.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    out.append("".join(current))
    return CRLF.join(out)


def _event_lines(event: Event, stamp: datetime) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{utc(stamp)}",
        f"DTSTART:{utc(event.start)}",
        f"DTEND:{utc(event.end)}",
        f"CREATED:{utc(event.created)}",
        f"LAST-MODIFIED:{utc(event.last_modified)}",
        f"SEQUENCE:{event.sequence}",
        f"STATUS:{event.status}",
        f"SUMMARY:{escape_text(event.summary)}",
        f"DESCRIPTION:{escape_text(event.description)}",
        "TRANSP:TRANSPARENT",
    ]
    if event.categories:
        lines.append(f"CATEGORIES:{escape_text(event.categories)}")
    lines.append("END:VEVENT")
    return lines


def calendar(name: str, events: Iterable[Event], *, stamp: datetime) -> str:
    """The whole ``text/calendar`` body (METHOD:PUBLISH, one VEVENT per event)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines.extend(_event_lines(event, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
