"""GetOffers / GetNotifications rules (domains/subscriber/engagement.py, spec 2.6, 2.7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.domains.subscriber import balances, engagement
from mobileplans.domains.subscriber.schemas import NotificationType
from mobileplans.errors import BadRequest, NotFound
from mobileplans.kit.clock import FrozenClock
from tests.domains.subscriber.conftest import EXCLUDED, FOREIGN, LINE, OPERATOR, Office


async def kinds_applying(session: AsyncSession, clock: FrozenClock, iccid: str = LINE) -> set[str]:
    found = set()
    for kind in NotificationType:
        notes = await engagement.get_notifications(
            session, OPERATOR, iccid, kind, now=clock.now(), limit=5
        )
        assert len(notes) <= 1
        found |= {n.notification_type.value for n in notes}
        for note in notes:
            assert note.notification_id == engagement.NOTIFICATION_IDS[kind]
    return found


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("lowBalance", NotificationType.LOW_BALANCE),
        ("LowBalance", NotificationType.LOW_BALANCE),
        (" trialended ", NotificationType.TRIAL_ENDED),
        ("NEWOFFER", NotificationType.NEW_OFFER),
    ],
)
def test_notification_types_parse_any_case(text: str, kind: NotificationType) -> None:
    assert engagement.parse_notification_type(text) is kind


@pytest.mark.parametrize("text", [None, "", "low", "low_balance", "lowBalances"])
def test_bad_notification_types(text: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        engagement.parse_notification_type(text)
    assert caught.value.extra["field"] == "notificationType"


def test_notification_ids_are_distinct_numbers() -> None:
    ids = list(engagement.NOTIFICATION_IDS.values())
    assert len(set(ids)) == len(NotificationType) == len(ids)


async def test_a_line_through_its_life(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    # Never bought: nothing consumable, and both plans are new to it.
    assert await kinds_applying(session, clock) == {"zeroBalance", "newOffer"}
    await balances.credit(session, LINE, office.prepaid, now=clock.now())
    assert await kinds_applying(session, clock) == {"newOffer"}  # travel still new
    await balances.credit(session, LINE, office.travel, now=clock.now())
    assert await kinds_applying(session, clock) == set()
    # 1500 MB held: 1349 MB used empties the travel plan (earliest expiry) and leaves
    # 151 of the prepaid 1000; at most 10 % of what the consumable balances held is low.
    await balances.use_data(session, OPERATOR, LINE, 1349, now=clock.now())
    assert await kinds_applying(session, clock) == set()
    await balances.use_data(session, OPERATOR, LINE, 51, now=clock.now())
    assert await kinds_applying(session, clock) == {"lowBalance"}
    await balances.use_data(session, OPERATOR, LINE, 100, now=clock.now())
    assert await kinds_applying(session, clock) == {"zeroBalance"}


async def test_low_when_everything_ends_within_a_day(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    await balances.credit(session, LINE, office.travel, now=clock.now())  # 7 days
    await balances.credit(session, LINE, office.prepaid, now=clock.now())  # 30 days
    clock.advance(timedelta(days=6, hours=1))  # travel ends soon, prepaid does not
    assert "lowBalance" not in await kinds_applying(session, clock)
    clock.advance(timedelta(days=23))  # the last one ends within 24 h
    assert "lowBalance" in await kinds_applying(session, clock)


async def test_excluded_lines_get_no_notifications(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    assert await kinds_applying(session, clock, EXCLUDED) == set()


async def test_offers(session: AsyncSession, office: Office, clock: FrozenClock) -> None:
    async def ids(iccid: str = LINE, limit: int = 5, returning: str | None = "7") -> list[str]:
        found = await engagement.get_offers(
            session, OPERATOR, iccid, now=clock.now(), limit=limit, returning_gateway_id=returning
        )
        return [offer.gateway_id for offer in found]

    assert await ids() == ["0"]  # new customer
    await balances.credit(session, LINE, office.prepaid, now=clock.now())
    await balances.credit(session, EXCLUDED, office.prepaid, now=clock.now())
    assert await ids() == ["7", "0"]
    assert await ids(limit=1) == ["7"]
    assert await ids(limit=0) == []
    assert await ids(returning=None) == ["0"]
    assert await ids(returning="0") == ["0"]  # never listed twice
    assert await ids(EXCLUDED) == ["0"]
    clock.advance(timedelta(days=30))  # lapsed
    assert await ids() == ["0"]


async def test_unknown_and_foreign_lines(
    session: AsyncSession, office: Office, clock: FrozenClock
) -> None:
    with pytest.raises(NotFound):
        await engagement.get_offers(session, OPERATOR, FOREIGN, now=clock.now(), limit=1)
    with pytest.raises(NotFound):
        await engagement.get_notifications(
            session, OPERATOR, FOREIGN, NotificationType.LOW_BALANCE, now=clock.now(), limit=1
        )
