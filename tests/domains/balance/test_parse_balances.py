"""GetBalance bodies from an operator (domains/balance/mo_client.py ``parse_balances``) and
the flyout rendered from them: what fuzzing found (tests/fuzz/harnesses/mo_balances.py)."""

from __future__ import annotations

import pytest

from mobileplans.domains.balance.flyout import flyout_for
from mobileplans.domains.balance.mo_client import parse_balances


@pytest.mark.parametrize("amount", ['"nan"', '"inf"', '"-Infinity"', '"1e400"'])
def test_a_data_amount_that_is_not_a_finite_number_is_a_bad_body(amount: str) -> None:
    body = f'{{"balances":[{{"type":"PAYG","dataRemainingInMB":{amount}}}]}}'.encode()
    with pytest.raises(ValueError, match="dataRemainingInMB is not a finite number"):
        parse_balances(body)


def test_a_time_past_timedeltas_range_is_shown_as_received() -> None:
    body = b'{"balances":[{"type":"PAYG","dataRemainingInMB":5,"timeRemaining":"P99999999999D"}]}'
    flyout = flyout_for(parse_balances(body))
    assert flyout.balance_text == "5 MB left, P99999999999D"


def test_keys_are_read_in_any_casing() -> None:
    body = b'{"Balances":[{"ID":7,"TYPE":"payg","DATAREMAININGINMB":"1536","TIMEREMAINING":"P2D"}]}'
    [item] = parse_balances(body)
    assert (item.id, item.type, item.data_remaining_in_mb) == ("7", "PAYG", 1536.0)
    assert flyout_for([item]).balance_text == "1.5 GB left, 2 days"
