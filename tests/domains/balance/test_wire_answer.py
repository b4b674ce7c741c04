"""The proxy's answer is built as a dict in the wire form (D304); the pydantic schemas stay
the contract. Hypothesis holds the dict path to them over generated operator bodies:
``read_balances`` accepts exactly what validating each balance as ``BalanceItem`` accepts
and gives that model's wire form; ``flyout_wire`` is ``Flyout``'s; the whole answer is
``BalanceAnswer``'s."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mobileplans.domains.balance.flyout import flyout_for, flyout_wire
from mobileplans.domains.balance.mo_client import MoApiClient, MoCall, balance_item, read_balances
from mobileplans.domains.balance.schemas import BalanceAnswer, BalanceItem
from mobileplans.domains.balance.service import BalanceProxy
from mobileplans.kit.clock import SystemClock

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "1536", "1e3", "nan", "inf", "x", "P2D", "PT90M", "P"]),
    st.text(max_size=6),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.lists(st.text(max_size=3)))
KEYS = ["id", "ID", "type", "Type", "dataRemainingInMB", "DATAREMAININGINMB", "timeRemaining"]
TYPES = st.sampled_from(["MODIRECTPAYG", "payg", "NONE", "NotSupported", "MODIRECT", "other"])


@st.composite
def balances(draw: st.DrawFn) -> Any:
    entry = draw(st.dictionaries(st.sampled_from([*KEYS, "locations"]), VALUES, max_size=5))
    if draw(st.booleans()):
        entry["type"] = draw(TYPES)
    if draw(st.booleans()):
        entry["dataRemainingInMB"] = draw(st.floats(0, 10**7) | st.integers(0, 10**7))
    return entry if draw(st.integers(0, 9)) else draw(SCALARS)


BODIES = st.one_of(
    st.builds(lambda items: {"balances": items}, st.lists(balances(), max_size=3)),
    st.builds(lambda items: {"Balances": items}, st.lists(balances(), max_size=2)),
    VALUES,
)


def as_models(body: bytes) -> list[BalanceItem]:
    """The former reading: each balance validated by ``BalanceItem`` itself."""
    data = orjson.loads(body)
    found = {k.lower(): v for k, v in data.items()}.get("balances") if type(data) is dict else None
    if not isinstance(found, list):
        raise ValueError("no balances")
    items = []
    for raw in found:
        entry = {k.lower(): v for k, v in raw.items()} if isinstance(raw, dict) else None
        if entry is None or not isinstance(entry.get("type"), str):
            raise ValueError("no type")
        data_mb = float(entry.get("dataremaininginmb", 0.0))
        if not math.isfinite(data_mb):
            raise ValueError("not finite")
        items.append(
            BalanceItem(
                id=None if entry.get("id") is None else str(entry["id"]),
                type=entry["type"].upper(),
                data_remaining_in_mb=data_mb,
                time_remaining=str(entry.get("timeremaining", "PT0S")),
                locations=entry.get("locations"),
            )
        )
    return items


@settings(max_examples=400, deadline=None)
@given(BODIES)
def test_read_balances_accepts_what_the_model_accepts_in_its_wire_form(data: Any) -> None:
    body = orjson.dumps(data)
    try:
        expected = [item.wire() for item in as_models(body)]
    except (ValueError, TypeError):  # ValidationError is a ValueError
        with pytest.raises((ValueError, TypeError)):
            read_balances(body)
        return
    found = read_balances(body)
    assert found == expected
    assert [balance_item(item).wire() for item in found] == found
    assert flyout_wire(found) == flyout_for([balance_item(i) for i in found]).wire()


def test_locations_that_are_not_strings_are_refused_as_the_model_refuses_them() -> None:
    body = b'{"balances":[{"type":"PAYG","locations":["US",1]}]}'
    with pytest.raises(ValidationError):
        as_models(body)
    with pytest.raises(ValueError, match="locations is not a list of strings"):
        read_balances(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"balances":[{"id":"1","type":"MODIRECTPAYG","dataRemaininginMB":1536.0,'
        b'"timeRemaining":"P23DT23H","locations":["US","CA"]}]}',
        b'{"balances":[{"type":"none"}]}',
        b'{"balances":[]}',
        b'{"balances":[{"type":"NOTSUPPORTED","id":7}]}',
    ],
)
def test_the_answer_is_the_schemas_wire_form(body: bytes) -> None:
    proxy = BalanceProxy(
        client=MoApiClient(timeout_seconds=1.0), clock=SystemClock(), cache_seconds=0
    )
    call = MoCall("ok", 200, read_balances(body), None, 200.0, "")
    tx = "MSFT-00000000-0000-4000-8000-000000000000"
    now = datetime(2026, 12, 7, tzinfo=UTC)
    answer = proxy._answer(call, "89019990000000000017", "contoso", "production", tx, now)
    items = [balance_item(item) for item in call.balances]
    model = BalanceAnswer(
        iccid="89019990000000000017",
        operator_id="contoso",
        environment="production",
        balances=items,
        flyout=flyout_for(items),
        cached=False,
        ms_transaction_id=tx,
    )
    assert orjson.dumps(answer) == orjson.dumps(model.wire())
