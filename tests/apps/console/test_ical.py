"""The console's RFC 5545 writer against the RFC's own examples and rules: TEXT escaping
(3.3.11), UTC date-times (3.3.5), content lines folded at 75 octets without splitting a
UTF-8 character and unfolded back to the original (3.1), the VCALENDAR shape (3.4, 3.6.1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from mobileplans.apps.console import ical


def unfold(text: str) -> list[str]:
    """RFC 5545 3.1: a CRLF followed by one space or tab is removed."""
    return re.sub(r"\r\n[ \t]", "", text).split("\r\n")


def test_text_is_escaped_as_rfc_5545_3_3_11_shows() -> None:
    # the RFC's example: "Project XYZ Final Review\nConference Room - 3B\nCome Prepared."
    text = "Project XYZ Final Review\nConference Room - 3B\nCome Prepared."
    assert (
        ical.escape_text(text) == "Project XYZ Final Review\\nConference Room - 3B\\nCome Prepared."
    )
    assert ical.escape_text("a;b,c\\d\r\ne") == "a\\;b\\,c\\\\d\\ne"


def test_date_times_are_utc_form_2() -> None:
    # 3.3.5: "19980119T070000Z"; an offset is converted, not dropped
    assert ical.utc(datetime(1998, 1, 19, 7, tzinfo=UTC)) == "19980119T070000Z"
    plus_two = timezone(timedelta(hours=2))
    assert ical.utc(datetime(1998, 1, 19, 9, tzinfo=plus_two)) == "19980119T070000Z"


def test_long_lines_fold_at_75_octets_and_unfold_back() -> None:
    line = "DESCRIPTION:" + "This is a long description that exists on a long line. " * 5
    folded = ical.fold(line)
    physical = folded.split("\r\n")
    assert len(physical) == 4
    assert [len(p.encode()) for p in physical[:-1]] == [75, 75, 75]
    assert all(p.startswith(" ") for p in physical[1:])
    assert unfold(folded) == [line]
    assert ical.fold("SUMMARY:short") == "SUMMARY:short"


def test_folding_never_splits_a_utf8_character() -> None:
    line = "SUMMARY:" + "Wartung für Zürich — ünd Größe " * 6
    folded = ical.fold(line)
    for physical in folded.split("\r\n"):
        assert len(physical.encode("utf-8")) <= 75
        physical.encode("utf-8").decode("utf-8")  # whole characters only
    assert unfold(folded) == [line]
    # a line of 3-octet characters: 75 // 3 = 25 on the first line, 74 // 3 = 24 after
    wide = "X:" + "€" * 60
    parts = ical.fold(wide).split("\r\n")
    assert len(parts[0].encode()) <= 75
    assert all(len(p.encode()) <= 75 for p in parts)
    assert unfold(ical.fold(wide)) == [wide]


def test_a_calendar_has_the_rfc_shape() -> None:
    start = datetime(2026, 11, 16, 1, tzinfo=UTC)
    event = ical.Event(
        uid="maintenance-7@alpha.mobileplans",
        start=start,
        end=start + timedelta(hours=2),
        summary="Maintenance alpha production, platform side",
        description="Core upgrade, part 1; part 2\nImpact: none",
        status="CANCELLED",
        created=start - timedelta(days=7),
        last_modified=start - timedelta(days=1),
        sequence=1,
    )
    body = ical.calendar("Maintenance · Alpha", [event], stamp=datetime(2026, 11, 2, tzinfo=UTC))
    assert body.endswith("\r\n")
    assert "\n" not in body.replace("\r\n", "")  # every line ends in CRLF
    lines = unfold(body)[:-1]
    assert lines[:5] == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{ical.PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    assert lines[-1] == "END:VCALENDAR"
    vevent = lines[lines.index("BEGIN:VEVENT") : lines.index("END:VEVENT") + 1]
    props = dict(line.split(":", 1) for line in vevent[1:-1])
    assert props["UID"] == "maintenance-7@alpha.mobileplans"
    assert props["DTSTAMP"] == "20261102T000000Z"
    assert props["DTSTART"] == "20261116T010000Z"
    assert props["DTEND"] == "20261116T030000Z"
    assert props["STATUS"] == "CANCELLED"
    assert props["SEQUENCE"] == "1"
    assert props["DESCRIPTION"] == "Core upgrade\\, part 1\\; part 2\\nImpact: none"
