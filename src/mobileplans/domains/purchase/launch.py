"""Portal launch parameters (spec 2.1.1) and re-entry headers (spec 2.1.3): pure parsing.

Launch rules (eras B/C):

- ``transactionId`` required, 1-64 printable characters; ``location`` required (ISO 3166
  alpha-2, ``UK`` read as ``GB``); ``market`` defaults to ``location`` when absent.
- ``eid`` (eSIM) or ``iccid`` (physical SIM) is required, never both; ``iccids`` only with
  an eSIM. ICCIDs lose a trailing ``F``; ``iccids`` is split on commas and trimmed (7.1 #20);
  the Luhn digit is not enforced (7.2 #39). ``imei`` is 15 digits with its Luhn digit.
- Unknown parameters are ignored. A parameter given twice is refused (which one is meant?).

Re-entry headers: ``X-MP-LPAError-Codes`` (comma list of ``ESimOperationStatus`` names;
unknown names are kept and read as ``Other``), ``X-MP-LPAError-TimeStamps`` (one per code,
``5/18/2018 11:17:23 PM`` read as UTC, or ISO 8601 with an offset, 7.1 #19) and
``X-MP-LPAError-ICCIDs`` (one ICCID).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone

from mobileplans.domains.purchase.schemas import (
    DeviceLaunch,
    LaunchProblem,
    LpaError,
    LpaErrorReport,
    MoDirectStatus,
)
from mobileplans.kit import identifiers as ids
from mobileplans.kit.esim import ESimOperationStatus

KNOWN_PARAMETERS = ("eid", "iccid", "iccids", "imei", "market", "location", "transactionId")
LPA_CODES = "x-mp-lpaerror-codes"
LPA_TIMESTAMPS = "x-mp-lpaerror-timestamps"
LPA_ICCIDS = "x-mp-lpaerror-iccids"
MAX_LPA_ERRORS = 20
_US_TIME = re.compile(
    r"^(?P<stamp>\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AaPp][Mm])"
    r"(?:\s*(?P<offset>[+-]\d{2}:?\d{2}|Z|UTC))?$"
)


class LaunchRefused(Exception):
    def __init__(self, problem: LaunchProblem) -> None:
        super().__init__(f"{problem.field}: {problem.rule}")
        self.problem = problem


def _client_error(field: str, rule: str) -> LaunchRefused:
    return LaunchRefused(LaunchProblem(MoDirectStatus.CLIENT_ERROR, field, rule))


def _single(query: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in query if key == name]
    if len(values) > 1:
        raise _client_error(name, "is given more than once")
    return values[0] if values else None


def parse_launch(query: Sequence[tuple[str, str]]) -> DeviceLaunch:
    """Validate the launch query (a list of pairs, as received); raise :class:`LaunchRefused`."""
    raw = {name: _single(query, name) for name in KNOWN_PARAMETERS}
    try:
        transaction_id = ids.parse_transaction_id(raw["transactionId"])
        location = ids.parse_country(raw["location"], field="location")
        market = ids.parse_country(raw["market"], field="market") if raw["market"] else location
        imei = ids.parse_imei(raw["imei"]) if raw["imei"] else None
        eid = ids.parse_eid(raw["eid"]) if raw["eid"] else None
        iccid = ids.parse_iccid(raw["iccid"], lenient=True) if raw["iccid"] else None
        iccids = tuple(dict.fromkeys(ids.parse_iccid_list(raw["iccids"], lenient=True)))
    except ids.IdentifierError as exc:
        raise _client_error(exc.field, exc.rule) from exc
    if iccid and (eid or iccids):
        raise _client_error("iccid", "a physical SIM (iccid) excludes eid and iccids")
    if iccids and not eid:
        raise _client_error("iccids", "iccids come with the eUICC's eid")
    if not iccid and not eid:
        raise _client_error("eid", "eid (eSIM) or iccid (physical SIM) is required")
    return DeviceLaunch(
        transaction_id=transaction_id,
        location=location,
        market=market,
        eid=eid,
        iccid=iccid,
        iccids=iccids,
        imei=imei,
    )


def safe_transaction_id(query: Sequence[tuple[str, str]]) -> str | None:
    """The launch ``transactionId`` if it is valid, for logging a refused launch under it."""
    values = [value for key, value in query if key == "transactionId"]
    try:
        return ids.parse_transaction_id(values[0]) if len(values) == 1 else None
    except ids.IdentifierError:
        return None


def parse_timestamp(text: str) -> datetime | None:
    """``5/18/2018 11:17:23 PM`` (UTC unless an offset follows) or ISO 8601; else ``None``."""
    text = text.strip()
    match = _US_TIME.match(text)
    try:  # an offset of 24 h or more, or an instant that leaves years 1-9999 in UTC: None
        if match:
            stamp = datetime.strptime(match["stamp"].upper(), "%m/%d/%Y %I:%M:%S %p")
            return stamp.replace(tzinfo=_offset(match["offset"])).astimezone(UTC)
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _offset(text: str | None) -> timezone:
    if text is None or text in ("Z", "UTC"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


_BY_NAME = {status.name.lower(): status for status in ESimOperationStatus}


def status_of(name: str) -> ESimOperationStatus:
    """The status named (any casing: the app sends PascalCase); unknown names are ``Other``."""
    return _BY_NAME.get(name.lower(), ESimOperationStatus.Other)


def parse_lpa_errors(headers: Mapping[str, str]) -> LpaErrorReport | None:
    """The re-entry report, ``None`` when the launch is not a re-entry.

    A re-entry is recognised by ``X-MP-LPAError-ICCIDs``; without it the codes cannot be
    tied to a profile and are ignored. The ICCID must be well formed (else ClientError).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    iccid_text = lowered.get(LPA_ICCIDS, "").strip()
    if not iccid_text:
        return None
    try:
        iccid = ids.parse_iccid(
            iccid_text.split(",")[0], field="X-MP-LPAError-ICCIDs", lenient=True
        )
    except ids.IdentifierError as exc:
        raise _client_error(exc.field, exc.rule) from exc
    names = [n.strip() for n in lowered.get(LPA_CODES, "").split(",") if n.strip()]
    stamps = [s.strip() for s in lowered.get(LPA_TIMESTAMPS, "").split(",")]
    errors = []
    for index, name in enumerate(names[:MAX_LPA_ERRORS]):
        raw_time = stamps[index] if index < len(stamps) and stamps[index] else None
        at = parse_timestamp(raw_time) if raw_time else None
        errors.append(LpaError(name=name[:64], status=status_of(name), at=at, raw_time=raw_time))
    return LpaErrorReport(iccid=iccid, errors=tuple(errors))


def report_from(iccid: str, entries: Sequence[tuple[str, str | None]]) -> LpaErrorReport:
    """Rebuild a report from ``(code name, timestamp text)`` pairs kept in the session."""
    errors = tuple(
        LpaError(name=name, status=status_of(name), at=parse_timestamp(raw) if raw else None,
                 raw_time=raw)
        for name, raw in entries
    )  # fmt: skip
    return LpaErrorReport(iccid=iccid, errors=errors)
