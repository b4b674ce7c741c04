"""Balance rules of the subscriber domain (spec 2.3, 1.5; 7.1 #8, #9; 7.2 #46)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.db.models import MoBalance, MoUsage
from mobileplans.domains.subscriber import balances, repository
from mobileplans.domains.subscriber.schemas import BalanceType
from mobileplans.errors import BadRequest, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.domains.subscriber.conftest import EXCLUDED, FOREIGN, LINE, OPERATOR, OTHER_LINE, Office
from tests.support import valid_iccid


async def test_credit_makes_a_consumable_balance(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    credited = await balances.credit(session, LINE, office.prepaid, now=clock.now())
    assert (credited.type, credited.data_remaining_in_mb, credited.time_remaining) == (
        BalanceType.MODIRECTPAYG,
        1000.0,
        "P30D",
    )
    assert credited.locations == ["US"]
    postpaid = await balances.credit(session, LINE, office.travel, now=clock.now())
    assert postpaid.type is BalanceType.MODIRECT  # 7.1 #9
    with pytest.raises(NotFound):
        await balances.credit(
            session, valid_iccid("890199900000000999"), office.prepaid, now=clock.now()
        )


async def test_nothing_consumable_is_one_none_balance(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    [none] = await balances.get_balances(session, OPERATOR, LINE, now=clock.now(), full=True)
    assert none.wire() == {
        "id": f"{LINE}-none",
        "type": "NONE",
        "dataRemaininginMB": 0.0,
        "timeRemaining": "PT0S",
        "locations": [],
    }
    [basic] = await balances.get_balances(session, OPERATOR, LINE, now=clock.now())
    assert "locations" not in basic.wire()


async def test_expired_and_used_up_balances_are_not_listed(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    await balances.credit(session, LINE, office.travel, now=clock.now())  # 7 days
    await balances.credit(session, LINE, office.prepaid, now=clock.now())  # 30 days
    listed = await balances.get_balances(session, OPERATOR, LINE, now=clock.now())
    assert [b.type for b in listed] == [BalanceType.MODIRECT, BalanceType.MODIRECTPAYG]
    clock.advance(timedelta(days=7))  # the travel plan ends exactly now
    [left] = await balances.get_balances(session, OPERATOR, LINE, now=clock.now())
    assert (left.type, left.time_remaining) == (BalanceType.MODIRECTPAYG, "P23D")
    await balances.use_data(session, OPERATOR, LINE, 1000, now=clock.now())
    [none] = await balances.get_balances(session, OPERATOR, LINE, now=clock.now())
    assert none.type is BalanceType.NONE


async def test_location_picks_the_balances_usable_there(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    await balances.credit(session, LINE, office.prepaid, now=clock.now())
    await balances.credit(session, LINE, office.travel, now=clock.now())
    canada = await balances.get_balances(session, OPERATOR, LINE, now=clock.now(), location="CA")
    assert [b.type for b in canada] == [BalanceType.MODIRECT]
    france = await balances.get_balances(session, OPERATOR, LINE, now=clock.now(), location="FR")
    assert [b.type for b in france] == [BalanceType.NONE]
    limited = await balances.get_balances(session, OPERATOR, LINE, now=clock.now(), limit=1)
    assert len(limited) == 1


async def test_excluded_and_foreign_sims(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    await balances.credit(session, EXCLUDED, office.prepaid, now=clock.now())
    [excluded] = await balances.get_balances(session, OPERATOR, EXCLUDED, now=clock.now())
    assert (excluded.type, excluded.data_remaining_in_mb) == (BalanceType.NOTSUPPORTED, 0.0)
    with pytest.raises(NotFound):
        await balances.get_balances(session, OPERATOR, FOREIGN, now=clock.now())
    with pytest.raises(NotFound):
        await balances.line_state(session, OPERATOR, FOREIGN, now=clock.now())


async def test_use_drains_earliest_expiry_first_then_refuses(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    await balances.credit(session, LINE, office.prepaid, now=clock.now())  # 1000 MB, 30 d
    await balances.credit(session, LINE, office.travel, now=clock.now())  # 500 MB, 7 d
    refused, state = await balances.use_data(session, OPERATOR, LINE, 600, now=clock.now())
    assert refused == 0.0
    assert (state.walled_garden, state.data_remaining_in_mb) == (False, 900.0)
    listed = await balances.get_balances(session, OPERATOR, LINE, now=clock.now())
    assert [b.data_remaining_in_mb for b in listed] == [900.0]  # travel used up first
    refused, state = await balances.use_data(session, OPERATOR, LINE, 950.5, now=clock.now())
    assert refused == pytest.approx(50.5)
    assert state.walled_garden is True
    assert (state.data_remaining_in_mb, state.time_remaining) == (0.0, "PT0S")
    total = await session.scalar(select(func.sum(MoUsage.mb)).where(MoUsage.iccid == LINE))
    assert total == pytest.approx(1500.0)  # refused data is not recorded as used


async def test_use_in_a_location_drains_only_balances_usable_there(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    await balances.credit(session, LINE, office.prepaid, now=clock.now())  # US only
    await balances.credit(session, LINE, office.travel, now=clock.now())  # US + CA
    refused, state = await balances.use_data(
        session, OPERATOR, LINE, 700, now=clock.now(), location="CA"
    )
    assert refused == 200.0
    assert state.walled_garden is True  # in Canada
    us = await balances.line_state(session, OPERATOR, LINE, now=clock.now(), location="US")
    assert (us.walled_garden, us.data_remaining_in_mb) == (False, 1000.0)


@pytest.mark.parametrize("mb", [0.0, -1.0, float("nan")])
async def test_use_of_nothing_is_refused(
    session: AsyncSession, office: Office, clock: FrozenClock, mb: float
) -> None:
    with pytest.raises(BadRequest) as caught:
        await balances.use_data(session, OPERATOR, LINE, mb, now=clock.now())
    assert caught.value.extra["field"] == "mb"


async def test_consume_is_a_compare_and_set(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    await balances.credit(session, LINE, office.prepaid, now=clock.now())
    [row] = await repository.balances(session, LINE)
    balance_id = row.id
    assert await repository.consume(session, balance_id, 10.0, 0.0) is True
    assert await repository.consume(session, balance_id, 10.0, 0.0) is False  # stale: refused
    session.expire_all()
    used = await session.scalar(select(MoBalance.data_used_mb).where(MoBalance.id == balance_id))
    assert used == 10.0


async def test_line_state_reports_the_balance_being_drained(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    await balances.credit(session, LINE, office.prepaid, now=clock.now())
    await balances.credit(session, LINE, office.travel, now=clock.now())
    state = await balances.line_state(session, OPERATOR, LINE, now=clock.now())
    assert (state.walled_garden, state.data_remaining_in_mb, state.time_remaining) == (
        False,
        1500.0,
        "P7D",
    )


async def test_the_wire_form_is_the_models_wire_form(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    """``get_balances_wire`` (the MO API's hot path, no model) gives ``wire()`` of every
    balance ``get_balances`` gives, for every line kind, filter, template and limit."""
    await balances.credit(session, LINE, office.prepaid, now=clock.now())
    await balances.credit(session, LINE, office.travel, now=clock.now())
    await balances.use_data(session, OPERATOR, LINE, 123.4567, now=clock.now())
    clock.advance(timedelta(hours=5, minutes=3, seconds=7))
    compared = 0
    for iccid in (LINE, EXCLUDED, OTHER_LINE):  # balances; not supported; none
        for location in (None, "US", "CA", "FR"):
            for full in (False, True):
                for limit in (None, 0, 1, 5):
                    args = (session, OPERATOR, iccid)
                    models = await balances.get_balances(
                        *args, now=clock.now(), location=location, full=full, limit=limit
                    )
                    wire = await balances.get_balances_wire(
                        *args, now=clock.now(), location=location, full=full, limit=limit
                    )
                    assert wire == [m.wire() for m in models], (iccid, location, full, limit)
                    compared += len(wire)
    assert compared > 40
    with pytest.raises(NotFound):
        await balances.get_balances_wire(session, OPERATOR, FOREIGN, now=clock.now())
