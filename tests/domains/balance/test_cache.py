"""The balance proxy's answer cache lets expired answers go (D272): a cache that kept them
until its LRU bound held up to 100,000 answers (~1,000,000 objects) for the garbage
collector to scan on every full collection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mobileplans.domains.balance import service
from mobileplans.domains.balance.flyout import flyout_for
from mobileplans.domains.balance.mo_client import MoApiClient
from mobileplans.domains.balance.schemas import BalanceAnswer, BalanceItem
from mobileplans.kit.clock import FrozenClock

START = datetime(2026, 12, 6, 0, 0, tzinfo=UTC)


def answer(iccid: str) -> dict[str, Any]:
    items = [BalanceItem(type="MODIRECTPAYG", data_remaining_in_mb=10.0, time_remaining="P1D")]
    return BalanceAnswer(
        iccid=iccid,
        operator_id="contoso",
        environment="production",
        balances=items,
        flyout=flyout_for(items),
        cached=False,
        ms_transaction_id="MSFT-00000000-0000-4000-8000-000000000000",
    ).wire()


def proxy(cache_seconds: float) -> service.BalanceProxy:
    return service.BalanceProxy(
        client=MoApiClient(timeout_seconds=1.0),
        clock=FrozenClock(START),
        cache_seconds=cache_seconds,
    )


def test_expired_answers_leave_the_cache_when_the_next_is_stored() -> None:
    cache = proxy(10)
    for n in range(5):
        cache._store(f"sim{n}", None, answer(f"sim{n}"), START + timedelta(seconds=n))
    assert len(cache._cache) == 5
    later = START + timedelta(seconds=13)  # sim0..sim3 expired (stored at 0..3, kept 10 s)
    cache._store("sim9", "US", answer("sim9"), later)
    assert list(cache._cache) == [("sim4", None), ("sim9", "US")]
    assert cache._cached("sim4", None, later) is not None
    assert cache._cached("sim9", "US", START + timedelta(seconds=23)) is None  # its own expiry


def test_a_stored_again_answer_moves_behind_the_others() -> None:
    cache = proxy(10)
    cache._store("a", None, answer("a"), START)
    cache._store("b", None, answer("b"), START + timedelta(seconds=5))
    cache._store("a", None, answer("a"), START + timedelta(seconds=9))  # refreshed
    cache._store("c", None, answer("c"), START + timedelta(seconds=16))  # b expired at 15
    assert list(cache._cache) == [("a", None), ("c", None)]
    found = cache._cached("a", None, START + timedelta(seconds=16))
    assert found is not None
    assert found["cached"] is True
    assert found == {**answer("a"), "cached": True}
    assert cache._cache[("a", None)][1]["cached"] is False  # the stored answer is unchanged


def test_the_entry_bound_still_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "CACHE_ENTRIES", 3)
    cache = proxy(10)
    for n in range(5):
        cache._store(f"sim{n}", None, answer(f"sim{n}"), START)
    assert [k for k, _ in cache._cache] == ["sim2", "sim3", "sim4"]


def test_no_cache_stores_nothing() -> None:
    cache = proxy(0)
    cache._store("a", None, answer("a"), START)
    assert not cache._cache
