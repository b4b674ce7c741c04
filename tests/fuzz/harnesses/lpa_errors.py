"""The re-entry headers ``X-MP-LPAError-*`` (spec 2.1.3; purchase/launch.py).

Input: header lines ``Name: value``. Contract: ``parse_lpa_errors`` returns ``None``
(no re-entry) or an ``LpaErrorReport``, or raises ``LaunchRefused`` for a malformed
ICCID; ``parse_timestamp`` returns an aware UTC datetime or ``None``, never raises.
Properties: at most ``MAX_LPA_ERRORS`` codes; rebuilding the report from the session's
``(name, raw time)`` pairs (``report_from``) gives the same report.
"""

from __future__ import annotations

from datetime import UTC

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.domains.purchase import launch


def _headers(value: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in value.splitlines():
        name, _, rest = line.partition(":")
        headers[name.strip()] = rest.strip()
    return headers


def _timestamps(values: list[str]) -> None:
    for raw in values:
        at = launch.parse_timestamp(raw)
        check(at is None or at.tzinfo is UTC, "timestamp not in UTC", raw, at)


def TestOneInput(data: bytes) -> None:
    value = text(data)
    headers = _headers(value)
    _timestamps([*headers.values(), value])
    try:
        report = launch.parse_lpa_errors(headers)
    except launch.LaunchRefused as exc:
        check(exc.problem.field == "X-MP-LPAError-ICCIDs", "refusal names another field", value)
        return
    if report is None:
        return
    check(len(report.errors) <= launch.MAX_LPA_ERRORS, "too many codes kept", value)
    again = launch.report_from(report.iccid, [(e.name, e.raw_time) for e in report.errors])
    check(again == report, "report_from does not rebuild the report", value, report, again)


if __name__ == "__main__":
    main(TestOneInput)
