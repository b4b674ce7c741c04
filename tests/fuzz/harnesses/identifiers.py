"""ICCID, EID, IMEI, country, E.164, transactionId, MCC-MNC (kit/identifiers.py).

Contract: each parser returns its canonical form or raises ``IdentifierError`` naming the
field. Properties: a canonical form parses to itself (ICCID, EID, IMEI, country, E.164,
MCC-MNC), an ICCID list joined with commas parses back to the same list.
"""

from __future__ import annotations

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.kit import identifiers as ids

SINGLE = (
    lambda v: ids.parse_iccid(v),
    lambda v: ids.parse_iccid(v, lenient=True),
    ids.parse_eid,
    ids.parse_imei,
    ids.parse_country,
    ids.parse_phone_number,
    ids.parse_mcc,
    ids.parse_mnc,
)


def _idempotent(value: str) -> None:
    for parse in SINGLE:
        try:
            result = parse(value)
        except ids.IdentifierError as exc:
            check(bool(exc.field) and bool(exc.rule), "IdentifierError without field/rule", value)
            continue
        check(isinstance(result, str) and result != "", "empty result", value, result)
        check(parse(result) == result, "canonical form does not parse to itself", value, result)


def _transaction_id(value: str) -> None:
    try:
        result = ids.parse_transaction_id(value)
    except ids.IdentifierError:
        return
    check(result == value and 0 < len(result) <= ids.TRANSACTION_ID_MAX, "transactionId", value)


def _lists(value: str) -> None:
    try:
        items = ids.parse_iccid_list(value, lenient=True)
    except ids.IdentifierError:
        return
    again = ids.parse_iccid_list(",".join(items), lenient=True)
    check(again == items, "ICCID list does not round-trip", value, items)
    try:
        plmn = ids.parse_plmn(value)
    except ids.IdentifierError:
        return
    check(ids.parse_plmn(str(plmn)) == plmn, "MCC-MNC does not round-trip", value, plmn)


def TestOneInput(data: bytes) -> None:
    value = text(data)
    _idempotent(value)
    _transaction_id(value)
    _lists(value)


if __name__ == "__main__":
    main(TestOneInput)
