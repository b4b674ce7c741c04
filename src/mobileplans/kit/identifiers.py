"""Parsing and validation of the identifiers the Mobile Plans interfaces carry.

Every parser returns the canonical form or raises :class:`IdentifierError`, which
names the field and the rule that was broken, so API layers can turn it into a
400 that names the bad parameter (spec 2.3 "the body should name the bad
parameter").

Rules (spec ``mobile-plans.md`` 2.1.1, 3.2, 7.1 #6, 7.2 #39; ``esim-rsp.md``):

- ICCID: 18-20 digits, an optional trailing ``F``/``f`` (stripped), Luhn check
  digit. ``lenient=True`` accepts a bad check digit (a per-operator setting for
  ranges issued without one).
- EID: 32 digits; the last two are ISO 7064 MOD 97-10 check digits.
- IMEI: 15 digits, Luhn check digit.
- Country: ISO 3166-1 alpha-2, case-insensitive; ``UK`` is accepted for ``GB``.
- Phone number: E.164, validated with ``phonenumbers``.
- ``transactionId``: 1-64 printable characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import phonenumbers
import pycountry
from stdnum import luhn
from stdnum.iso7064 import mod_97_10

ICCID_MIN_DIGITS: Final = 18
ICCID_MAX_DIGITS: Final = 20
EID_DIGITS: Final = 32
IMEI_DIGITS: Final = 15
TRANSACTION_ID_MAX: Final = 64
COUNTRY_ALIASES: Final = {"UK": "GB"}

_DIGITS = re.compile(r"[0-9]+")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
_DOUBLED = str.maketrans("0123456789", "0246813579")  # 2d, its digits summed (Luhn)


def luhn_valid(number: str) -> bool:
    """True if the ASCII digit string ``number`` ends with a right Luhn check digit (ISO/IEC
    7812-1), as ``stdnum.luhn.is_valid`` says (tests hold the two to the same answers).

    Each GetBalance the broker forwards checks its ICCID, and python-stdnum's generic
    version (any alphabet, a tuple of indexes) cost ~10 us of it: here every second digit
    from the right is doubled by a translation table and the digits are summed as bytes,
    all in C (decision D301)."""
    if not (number.isascii() and number.isdigit()):
        return False  # also the empty string
    kept, doubled = number[-1::-2], number[-2::-2].translate(_DOUBLED)
    total = sum(kept.encode()) + sum(doubled.encode()) - 48 * len(number)
    return total % 10 == 0


class IdentifierError(ValueError):
    """A value broke a documented identifier rule.

    ``field`` is the wire name of the parameter (``iccid``, ``eid``...), ``rule``
    a short human sentence saying what was expected.
    """

    def __init__(self, field: str, rule: str, value: object = None) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        super().__init__(f"{field}: {rule}")


def _require(field: str, value: str | None) -> str:
    if value is None or value.strip() == "":
        raise IdentifierError(field, "is required", value)
    return value.strip()


def _digits(field: str, value: str) -> str:
    if not _DIGITS.fullmatch(value):
        raise IdentifierError(field, "must contain digits only", value)
    return value


def parse_iccid(value: str | None, *, field: str = "iccid", lenient: bool = False) -> str:
    """Return the ICCID without its trailing ``F`` filler, validated."""
    text = _require(field, value)
    if text[-1] in "Ff":
        text = text[:-1]
    _digits(field, text)
    if not ICCID_MIN_DIGITS <= len(text) <= ICCID_MAX_DIGITS:
        raise IdentifierError(
            field,
            f"must have {ICCID_MIN_DIGITS}-{ICCID_MAX_DIGITS} digits, got {len(text)}",
            value,
        )
    if not lenient and not luhn_valid(text):
        raise IdentifierError(field, "has a wrong Luhn check digit", value)
    return text


def parse_iccid_list(
    value: str | None, *, field: str = "iccids", lenient: bool = False
) -> list[str]:
    """Split a comma list of ICCIDs (spec 7.1 #20): trim spaces, strip trailing F."""
    if value is None or value.strip() == "":
        return []
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise IdentifierError(field, "contains an empty entry", value)
    return [parse_iccid(item, field=field, lenient=lenient) for item in items]


def iccid_check_digit(body: str) -> str:
    """The Luhn digit that completes ``body`` into a valid ICCID."""
    return luhn.calc_check_digit(_digits("iccid", body))


def parse_eid(value: str | None, *, field: str = "eid") -> str:
    text = _digits(field, _require(field, value))
    if len(text) != EID_DIGITS:
        raise IdentifierError(field, f"must have {EID_DIGITS} digits, got {len(text)}", value)
    if not mod_97_10.is_valid(text):
        raise IdentifierError(field, "has wrong ISO 7064 MOD 97-10 check digits", value)
    return text


def eid_with_check_digits(body30: str) -> str:
    """Complete a 30-digit EID body with its two MOD 97-10 check digits."""
    body = _digits("eid", body30)
    if len(body) != EID_DIGITS - 2:
        raise IdentifierError("eid", f"body must have {EID_DIGITS - 2} digits", body30)
    return body + mod_97_10.calc_check_digits(body)


def parse_imei(value: str | None, *, field: str = "imei") -> str:
    text = _digits(field, _require(field, value))
    if len(text) != IMEI_DIGITS:
        raise IdentifierError(field, f"must have {IMEI_DIGITS} digits, got {len(text)}", value)
    if not luhn_valid(text):
        raise IdentifierError(field, "has a wrong Luhn check digit", value)
    return text


def parse_country(value: str | None, *, field: str = "location") -> str:
    """ISO 3166-1 alpha-2, upper-cased; ``UK`` is read as ``GB`` (spec 7.1 #6)."""
    text = _require(field, value)
    if text.isascii():  # upper-case ASCII only: "ß".upper() == "SS", "ﬁ".upper() == "FI"
        text = text.upper()
    text = COUNTRY_ALIASES.get(text, text)
    if len(text) != 2 or not text.isalpha() or not text.isascii():
        raise IdentifierError(field, "must be an ISO 3166-1 alpha-2 country code", value)
    if pycountry.countries.get(alpha_2=text) is None:
        raise IdentifierError(field, f"unknown ISO 3166-1 alpha-2 country code {text!r}", value)
    return text


def parse_phone_number(value: str | None, *, field: str = "phoneNumber") -> str:
    """Return the E.164 form (``+14255550100``) of an international number."""
    text = _require(field, value)
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise IdentifierError(field, "must be an E.164 number starting with +", value) from exc
    if not phonenumbers.is_valid_number(number):
        raise IdentifierError(field, "is not a valid phone number", value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_transaction_id(value: str | None, *, field: str = "transactionId") -> str:
    """1-64 printable ASCII characters, no spaces (spec 2.1.1)."""
    if value is None or value == "":
        raise IdentifierError(field, "is required", value)
    if len(value) > TRANSACTION_ID_MAX:
        raise IdentifierError(
            field,
            f"must be at most {TRANSACTION_ID_MAX} characters, got {len(value)}",
            value,
        )
    if not _PRINTABLE.fullmatch(value):
        raise IdentifierError(field, "must be printable ASCII without spaces", value)
    return value


def parse_mcc(value: str | None, *, field: str = "mcc") -> str:
    text = _digits(field, _require(field, value))
    if len(text) != 3:
        raise IdentifierError(field, "must have 3 digits", value)
    return text


def parse_mnc(value: str | None, *, field: str = "mnc") -> str:
    text = _digits(field, _require(field, value))
    if len(text) not in (2, 3):
        raise IdentifierError(field, "must have 2 or 3 digits", value)
    return text


@dataclass(frozen=True, slots=True)
class PlmnId:
    """A network: MCC plus MNC (``310-260``)."""

    mcc: str
    mnc: str

    def __str__(self) -> str:
        return f"{self.mcc}-{self.mnc}"


def parse_plmn(value: str | None, *, field: str = "mccMnc") -> PlmnId:
    """Parse ``MCC-MNC`` (``310-260``) or ``MCCMNC`` (``310260``)."""
    text = _require(field, value)
    if "-" in text:
        mcc, _, mnc = text.partition("-")
    else:
        mcc, mnc = text[:3], text[3:]
    try:
        return PlmnId(parse_mcc(mcc, field=field), parse_mnc(mnc, field=field))
    except IdentifierError as exc:
        raise IdentifierError(field, f"must be MCC-MNC: {exc.rule}", value) from exc
