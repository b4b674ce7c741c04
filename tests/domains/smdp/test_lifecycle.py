"""The profile state machine: the table, its guard, and optimistic locking."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mobileplans.db.models import SmdpProfileEvent
from mobileplans.db.session import session_scope
from mobileplans.domains.smdp import lifecycle, repository
from mobileplans.domains.smdp.codes import ConcurrentUpdate
from mobileplans.domains.smdp.schemas import ProfileState
from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import Sessions, World, profile

P = ProfileState


def test_every_state_is_reachable_and_unavailable_is_final() -> None:
    seen, todo = {P.AVAILABLE}, [P.AVAILABLE]
    while todo:
        for target in lifecycle.TRANSITIONS[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(ProfileState)
    assert lifecycle.TRANSITIONS[P.UNAVAILABLE] == frozenset()


@pytest.mark.parametrize(
    ("current", "target", "ok"),
    [
        (P.AVAILABLE, P.LINKED, True),
        (P.AVAILABLE, P.RELEASED, False),
        (P.LINKED, P.INSTALLED, False),
        (P.CONFIRMED, P.RELEASED, True),
        (P.RELEASED, P.DOWNLOADED, True),
        (P.DOWNLOADED, P.AVAILABLE, False),  # spec 2.2.5: kept until the download is confirmed
        (P.ERROR, P.DOWNLOADED, True),
        (P.INSTALLED, P.AVAILABLE, False),
    ],
)
def test_table(current: ProfileState, target: ProfileState, ok: bool) -> None:
    assert lifecycle.allowed(current, target) is ok


async def test_forbidden_move_raises(sessions: Sessions, clock: FrozenClock, world: World) -> None:
    async with session_scope(sessions) as session:
        row = await repository.profile(session, world.prepaid[0])
        assert row is not None
        with pytest.raises(lifecycle.InvalidTransition):
            await lifecycle.change(session, row, P.INSTALLED, function="t", now=clock.now())


async def test_a_stale_row_loses_and_writes_no_event(
    sessions: Sessions, clock: FrozenClock, world: World
) -> None:
    iccid = world.prepaid[0]
    async with sessions() as stale_session:
        stale = await repository.profile(stale_session, iccid)
        assert stale is not None
        async with session_scope(sessions) as session:
            fresh = await repository.profile(session, iccid)
            assert fresh is not None
            await lifecycle.change(session, fresh, P.ALLOCATED, function="t1", now=clock.now())
        with pytest.raises(ConcurrentUpdate):
            await lifecycle.change(stale_session, stale, P.LINKED, function="t2", now=clock.now())
        await stale_session.rollback()
    row = await profile(sessions, iccid)
    assert (row.state, row.version) == ("Allocated", 1)
    async with session_scope(sessions) as session:
        query = select(func.count()).where(SmdpProfileEvent.function == "t2")
        assert await session.scalar(query) == 0
