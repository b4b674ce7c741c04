"""Card checks at checkout. Only the last four digits are ever stored (spec 5.11 security).

- card number: 12-19 digits once spaces and dashes are removed, valid Luhn check digit;
- expiry ``MM/YY`` (``MM/YYYY`` accepted): the card is valid to the end of that month, which
  must not be in the past;
- CVV: 3 or 4 digits.

Errors name the form field (``cardNumber``, ``expiry``, ``cvv``) so the page can show the
message next to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mobileplans.errors import BadRequest
from mobileplans.kit.identifiers import luhn_valid

_EXPIRY = re.compile(r"^(?P<month>\d{1,2})\s*/\s*(?P<year>\d{2}|\d{4})$")
_CVV = re.compile(r"^\d{3,4}$")


@dataclass(frozen=True, slots=True)
class CardOnFile:
    """What survives a card check: the last four digits and the expiry, never the number."""

    last4: str
    expiry: str  # MM/YY


def check_card(card_number: str, expiry: str, cvv: str, *, now: datetime) -> CardOnFile:
    digits = re.sub(r"[\s-]", "", card_number or "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise BadRequest("card number must have 12 to 19 digits", field="cardNumber")
    if not luhn_valid(digits):
        raise BadRequest("card number is not valid (check digit)", field="cardNumber")
    month, year = _expiry(expiry)
    if (year, month) < (now.year, now.month):
        raise BadRequest("card has expired", field="expiry")
    if not _CVV.fullmatch((cvv or "").strip()):
        raise BadRequest("security code must have 3 or 4 digits", field="cvv")
    return CardOnFile(last4=digits[-4:], expiry=f"{month:02d}/{year % 100:02d}")


def _expiry(text: str) -> tuple[int, int]:
    match = _EXPIRY.fullmatch((text or "").strip())
    if not match:
        raise BadRequest("expiry must be MM/YY", field="expiry")
    month, year = int(match["month"]), int(match["year"])
    if not 1 <= month <= 12:
        raise BadRequest("expiry month must be 01 to 12", field="expiry")
    return month, year + 2000 if year < 100 else year
