"""Identifier validators (spec mobile-plans.md 2.1.1, 3.2, 7.1 #6/#20, 7.2 #39; esim-rsp.md).

The check digits are computed here with independent implementations of Luhn and
ISO 7064 MOD 97-10, so a wrong algorithm in the code (or in its library) fails.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from itertools import product

import phonenumbers
import pycountry
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mobileplans.kit.identifiers import (
    IdentifierError,
    PlmnId,
    eid_with_check_digits,
    iccid_check_digit,
    luhn_valid,
    parse_country,
    parse_eid,
    parse_iccid,
    parse_iccid_list,
    parse_imei,
    parse_mcc,
    parse_mnc,
    parse_phone_number,
    parse_plmn,
    parse_transaction_id,
)

# --- independent reference implementations -----------------------------------------


def luhn_digit(body: str) -> str:
    """The Luhn check digit for ``body`` (every second digit from the right doubled)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # doubled once the check digit is appended on the right
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def mod97_digits(body: str) -> str:
    """ISO 7064 MOD 97-10 check digits: ``int(body + cc) % 97 == 1``."""
    return f"{98 - int(body) * 100 % 97:02d}"


def digits(min_size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(
        alphabet="0123456789",
        min_size=min_size,
        max_size=min_size if max_size is None else max_size,
    )


def change_one_digit(number: str, data: st.DataObject) -> str:
    index = data.draw(st.integers(0, len(number) - 1), label="index")
    other = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[index]))
    return number[:index] + other + number[index + 1 :]


def valid_iccids() -> st.SearchStrategy[str]:
    return digits(17, 19).map(lambda body: body + luhn_digit(body))


NON_DIGIT = st.characters(blacklist_characters="0123456789")
PRINTABLE_NO_SPACE = "".join(chr(c) for c in range(0x21, 0x7F))

SPEC_EIDS = ("89033024010400000100000000009136", "89033023422130000000000199055797")
SPEC_IMEI = "001102000315468"


def test_reference_implementations_agree_with_the_spec_examples() -> None:
    assert luhn_digit(SPEC_IMEI[:-1]) == SPEC_IMEI[-1]
    assert luhn_digit("8901410321111851072") == "0"  # a well-known ICCID, 89014103211118510720
    for eid in SPEC_EIDS:
        assert mod97_digits(eid[:30]) == eid[30:]
        assert int(eid) % 97 == 1


# --- IdentifierError -----------------------------------------------------------------


def test_identifier_error_carries_field_rule_and_value() -> None:
    error = IdentifierError("iccid", "has a wrong Luhn check digit", "123")
    assert isinstance(error, ValueError)
    assert (error.field, error.rule, error.value) == (
        "iccid",
        "has a wrong Luhn check digit",
        "123",
    )
    assert str(error) == "iccid: has a wrong Luhn check digit"


Parser = Callable[..., object]

