"""Card checks at checkout: Luhn, expiry in the future, CVV; only the last four are kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mobileplans.domains.purchase.payment import check_card
from mobileplans.errors import BadRequest

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_good_card_keeps_only_last_four_and_expiry() -> None:
    card = check_card("4111-1111 1111 1111", "3/30", "123", now=NOW)
    assert (card.last4, card.expiry) == ("1111", "03/30")
    assert check_card("4111111111111111", "11/2026", "1234", now=NOW).expiry == "11/26"


@pytest.mark.parametrize(
    ("number", "expiry", "cvv", "field"),
    [
        ("4111111111111112", "12/30", "123", "cardNumber"),  # Luhn
        ("41111111111", "12/30", "123", "cardNumber"),  # too short
        ("4111 1111 1111 111a", "12/30", "123", "cardNumber"),
        ("", "12/30", "123", "cardNumber"),
        ("4111111111111111", "10/26", "123", "expiry"),  # last month
        ("4111111111111111", "13/30", "123", "expiry"),
        ("4111111111111111", "1230", "123", "expiry"),
        ("4111111111111111", "12/30", "12", "cvv"),
        ("4111111111111111", "12/30", "12345", "cvv"),
        ("4111111111111111", "12/30", "abc", "cvv"),
    ],
)
def test_bad_card_details_name_the_field(number: str, expiry: str, cvv: str, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_card(number, expiry, cvv, now=NOW)
    assert caught.value.extra["field"] == field
