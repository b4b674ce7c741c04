"""A profile linked by a lost ``downloadOrder`` answer is given back (D232, D245), against
the real SM-DP+ on a socket: the replay names the ICCID, ``cancelOrder`` makes it
Available; a transport failure backs off, and 24 hours after the order failed it gives up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from mobileplans.cli.demo_operator import PROFILE_TYPE
from mobileplans.db.reads import reads_for
from mobileplans.db.session import session_scope
from mobileplans.db.transactions import Transactions
from mobileplans.domains.purchase import journal, orders
from mobileplans.domains.purchase.es2plus_client import (
    Es2PlusClient,
    Es2PlusPool,
    Es2PlusUnavailable,
)
from mobileplans.domains.purchase.reconcile import next_attempt, reconcile_lost_orders
from mobileplans.domains.purchase.schemas import OrderKind, OrderRead, OrderStatus
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import (
    EID,
    OPERATOR,
    REQUESTER,
    Sessions,
    Stack,
    running_stack,
    site,
    taken_profiles,
)
from tests.apps.operator.portal_fixtures import (
    orders as order_rows,
)
from tests.support import free_port


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=3) as running:
        yield running


class LosingClient(Es2PlusClient):
    """Sends ``downloadOrder`` to the SM-DP+ (which acts on it) and loses its answer."""

    async def _post(self, function: str, body: dict[str, Any]) -> Any:
        answer = await super()._post(function, body)
        if function == "downloadOrder":
            raise Es2PlusUnavailable(function, "ServerDisconnectedError: answer lost")
        return answer


async def place(stack: Stack, clock: FrozenClock, client: Es2PlusClient, key: str) -> OrderRead:
    async with session_scope(stack.sessions) as session:
        holder = await subscriber.sign_up(session, OPERATOR, email=f"{key}@contoso.example",
                                          password="long-enough", display_name=key,
                                          now=clock.now())  # fmt: skip
        plan = (await subscriber.list_plans(session, OPERATOR))[0]
    wanted = orders.OrderRequest(site=stack.site, account_id=holder.id, plan=plan,
                                 checkout_key=key * 8, transaction_id=f"tx.{key}",
                                 kind=OrderKind.NEW_ESIM, eid=EID)  # fmt: skip
    try:
        return await orders.place_order(Transactions(stack.sessions), client, wanted, clock)
    finally:
        await client.close()


async def lost_answer(stack: Stack, clock: FrozenClock, key: str = "lost") -> OrderRead:
    order = await place(stack, clock, LosingClient(stack.smdp_url, REQUESTER, retries=0), key)
    assert order.status is OrderStatus.FAILED
    assert await taken_profiles(stack.sessions) == 1  # linked to the EID, ICCID unknown
    return order


async def due_at(sessions: Sessions, order_id: str) -> datetime | None:
    [row] = [o for o in await order_rows(sessions) if o.id == order_id]
    return row.reconcile_due_at


async def reconciled(sessions: Sessions, order: OrderRead) -> list[dict[str, Any]]:
    async with session_scope(sessions) as session:
        found = await journal.entries(session, OPERATOR, order.transaction_id)
    return [detail for name, detail in found if name == "reconcile"]


def pool_to(url: str) -> Es2PlusPool:
    return Es2PlusPool([site(url)], retries=0)


def down() -> Es2PlusPool:
    return pool_to(f"http://127.0.0.1:{free_port()}")


async def round_at(sessions: Sessions, pool: Es2PlusPool, at: datetime, **kw: Any) -> int:
    return await reconcile_lost_orders(Transactions(sessions), pool, at, **kw)


async def test_the_profile_a_lost_answer_linked_is_given_back(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    order = await lost_answer(stack, clock)
    failed_at = clock.now()
    assert await due_at(sessions, order.id) == failed_at + timedelta(seconds=5)
    pool = pool_to(stack.smdp_url)
    try:
        assert await round_at(sessions, pool, failed_at + timedelta(seconds=4)) == 0  # not yet
        assert await taken_profiles(sessions) == 1
        assert await round_at(sessions, pool, failed_at + timedelta(seconds=5)) == 1
        assert await round_at(sessions, pool, failed_at + timedelta(seconds=60)) == 0  # done
    finally:
        await pool.close()
    assert await taken_profiles(sessions) == 0  # Available again
    assert await due_at(sessions, order.id) is None
    [entry] = await reconciled(sessions, order)
    assert entry["outcome"] == "given-back"
    assert entry["iccid"].startswith("89")
    [row] = await order_rows(sessions)
    assert (row.status, row.iccid) == ("failed", None)  # still failed, nothing credited


async def test_a_call_that_never_arrived_links_one_now_and_gives_it_back(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    unreachable = Es2PlusClient(f"http://127.0.0.1:{free_port()}", REQUESTER, retries=0)
    order = await place(stack, clock, unreachable, "never")
    assert order.status is OrderStatus.FAILED
    assert await taken_profiles(sessions) == 0
    pool = pool_to(stack.smdp_url)
    try:
        assert await round_at(sessions, pool, clock.now() + timedelta(seconds=5)) == 1
    finally:
        await pool.close()
    assert await taken_profiles(sessions) == 0
    [entry] = await reconciled(sessions, order)
    assert entry["outcome"] == "given-back"


async def test_a_failed_replay_means_nothing_was_linked(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    unreachable = Es2PlusClient(f"http://127.0.0.1:{free_port()}", REQUESTER, retries=0)
    order = await place(stack, clock, unreachable, "empty")
    other = Es2PlusClient(stack.smdp_url, REQUESTER, retries=0)
    try:  # another buyer takes every profile before the replay
        for n in range(3):
            await other.download_order(call_id=f"other.{n}", eid=None,
                                       profile_type=PROFILE_TYPE[OPERATOR])  # fmt: skip
    finally:
        await other.close()
    pool = pool_to(stack.smdp_url)
    try:
        assert await round_at(sessions, pool, clock.now() + timedelta(seconds=5)) == 1
    finally:
        await pool.close()
    [entry] = await reconciled(sessions, order)
    assert (entry["outcome"], entry["function"], entry["code"]) == (
        "nothing-linked", "downloadOrder", "8.2.5/3.7",
    )  # fmt: skip
    assert await due_at(sessions, order.id) is None


async def test_an_unreachable_smdp_backs_off_then_gives_up_after_a_day(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    order = await lost_answer(stack, clock)
    failed_at = clock.now()
    pool = down()
    try:
        for elapsed, wait in [(5, 5), (10, 10), (20, 20), (40, 40), (3600, 600)]:
            at = failed_at + timedelta(seconds=elapsed)
            assert await round_at(sessions, pool, at) == 0
            assert await due_at(sessions, order.id) == at + timedelta(seconds=wait)
        assert await reconciled(sessions, order) == []  # a retry is not journalled
        assert await round_at(sessions, pool, failed_at + timedelta(hours=24)) == 1
    finally:
        await pool.close()
    assert await due_at(sessions, order.id) is None
    [entry] = await reconciled(sessions, order)
    assert (entry["outcome"], entry["function"]) == ("gave-up", "downloadOrder")
    assert await taken_profiles(sessions) == 1  # left for support: the journal says so


def test_the_wait_doubles_from_five_seconds_up_to_ten_minutes() -> None:
    failed_at = datetime(2026, 1, 1, tzinfo=UTC)
    for elapsed, wait in [(0, 5), (5, 5), (10, 10), (300, 300), (900, 600), (86399, 600)]:
        now = failed_at + timedelta(seconds=elapsed)
        assert next_attempt(failed_at, now) == now + timedelta(seconds=wait)
    assert next_attempt(failed_at, failed_at + timedelta(hours=24)) is None


async def test_a_round_with_nothing_due_opens_no_transaction(
    stack: Stack, sessions: Sessions, clock: FrozenClock
) -> None:
    begun: list[object] = []
    engine = sessions.kw["bind"].sync_engine
    reads = reads_for(sessions.kw["bind"])
    pool = pool_to(stack.smdp_url)

    def on_begin(connection: object) -> None:
        begun.append(connection)

    event.listen(engine, "begin", on_begin)
    try:
        assert await round_at(sessions, pool, clock.now(), reads=reads) == 0  # no order at all
        assert begun == []
        order = await lost_answer(stack, clock)
        begun.clear()
        assert await round_at(sessions, pool, clock.now() + timedelta(seconds=4), reads=reads) == 0
        assert begun == []
        assert await round_at(sessions, pool, clock.now() + timedelta(seconds=5), reads=reads) == 1
        assert begun
    finally:
        event.remove(engine, "begin", on_begin)
        await pool.close()
    assert await due_at(sessions, order.id) is None