# (parser, bad value, default field name, substring of the rule, extra keyword arguments)
ERROR_CASES: list[tuple[Parser, str | None, str, str, dict[str, bool]]] = [
    (parse_iccid, None, "iccid", "is required", {}),
    (parse_iccid, "", "iccid", "is required", {}),
    (parse_iccid, "   ", "iccid", "is required", {}),
    (parse_iccid, "8901410321111851072X", "iccid", "digits only", {}),
    (parse_iccid, "8901410321111851072X", "iccid", "digits only", {"lenient": True}),
    (parse_iccid, "89014103211118 510720", "iccid", "digits only", {}),
    (parse_iccid, "89014103211118510720FF", "iccid", "digits only", {}),
    (parse_iccid, "F", "iccid", "digits only", {}),
    (parse_iccid, "89014103211118510721", "iccid", "Luhn", {}),
    (parse_iccid, "89014103211118510721F", "iccid", "Luhn", {}),
    (parse_iccid, "8901410321111851073", "iccid", "Luhn", {}),
    (parse_iccid, "89014103211118510", "iccid", "18-20 digits, got 17", {}),
    (parse_iccid, "89014103211118510F", "iccid", "18-20 digits, got 17", {"lenient": True}),
    (parse_iccid, "890141032111185107200", "iccid", "18-20 digits, got 21", {"lenient": True}),
    (parse_iccid_list, "89014103211118510720,,89014103211118510720", "iccids", "empty", {}),
    (parse_iccid_list, "89014103211118510721", "iccids", "Luhn", {}),
    (parse_iccid_list, "89014103211118510720, 123", "iccids", "got 3", {"lenient": True}),
    (iccid_check_digit, "89014x", "iccid", "digits only", {}),
    (iccid_check_digit, "", "iccid", "digits only", {}),
    (parse_eid, None, "eid", "is required", {}),
    (parse_eid, "", "eid", "is required", {}),
    (parse_eid, "8903302401040000010000000000913A", "eid", "digits only", {}),
    (parse_eid, "8903302401040000010000000000913", "eid", "32 digits, got 31", {}),
    (parse_eid, "890330240104000001000000000091360", "eid", "32 digits, got 33", {}),
    (parse_eid, "89033024010400000100000000009137", "eid", "MOD 97-10", {}),
    (eid_with_check_digits, "89033024010400000100000000009", "eid", "30 digits", {}),
    (eid_with_check_digits, "8903302401040000010000000000913", "eid", "30 digits", {}),
    (eid_with_check_digits, "89033024010400000100000000000x", "eid", "digits only", {}),
    (parse_imei, None, "imei", "is required", {}),
    (parse_imei, "00110200031546X", "imei", "digits only", {}),
    (parse_imei, "00110200031546", "imei", "15 digits, got 14", {}),
    (parse_imei, "0011020003154680", "imei", "15 digits, got 16", {}),
    (parse_imei, "001102000315469", "imei", "Luhn", {}),
    (parse_country, None, "location", "is required", {}),
    (parse_country, " ", "location", "is required", {}),
    (parse_country, "USA", "location", "alpha-2", {}),
    (parse_country, "U", "location", "alpha-2", {}),
    (parse_country, "U1", "location", "alpha-2", {}),
    (parse_country, "U-", "location", "alpha-2", {}),
    (parse_country, "XX", "location", "unknown ISO 3166-1 alpha-2 country code 'XX'", {}),
    (parse_country, "zz", "location", "unknown ISO 3166-1 alpha-2 country code 'ZZ'", {}),
    (parse_phone_number, None, "phoneNumber", "is required", {}),
    (parse_phone_number, "4255550100", "phoneNumber", "E.164", {}),
    (parse_phone_number, "+", "phoneNumber", "E.164", {}),
    (parse_phone_number, "+4420794609", "phoneNumber", "not a valid phone number", {}),
    (parse_transaction_id, None, "transactionId", "is required", {}),
    (parse_transaction_id, "", "transactionId", "is required", {}),
    (parse_transaction_id, "a" * 65, "transactionId", "at most 64 characters, got 65", {}),
    (parse_transaction_id, "a b", "transactionId", "printable ASCII without spaces", {}),
    (parse_transaction_id, " ", "transactionId", "printable ASCII without spaces", {}),
    (parse_transaction_id, "ab\tc", "transactionId", "printable ASCII without spaces", {}),
    (parse_transaction_id, "caf\u00e9", "transactionId", "printable ASCII without spaces", {}),
    (parse_mcc, None, "mcc", "is required", {}),
    (parse_mcc, "31", "mcc", "3 digits", {}),
    (parse_mcc, "3100", "mcc", "3 digits", {}),
    (parse_mcc, "31a", "mcc", "digits only", {}),
    # Unicode digits are not digits here: Arabic-Indic, full-width, Devanagari.
    (parse_iccid, "\u0668\u0669" + "0" * 17 + "4", "iccid", "digits only", {"lenient": True}),
    (parse_eid, "\uff18" + SPEC_EIDS[0][1:], "eid", "digits only", {}),
    (parse_imei, "\u0966" + SPEC_IMEI[1:], "imei", "digits only", {}),
    (parse_mcc, "\u0663\u0661\u0660", "mcc", "digits only", {}),
    (parse_mnc, "\u0662\u0666", "mnc", "digits only", {}),
    (parse_mnc, "", "mnc", "is required", {}),
    (parse_mnc, "2", "mnc", "2 or 3 digits", {}),
    (parse_mnc, "2600", "mnc", "2 or 3 digits", {}),
    (parse_mnc, "2x", "mnc", "digits only", {}),
    (parse_plmn, None, "mccMnc", "is required", {}),
    (parse_plmn, "31-260", "mccMnc", "must be MCC-MNC: must have 3 digits", {}),
    (parse_plmn, "310-2", "mccMnc", "must be MCC-MNC: must have 2 or 3 digits", {}),
    (parse_plmn, "310-2600", "mccMnc", "must be MCC-MNC: must have 2 or 3 digits", {}),
    (parse_plmn, "3102600", "mccMnc", "must be MCC-MNC: must have 2 or 3 digits", {}),
    (parse_plmn, "3102", "mccMnc", "must be MCC-MNC: must have 2 or 3 digits", {}),
    (parse_plmn, "310", "mccMnc", "must be MCC-MNC: is required", {}),
    (parse_plmn, "310-", "mccMnc", "must be MCC-MNC: is required", {}),
    (parse_plmn, "-260", "mccMnc", "must be MCC-MNC: is required", {}),
    (parse_plmn, "310-26-0", "mccMnc", "must be MCC-MNC: must contain digits only", {}),
    (parse_plmn, "abc-260", "mccMnc", "must be MCC-MNC: must contain digits only", {}),
]
# Parsers that take ``field=`` (the two helpers that complete check digits do not).
TAKES_FIELD = {
    parse_iccid,
    parse_iccid_list,
    parse_eid,
    parse_imei,
    parse_country,
    parse_phone_number,
    parse_transaction_id,
    parse_mcc,
    parse_mnc,
    parse_plmn,
}


