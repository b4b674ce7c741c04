"""Concurrent ES2+ calls over HTTP: no profile to two EIDs, a replay never allocates twice."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from mobileplans.db.models import SmdpFunctionCall, SmdpProfile
from mobileplans.db.session import session_scope
from mobileplans.domains.smdp import es2plus
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.identifiers import eid_with_check_digits
from tests.apps.smdp.support import es2
from tests.domains.smdp.support import PREPAID, CallbackServer, Sessions, fci, seed


def status(answer: dict[str, object]) -> str:
    return answer["header"]["functionExecutionStatus"]["status"]  # type: ignore[index, no-any-return]


async def linked(sessions: Sessions) -> list[tuple[str, str | None]]:
    async with session_scope(sessions) as session:
        query = select(SmdpProfile.iccid, SmdpProfile.eid).where(SmdpProfile.state == "Linked")
        return [(i, e) for i, e in (await session.execute(query)).all()]


async def test_last_profile_goes_to_exactly_one_of_two(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    callback_server: CallbackServer,
) -> None:
    world = await seed(sessions, clock, prepaid=1, callback_url=callback_server.url)
    eids = [eid_with_check_digits(f"8904903200000000000000000000{i:02d}") for i in (1, 2)]
    answers = await asyncio.gather(
        *(es2(client, "downloadOrder", {"eid": eid, "profileType": PREPAID}) for eid in eids)
    )
    assert sorted(status(a) for a in answers) == ["Executed-Success", "Failed"]
    loser = next(a for a in answers if status(a) == "Failed")
    assert loser["header"]["functionExecutionStatus"]["statusCodeData"]["reasonCode"] == "3.7"
    (only,) = await linked(sessions)
    assert only[0] == world.prepaid[0]
    assert only[1] == eids[[status(a) for a in answers].index("Executed-Success")]


async def test_many_orders_for_few_profiles(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    callback_server: CallbackServer,
) -> None:
    world = await seed(sessions, clock, prepaid=3, callback_url=callback_server.url)
    eids = [eid_with_check_digits(f"8904903200000000000000000001{i:02d}") for i in range(7)]
    answers = await asyncio.gather(
        *(es2(client, "downloadOrder", {"eid": eid, "profileType": PREPAID}) for eid in eids)
    )
    won = [a["iccid"] for a in answers if status(a) == "Executed-Success"]
    assert sorted(won) == sorted(world.prepaid)  # each profile once, none twice
    assert sum(status(a) == "Failed" for a in answers) == 4
    assert len({e for _, e in await linked(sessions)}) == 3


async def test_the_same_order_replayed_concurrently_allocates_once(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    callback_server: CallbackServer,
) -> None:
    await seed(sessions, clock, prepaid=3, callback_url=callback_server.url)
    call_id = fci()
    body = {"eid": eid_with_check_digits("890490320000000000000000000099"), "profileType": PREPAID}
    answers = await asyncio.gather(
        *(es2(client, "downloadOrder", body, call_id=call_id) for _ in range(3))
    )
    assert answers[0] == answers[1] == answers[2]
    assert status(answers[0]) == "Executed-Success"
    assert len(await linked(sessions)) == 1
    async with session_scope(sessions) as session:
        assert await session.scalar(select(func.count()).select_from(SmdpFunctionCall)) == 1


async def test_a_generated_matching_id_that_clashes_is_replaced(
    client: httpx.AsyncClient,
    sessions: Sessions,
    clock: FrozenClock,
    callback_server: CallbackServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """D181: a generated matchingId is not looked up first; the unique index refuses a
    clash, the call's transaction is rolled back and run again with a new one."""
    world = await seed(sessions, clock, prepaid=2, callback_url=callback_server.url)
    await es2(client, "downloadOrder", {"iccid": world.prepaid[0]})
    first = await es2(client, "confirmOrder", {"iccid": world.prepaid[0], "releaseFlag": True})
    generated = iter([first["matchingId"], "FRESH-0000-0000-0001"])
    monkeypatch.setattr(es2plus, "new_matching_id", lambda: next(generated))
    await es2(client, "downloadOrder", {"iccid": world.prepaid[1]})
    second = await es2(client, "confirmOrder", {"iccid": world.prepaid[1], "releaseFlag": True})
    assert status(second) == "Executed-Success"
    assert second["matchingId"] == "FRESH-0000-0000-0001"
    async with session_scope(sessions) as session:
        query = select(SmdpProfile.matching_id).where(SmdpProfile.iccid.in_(world.prepaid))
        assert sorted(await session.scalars(query)) == sorted(
            [first["matchingId"], "FRESH-0000-0000-0001"]
        )
