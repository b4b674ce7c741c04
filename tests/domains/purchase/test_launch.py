"""Launch parameters (spec 2.1.1, 7.1 #6, #20, 7.2 #39) and re-entry headers (2.1.3, 7.1 #19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mobileplans.domains.purchase.launch import (
    LaunchRefused,
    parse_launch,
    parse_lpa_errors,
    parse_timestamp,
    report_from,
    safe_transaction_id,
)
from mobileplans.domains.purchase.schemas import MoDirectStatus
from mobileplans.kit.esim import ESimOperationStatus
from mobileplans.kit.identifiers import eid_with_check_digits
from tests.support import valid_iccid

EID = eid_with_check_digits("890330240104000001000000000091")
IMEI = "001102000315468"
A = valid_iccid("898824700010186718")
B = valid_iccid("898824700010382482")


def esim(**extra: str) -> list[tuple[str, str]]:
    base = {
        "market": "US",
        "location": "US",
        "transactionId": "%2F7RBTuSJt02OZbX8.4",
        "eid": EID,
        "imei": IMEI,
    }
    base.update(extra)
    return [(k, v) for k, v in base.items() if v != ""]


def refused(query: list[tuple[str, str]]) -> tuple[MoDirectStatus, str]:
    with pytest.raises(LaunchRefused) as caught:
        parse_launch(query)
    return caught.value.problem.status, caught.value.problem.field


def test_canonical_esim_launch_with_iccids_and_spaces() -> None:
    device = parse_launch(esim(iccids=f"{A}, {B}F"))
    assert device.eid == EID
    assert device.iccids == (A, B)  # spaces trimmed, trailing F stripped
    assert device.market == "US"
    assert device.transaction_id == "%2F7RBTuSJt02OZbX8.4"
    assert not device.is_physical


def test_physical_sim_launch_strips_f_and_upper_cases_countries() -> None:
    query = [
        ("iccid", A + "F"),
        ("imei", IMEI),
        ("market", "us"),
        ("transactionId", "waoigFfX00yGH3Vb.1"),
        ("location", "uk"),
    ]
    device = parse_launch(query)
    assert device.iccid == A
    assert device.is_physical
    assert (device.market, device.location) == ("US", "GB")


def test_unknown_parameters_are_ignored_and_market_defaults_to_location() -> None:
    query = [*esim(market=""), ("phoneNumber", "+14255550100"), ("future", "x"), ("", "")]
    device = parse_launch(query)
    assert device.market == "US"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"transactionId": ""}, "transactionId"),
        ({"transactionId": "x" * 65}, "transactionId"),
        ({"transactionId": "has space"}, "transactionId"),
        ({"location": ""}, "location"),
        ({"location": "USA"}, "location"),
        ({"location": "ZZ"}, "location"),
        ({"market": "12"}, "market"),
        ({"imei": "12345"}, "imei"),
        ({"imei": "001102000315469"}, "imei"),
        ({"eid": "8903302401040000010000000000913"}, "eid"),
        ({"eid": EID[:-1] + str((int(EID[-1]) + 1) % 10)}, "eid"),
        ({"eid": ""}, "eid"),
        ({"iccids": f"{A},,{B}"}, "iccids"),
        ({"iccids": "123"}, "iccids"),
        ({"iccids": "89882470001018671x"}, "iccids"),
    ],
)
def test_each_bad_parameter_is_a_client_error_naming_it(
    changes: dict[str, str], field: str
) -> None:
    assert refused(esim(**changes)) == (MoDirectStatus.CLIENT_ERROR, field)


def test_sixty_four_characters_is_the_longest_transaction_id() -> None:
    assert parse_launch(esim(transactionId="t" * 64)).transaction_id == "t" * 64


def test_physical_iccid_with_eid_or_iccids_is_refused() -> None:
    assert refused(esim(iccid=A)) == (MoDirectStatus.CLIENT_ERROR, "iccid")
    query = [("iccid", A), ("iccids", B), ("location", "US"), ("transactionId", "t.1")]
    assert refused(query)[1] == "iccid"


def test_iccids_without_eid_is_refused() -> None:
    query = [("iccids", A), ("location", "US"), ("transactionId", "t.1")]
    assert refused(query) == (MoDirectStatus.CLIENT_ERROR, "iccids")


def test_a_parameter_given_twice_is_refused() -> None:
    assert refused([*esim(), ("eid", EID)]) == (MoDirectStatus.CLIENT_ERROR, "eid")


def test_safe_transaction_id_only_for_a_valid_one() -> None:
    assert safe_transaction_id(esim()) == "%2F7RBTuSJt02OZbX8.4"
    assert safe_transaction_id(esim(transactionId="x" * 65)) is None
    assert safe_transaction_id([("transactionId", "a"), ("transactionId", "b")]) is None


def test_timestamps_in_both_formats() -> None:
    assert parse_timestamp("5/18/2018 11:17:23 PM") == datetime(2018, 5, 18, 23, 17, 23, tzinfo=UTC)
    assert parse_timestamp("05/18/2018 01:02:03 am") == datetime(2018, 5, 18, 1, 2, 3, tzinfo=UTC)
    assert parse_timestamp("5/18/2018 11:17:23 PM +02:00") == datetime(
        2018, 5, 18, 21, 17, 23, tzinfo=UTC
    )
    iso = parse_timestamp("2018-05-18T23:17:23-07:00")
    assert iso == datetime(2018, 5, 18, 23, 17, 23, tzinfo=timezone(timedelta(hours=-7)))
    assert iso is not None
    assert iso.tzinfo == UTC
    assert parse_timestamp("2018-05-18T23:17:23Z") == datetime(2018, 5, 18, 23, 17, 23, tzinfo=UTC)
    assert parse_timestamp("13/45/2018 11:17:23 PM") is None
    assert parse_timestamp("yesterday") is None


def test_timestamps_out_of_range_read_as_unknown() -> None:
    """Found by fuzzing (tests/fuzz/harnesses/lpa_errors.py): these raised instead of None."""
    assert parse_timestamp("12/31/2023 1:02:03 am -85:00") is None  # offset of 24 h or more
    assert parse_timestamp("5/18/2018 11:17:23 PM +23:60") is None
    assert parse_timestamp("1/1/0001 12:00:00 AM +01:00") is None  # before year 1 in UTC
    assert parse_timestamp("9999-12-31T23:59:59-01:00") is None  # after year 9999 in UTC
    assert parse_timestamp("0001-01-01T00:30:00+01:00") is None


def test_reentry_headers_pair_codes_with_times_and_read_unknown_codes_as_other() -> None:
    headers = {
        "X-MP-LPAError-Codes": "ServerFailure, serverNotReachable,BrandNewError",
        "X-MP-LPAError-TimeStamps": "5/18/2018 11:17:23 PM,2018-05-18T23:27:33+00:00",
        "X-MP-LPAError-ICCIDs": A + "F",
    }
    report = parse_lpa_errors(headers)
    assert report is not None
    assert report.iccid == A
    assert [(e.name, e.status) for e in report.errors] == [
        ("ServerFailure", ESimOperationStatus.ServerFailure),
        ("serverNotReachable", ESimOperationStatus.ServerNotReachable),
        ("BrandNewError", ESimOperationStatus.Other),
    ]
    assert report.errors[1].at == datetime(2018, 5, 18, 23, 27, 33, tzinfo=UTC)
    assert report.errors[2].at is None  # fewer timestamps than codes
    again = report_from(report.iccid, [(e.name, e.raw_time) for e in report.errors])
    assert again == report


def test_headers_are_case_insensitive_and_absent_iccid_means_no_reentry() -> None:
    assert parse_lpa_errors({"x-mp-lpaerror-codes": "ServerFailure"}) is None
    report = parse_lpa_errors({"x-mp-lpaerror-iccids": A})
    assert report is not None
    assert report.errors == ()


def test_malformed_reentry_iccid_is_a_client_error() -> None:
    with pytest.raises(LaunchRefused) as caught:
        parse_lpa_errors({"X-MP-LPAError-ICCIDs": "not-an-iccid"})
    assert caught.value.problem.status is MoDirectStatus.CLIENT_ERROR
    assert caught.value.problem.field == "X-MP-LPAError-ICCIDs"