def _case_id(case: tuple[Parser, str | None, str, str, dict[str, bool]]) -> str:
    parser, value, _, rule, kwargs = case
    return f"{parser.__name__}-{value!r}-{rule}{'-lenient' if kwargs else ''}"


@pytest.mark.parametrize(
    ("parser", "value", "field", "rule", "kwargs"), ERROR_CASES, ids=map(_case_id, ERROR_CASES)
)
def test_each_failure_names_the_field_and_the_rule(
    parser: Parser, value: str | None, field: str, rule: str, kwargs: dict[str, bool]
) -> None:
    with pytest.raises(IdentifierError) as caught:
        parser(value, **kwargs)
    assert caught.value.field == field
    assert rule in caught.value.rule
    assert str(caught.value) == f"{field}: {caught.value.rule}"
    if parser in TAKES_FIELD:
        with pytest.raises(IdentifierError) as renamed:
            parser(value, field="customName", **kwargs)
        assert renamed.value.field == "customName"
        assert renamed.value.rule == caught.value.rule
        assert renamed.value.value == caught.value.value


# --- ICCID ---------------------------------------------------------------------------


class TestIccid:
    @pytest.mark.parametrize(
        "iccid",
        ["89014103211118510720", "8901410321111851072", "894400000000000002"],  # 20, 19, 18
    )
    def test_known_valid_iccid(self, iccid: str) -> None:
        assert parse_iccid(iccid) == iccid

    @given(body=digits(17, 19))
    def test_body_plus_luhn_digit_parses_and_round_trips(self, body: str) -> None:
        iccid = body + luhn_digit(body)
        assert parse_iccid(iccid) == iccid
        assert parse_iccid(iccid, lenient=True) == iccid
        assert parse_iccid(parse_iccid(iccid)) == iccid

    @given(body=digits(17, 19), data=st.data())
    def test_any_other_check_digit_is_rejected_unless_lenient(
        self, body: str, data: st.DataObject
    ) -> None:
        good = luhn_digit(body)
        wrong = data.draw(st.sampled_from("0123456789").filter(lambda d: d != good))
        with pytest.raises(IdentifierError) as caught:
            parse_iccid(body + wrong)
        assert caught.value.field == "iccid"
        assert "Luhn" in caught.value.rule
        assert parse_iccid(body + wrong, lenient=True) == body + wrong

    @given(iccid=valid_iccids(), data=st.data())
    def test_a_single_changed_digit_is_rejected(self, iccid: str, data: st.DataObject) -> None:
        with pytest.raises(IdentifierError, match="Luhn"):
            parse_iccid(change_one_digit(iccid, data))

    @given(iccid=valid_iccids(), filler=st.sampled_from("Ff"), lenient=st.booleans())
    def test_trailing_f_is_accepted_and_stripped(
        self, iccid: str, filler: str, lenient: bool
    ) -> None:
        assert parse_iccid(iccid + filler, lenient=lenient) == iccid

    @given(number=digits(1, 17) | digits(21, 40), filler=st.sampled_from(["", "F", "f"]))
    def test_lengths_outside_18_to_20_are_rejected_even_when_lenient(
        self, number: str, filler: str
    ) -> None:
        for lenient in (False, True):
            with pytest.raises(IdentifierError) as caught:
                parse_iccid(number + filler, lenient=lenient)
            assert caught.value.field == "iccid"
            assert "18-20 digits" in caught.value.rule
            assert f"got {len(number)}" in caught.value.rule

    @given(iccid=valid_iccids(), data=st.data(), lenient=st.booleans())
    def test_a_non_digit_inside_is_rejected_even_when_lenient(
        self, iccid: str, data: st.DataObject, lenient: bool
    ) -> None:
        index = data.draw(st.integers(1, len(iccid) - 1), label="index")
        char = data.draw(NON_DIGIT, label="char")
        with pytest.raises(IdentifierError) as caught:
            parse_iccid(iccid[:index] + char + iccid[index:], lenient=lenient)
        assert "digits only" in caught.value.rule

    @given(body=st.text(alphabet=string.digits, min_size=1, max_size=25))
    def test_iccid_check_digit_is_the_luhn_digit(self, body: str) -> None:
        assert iccid_check_digit(body) == luhn_digit(body)


