"""Allocation by profileType is race-free: two transactions never get the same profile."""

from __future__ import annotations

import asyncio

from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import (
    EID_A,
    EID_B,
    PREPAID,
    Sessions,
    code,
    es2,
    events,
    profile,
    seed,
    status,
)


async def test_two_orders_racing_for_the_last_profile(
    sessions: Sessions, clock: FrozenClock
) -> None:
    world = await seed(sessions, clock, prepaid=1)
    answers = await asyncio.gather(
        es2(sessions, clock, "downloadOrder", {"eid": EID_A, "profileType": PREPAID}),
        es2(sessions, clock, "downloadOrder", {"eid": EID_B, "profileType": PREPAID}),
    )
    winners = [a for a in answers if status(a) == "Executed-Success"]
    losers = [a for a in answers if status(a) == "Failed"]
    assert len(winners) == 1
    assert [code(a) for a in losers] == [("8.2.5", "3.7")]
    row = await profile(sessions, world.prepaid[0])
    winner_eid = EID_A if answers[0] is winners[0] else EID_B
    assert (row.state, row.eid, row.version) == ("Linked", winner_eid, 1)
    assert [e for e in await events(sessions, row.iccid) if e[2] == "downloadOrder"] == [
        ("Available", "Linked", "downloadOrder")
    ]
