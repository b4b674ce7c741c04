"""ISO 8601 durations: GetBalance's ``timeRemaining`` from an operator's MO API and the
kit's ``--duration`` (kit/durations.py).

Contract: ``parse_duration`` returns a ``timedelta`` or raises ``ValueError``. Property:
``format_duration`` of the result parses back to the same whole seconds.
"""

from __future__ import annotations

from datetime import timedelta

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.kit.durations import format_duration, parse_duration


def TestOneInput(data: bytes) -> None:
    source = text(data)
    try:
        delta = parse_duration(source)
    except ValueError:
        return
    check(delta >= timedelta(0), "negative duration", source, delta)
    whole = timedelta(seconds=int(delta.total_seconds()))
    check(parse_duration(format_duration(delta)) == whole, "format/parse", source, delta)


if __name__ == "__main__":
    main(TestOneInput)
