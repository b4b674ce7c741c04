"""Delayed profiles are released when due (spec 1.6, 7.2 #42), against the real SM-DP+."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event

from mobileplans.db.models import MoOrder
from mobileplans.db.reads import reads_for
from mobileplans.db.transactions import Transactions
from mobileplans.domains.purchase.es2plus_client import Es2PlusClient, Es2PlusPool
from mobileplans.domains.purchase.release import release_due_orders
from mobileplans.domains.smdp.schemas import ProfileState
from mobileplans.domains.subscriber.schemas import LineStatus
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import (
    EID,
    REQUESTER,
    Sessions,
    Stack,
    buy,
    esim_launch,
    line_of,
    orders,
    profile_of,
    running_stack,
    sign_up,
    site,
)
from tests.support import free_port


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=3) as running:
        yield running


async def delayed_order(stack: Stack, sessions: Sessions, email: str) -> MoOrder:
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(esim_launch()), email)
        done = await browser.submit(await buy(browser, plans, "contoso-5gb-later"))
    assert done.callback is not None
    return next(o for o in await orders(sessions) if o.activation_code == done.callback["args"][1])


async def release(sessions: Sessions, pool: Es2PlusPool, clock: FrozenClock, after: float) -> int:
    return await release_due_orders(
        Transactions(sessions), pool, clock.now() + timedelta(seconds=after)
    )


async def test_release_waits_for_the_due_time_and_a_reachable_smdp(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    order = await delayed_order(stack, sessions, "a@contoso.example")
    assert order.iccid is not None
    pool = Es2PlusPool([stack.site], retries=0)
    down = Es2PlusPool([site(f"http://127.0.0.1:{free_port()}")], retries=0)
    try:
        assert await release(sessions, pool, clock, 30) == 0  # due after 60 s
        assert await release(sessions, down, clock, 90) == 0  # SM-DP+ unreachable: retried later
        [still] = await orders(sessions)
        assert still.status == "pending-release"
        assert await release(sessions, pool, clock, 90) == 1
        assert await release(sessions, pool, clock, 90) == 0  # nothing left to do
    finally:
        await pool.close()
        await down.close()
    [done] = await orders(sessions)
    assert done.status == "fulfilled"
    assert (await profile_of(sessions, order.iccid)).state is ProfileState.RELEASED
    line = await line_of(sessions, order.iccid)
    assert line is not None
    assert line.status is LineStatus.RELEASED


async def test_a_refused_release_marks_the_order(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    order = await delayed_order(stack, sessions, "b@contoso.example")
    assert order.iccid is not None
    client = Es2PlusClient(stack.smdp_url, REQUESTER, retries=0)
    pool = Es2PlusPool([stack.site], retries=0)
    try:
        await client.cancel_order(
            call_id="support.cancel", iccid=order.iccid, eid=EID, final_status="Unavailable"
        )
        assert await release(sessions, pool, clock, 90) == 0
    finally:
        await client.close()
        await pool.close()
    [failed] = await orders(sessions)
    assert failed.status == "release-failed"
    assert failed.failure is not None
    line = await line_of(sessions, order.iccid)
    assert line is not None
    assert line.status is LineStatus.RESERVED


async def test_a_round_with_nothing_due_opens_no_transaction(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    """With the driver's reads (as the operator app's job runs it), an idle round is one
    read: no transaction until a release is due (D188)."""
    begun: list[object] = []
    engine = sessions.kw["bind"].sync_engine
    reads = reads_for(sessions.kw["bind"])
    pool = Es2PlusPool([stack.site], retries=0)

    def on_begin(connection: object) -> None:
        begun.append(connection)

    async def round_after(seconds: float) -> int:
        now = clock.now() + timedelta(seconds=seconds)
        return await release_due_orders(Transactions(sessions), pool, now, reads=reads)

    event.listen(engine, "begin", on_begin)
    try:
        assert await round_after(0) == 0  # no delayed order at all
        assert begun == []
        order = await delayed_order(stack, sessions, "c@contoso.example")
        begun.clear()
        assert await round_after(30) == 0  # due after 60 s
        assert begun == []
        assert await round_after(90) == 1
        assert begun  # the due order was read, released and recorded in transactions
    finally:
        event.remove(engine, "begin", on_begin)
        await pool.close()
    [done] = await orders(sessions)
    assert (done.id, done.status) == (order.id, "fulfilled")