class TestIccidList:
    @pytest.mark.parametrize("value", [None, "", "   ", "\t"])
    def test_empty_input_is_an_empty_list(self, value: str | None) -> None:
        assert parse_iccid_list(value) == []

    @given(
        items=st.lists(
            st.tuples(
                valid_iccids(),
                st.sampled_from(["", "F", "f"]),
                st.sampled_from(["", " ", "  "]),
                st.sampled_from(["", " ", "  "]),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def test_splits_trims_and_strips_trailing_f(
        self, items: list[tuple[str, str, str, str]]
    ) -> None:
        text = ",".join(before + iccid + filler + after for iccid, filler, before, after in items)
        assert parse_iccid_list(text) == [iccid for iccid, *_ in items]

    @pytest.mark.parametrize(
        "value",
        [
            "89014103211118510720,",
            ",89014103211118510720",
            "89014103211118510720,,89014103211118510720",
            "89014103211118510720, ,89014103211118510720",
            ",",
        ],
    )
    def test_an_empty_entry_is_rejected(self, value: str) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_iccid_list(value)
        assert caught.value.field == "iccids"
        assert "empty entry" in caught.value.rule

    def test_a_bad_entry_is_reported_under_the_list_field(self) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_iccid_list("89014103211118510720,89014103211118510721", field="iccidList")
        assert caught.value.field == "iccidList"
        assert "Luhn" in caught.value.rule

    def test_lenient_applies_to_every_entry(self) -> None:
        value = "89014103211118510721, 89014103211118510722F"
        assert parse_iccid_list(value, lenient=True) == [
            "89014103211118510721",
            "89014103211118510722",
        ]


# --- EID -----------------------------------------------------------------------------


class TestEid:
    @pytest.mark.parametrize("eid", SPEC_EIDS)
    def test_spec_examples_are_valid(self, eid: str) -> None:
        assert parse_eid(eid) == eid
        assert eid_with_check_digits(eid[:30]) == eid

    @given(body=digits(30))
    def test_completing_a_body_yields_a_valid_eid(self, body: str) -> None:
        eid = eid_with_check_digits(body)
        assert eid == body + mod97_digits(body)
        assert len(eid) == 32
        assert int(eid) % 97 == 1
        assert parse_eid(eid) == eid

    @pytest.mark.parametrize(
        ("body", "check"),
        [("0" * 30, "98"), ("0" * 28 + "32", "02"), ("0" * 28 + "65", "97"), ("9" * 30, "40")],
    )
    def test_computed_check_digits_for_edge_bodies(self, body: str, check: str) -> None:
        assert eid_with_check_digits(body) == body + check

    @given(body=digits(30), data=st.data())
    def test_a_single_changed_digit_is_rejected(self, body: str, data: st.DataObject) -> None:
        altered = change_one_digit(eid_with_check_digits(body), data)
        with pytest.raises(IdentifierError) as caught:
            parse_eid(altered)
        assert caught.value.field == "eid"
        assert "MOD 97-10" in caught.value.rule

    @given(body=digits(30), check=st.integers(0, 99))
    def test_a_check_pair_is_accepted_exactly_when_the_number_mod_97_is_1(
        self, body: str, check: int
    ) -> None:
        eid = f"{body}{check:02d}"
        if int(eid) % 97 == 1:
            # The computed pair (02-98), or the same residue + 97 (00/01 for 97/98, 99 for 02).
            assert (check - int(mod97_digits(body))) % 97 == 0
            assert parse_eid(eid) == eid
        else:
            with pytest.raises(IdentifierError, match="MOD 97-10"):
                parse_eid(eid)

    @given(number=digits(1, 31) | digits(33, 40))
    def test_other_lengths_are_rejected(self, number: str) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_eid(number)
        assert f"must have 32 digits, got {len(number)}" in caught.value.rule

    @given(body=digits(0, 29) | digits(31, 34))
    def test_completing_a_body_of_the_wrong_length_is_rejected(self, body: str) -> None:
        assume(body)
        with pytest.raises(IdentifierError) as caught:
            eid_with_check_digits(body)
        assert caught.value.field == "eid"
        assert "body must have 30 digits" in caught.value.rule


# --- IMEI ----------------------------------------------------------------------------


class TestImei:
    def test_spec_example_is_valid(self) -> None:
        assert parse_imei(SPEC_IMEI) == SPEC_IMEI

    @given(body=digits(14))
    def test_body_plus_luhn_digit_is_valid(self, body: str) -> None:
        imei = body + luhn_digit(body)
        assert parse_imei(imei) == imei

    @given(body=digits(14), data=st.data())
    def test_a_single_changed_digit_is_rejected(self, body: str, data: st.DataObject) -> None:
        altered = change_one_digit(body + luhn_digit(body), data)
        with pytest.raises(IdentifierError) as caught:
            parse_imei(altered)
        assert caught.value.field == "imei"
        assert "Luhn" in caught.value.rule

    @given(number=digits(1, 14) | digits(16, 30))
    def test_other_lengths_are_rejected(self, number: str) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_imei(number)
        assert f"must have 15 digits, got {len(number)}" in caught.value.rule

    @given(body=digits(14), data=st.data())
    def test_a_non_digit_is_rejected(self, body: str, data: st.DataObject) -> None:
        imei = body + luhn_digit(body)
        index = data.draw(st.integers(1, len(imei) - 1), label="index")
        char = data.draw(NON_DIGIT, label="char")
        with pytest.raises(IdentifierError, match="digits only"):
            parse_imei(imei[:index] + char + imei[index:])


# --- Country -------------------------------------------------------------------------

ISO_ALPHA_2 = frozenset(country.alpha_2 for country in pycountry.countries)


class TestCountry:
    def test_the_iso_list_is_the_real_one(self) -> None:
        assert len(ISO_ALPHA_2) == 249
        assert {"US", "GB", "DE", "FR", "JP", "AQ"} <= ISO_ALPHA_2
        assert not {"UK", "XX", "ZZ", "EU"} & ISO_ALPHA_2

    @pytest.mark.parametrize("code", sorted(ISO_ALPHA_2))
    def test_every_alpha_2_code_is_accepted_in_any_case(self, code: str) -> None:
        assert parse_country(code) == code
        assert parse_country(code.lower()) == code
        assert parse_country(code[0] + code[1].lower()) == code

    def test_every_pair_of_ascii_letters_is_accepted_exactly_when_it_is_a_country(
        self,
    ) -> None:
        for first, second in product(string.ascii_uppercase, repeat=2):
            code = first + second
            if code in ISO_ALPHA_2 or code == "UK":
                assert parse_country(code.lower()) == ("GB" if code == "UK" else code)
            else:
                with pytest.raises(IdentifierError, match=f"unknown .* {code!r}"):
                    parse_country(code.lower())

    @pytest.mark.parametrize("value", ["UK", "uk", "Uk", "uK", " uk "])
    def test_uk_is_read_as_gb(self, value: str) -> None:
        assert parse_country(value) == "GB"

    @pytest.mark.parametrize(
        "value",
        [
            "\u00df",  # "ß".upper() == "SS" (South Sudan)
            "\ufb01",  # "ﬁ".upper() == "FI" (Finland)
            "\ufb06",  # "ﬆ".upper() == "ST"
            "\u0131t",  # "ıt".upper() == "IT" (dotless i)
            "\u017fe",  # "ſe".upper() == "SE" (long s)
            "\uff35\uff33",  # full-width "ＵＳ"
            "\u00dcS",
        ],
    )
    def test_non_ascii_letters_are_rejected_even_if_they_upper_case_to_a_code(
        self, value: str
    ) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_country(value, field="market")
        assert caught.value.field == "market"
        assert "alpha-2" in caught.value.rule

    @given(value=st.text(min_size=1, max_size=4))
    def test_any_accepted_value_is_a_known_code(self, value: str) -> None:
        try:
            code = parse_country(value)
        except IdentifierError:
            return
        assert code in ISO_ALPHA_2
        assert value.strip().upper() in (code, "UK")


# --- Phone number --------------------------------------------------------------------


class TestPhoneNumber:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("+14255550100", "+14255550100"),
            ("+1 425 555 0100", "+14255550100"),
            ("+1 (425) 555-0100", "+14255550100"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+442079460958", "+442079460958"),
        ],
    )
    def test_returns_the_e164_form(self, value: str, expected: str) -> None:
        assert parse_phone_number(value) == expected

    @given(region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
    def test_example_numbers_of_every_region_round_trip(self, region: str) -> None:
        example = phonenumbers.example_number(region)
        assume(example is not None)
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        international = phonenumbers.format_number(
            example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        assert parse_phone_number(e164) == e164
        assert parse_phone_number(international) == e164
        assert e164.startswith("+")
        assert e164[1:].isdigit()

    def test_a_national_number_without_plus_is_rejected(self) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_phone_number("020 7946 0958", field="msisdn")
        assert caught.value.field == "msisdn"
        assert "starting with +" in caught.value.rule


# --- transactionId -------------------------------------------------------------------


class TestTransactionId:
    @pytest.mark.parametrize(
        "value",
        [
            "waoigFfX00yGH3Vb.1",
            "%2F7RBTuSJt02OZbX8.4",
            "MSFT_ecf5a4d6-024c-46c3-8fcd-2c1f0deed572",
            "x",
            "!",
            "~" * 64,
        ],
    )
    def test_examples_are_accepted_unchanged(self, value: str) -> None:
        assert parse_transaction_id(value) == value

    @given(value=st.text(alphabet=PRINTABLE_NO_SPACE, min_size=1, max_size=64))
    def test_one_to_64_printable_characters_are_accepted(self, value: str) -> None:
        assert parse_transaction_id(value) == value

    @given(value=st.text(alphabet=PRINTABLE_NO_SPACE, min_size=65, max_size=200))
    def test_65_or_more_characters_are_rejected(self, value: str) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_transaction_id(value)
        assert caught.value.field == "transactionId"
        assert f"at most 64 characters, got {len(value)}" in caught.value.rule

    @given(
        prefix=st.text(alphabet=PRINTABLE_NO_SPACE, max_size=30),
        bad=st.characters().filter(lambda c: not "\x21" <= c <= "\x7e"),
        suffix=st.text(alphabet=PRINTABLE_NO_SPACE, max_size=30),
    )
    def test_a_space_control_or_non_ascii_character_is_rejected(
        self, prefix: str, bad: str, suffix: str
    ) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_transaction_id(prefix + bad + suffix)
        assert "printable ASCII without spaces" in caught.value.rule


# --- MCC, MNC, PLMN ------------------------------------------------------------------


class TestPlmn:
    @pytest.mark.parametrize("value", ["310-260", "310260", " 310-260 "])
    def test_both_spellings_parse(self, value: str) -> None:
        plmn = parse_plmn(value)
        assert plmn == PlmnId("310", "260")
        assert str(plmn) == "310-260"

    def test_two_digit_mnc(self) -> None:
        assert parse_plmn("234-15") == PlmnId("234", "15")
        assert parse_plmn("23415") == PlmnId("234", "15")
        assert parse_plmn("001-01") == PlmnId("001", "01")  # leading zeros are kept

    @given(mcc=digits(3), mnc=digits(2, 3))
    def test_any_mcc_and_mnc_round_trip_in_both_spellings(self, mcc: str, mnc: str) -> None:
        assert parse_mcc(mcc) == mcc
        assert parse_mnc(mnc) == mnc
        plmn = parse_plmn(f"{mcc}-{mnc}")
        assert plmn == PlmnId(mcc, mnc)
        assert parse_plmn(mcc + mnc) == plmn
        assert parse_plmn(str(plmn)) == plmn

    @given(number=digits(1, 2) | digits(4, 8))
    def test_mcc_must_have_three_digits(self, number: str) -> None:
        with pytest.raises(IdentifierError, match="must have 3 digits"):
            parse_mcc(number)

    @given(number=digits(1) | digits(4, 8))
    def test_mnc_must_have_two_or_three_digits(self, number: str) -> None:
        with pytest.raises(IdentifierError, match="must have 2 or 3 digits"):
            parse_mnc(number)

    @given(mcc=digits(1, 2) | digits(4, 6), mnc=digits(2, 3))
    def test_a_bad_mcc_in_a_plmn_names_the_plmn_field(self, mcc: str, mnc: str) -> None:
        with pytest.raises(IdentifierError) as caught:
            parse_plmn(f"{mcc}-{mnc}", field="homeNetwork")
        assert caught.value.field == "homeNetwork"
        assert caught.value.rule == "must be MCC-MNC: must have 3 digits"


class TestLuhnValid:
    """``luhn_valid`` (the broker's hot path, D301) against the independent digit above and
    against python-stdnum, whose ``is_valid`` it replaced."""

    @given(body=digits(0, 40))
    def test_the_right_check_digit_passes_and_every_other_fails(self, body: str) -> None:
        right = luhn_digit(body)
        for digit in "0123456789":
            assert luhn_valid(body + digit) is (digit == right)

    @given(number=st.text(alphabet=st.sampled_from("0123456789 -aF\u0663\u00b2\n"), max_size=30))
    def test_answers_as_stdnum_does(self, number: str) -> None:
        from stdnum import luhn

        assert luhn_valid(number) is luhn.is_valid(number)

    def test_known_numbers(self) -> None:
        assert luhn_valid("79927398713")  # the textbook example
        assert luhn_valid("4111111111111111")  # a test card number
        assert not luhn_valid("79927398710")
        assert not luhn_valid("")
        assert not luhn_valid("\u0663")  # a digit, but not an ASCII one
