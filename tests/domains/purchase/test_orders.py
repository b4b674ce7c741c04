"""Order claims: one order per checkout key, stale orders taken over, failures leave no trace."""

from __future__ import annotations

from datetime import timedelta

from mobileplans.cli.demo_operator import ensure_operator_demo
from mobileplans.db.session import session_scope
from mobileplans.db.transactions import Transactions
from mobileplans.domains.purchase import orders
from mobileplans.domains.purchase.es2plus_client import Es2PlusClient
from mobileplans.domains.purchase.schemas import MoDirectStatus, OrderKind, OrderStatus
from mobileplans.domains.subscriber import balances
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.kit.clock import FrozenClock
from tests.apps.operator.portal_fixtures import OPERATOR, Sessions, sim, site


async def request(sessions: Sessions, clock: FrozenClock, **changes: object) -> orders.OrderRequest:
    await ensure_operator_demo(sessions, [OPERATOR], clock.now())
    async with session_scope(sessions) as session:
        holder = await subscriber.sign_up(
            session,
            OPERATOR,
            email="o@contoso.example",
            password="long-enough",
            display_name="O",
            now=clock.now(),
        )
        plan = (await subscriber.list_plans(session, OPERATOR))[0]
    values: dict[str, object] = {
        "site": site("http://127.0.0.1:9"),
        "account_id": holder.id,
        "plan": plan,
        "checkout_key": "k" * 32,
        "transaction_id": "tx.1",
        "kind": OrderKind.TOPUP,
        "iccid": sim("active_prepaid"),
    }
    values.update(changes)
    return orders.OrderRequest(**values)  # type: ignore[arg-type]


async def test_one_order_per_checkout_key_and_stale_ones_are_taken_over(
    sessions: Sessions, clock: FrozenClock
) -> None:
    wanted = await request(sessions, clock)
    async with session_scope(sessions) as session:
        first, drive = await orders.claim(session, wanted, clock.now())
    assert drive
    async with session_scope(sessions) as session:
        again, drive_again = await orders.claim(session, wanted, clock.now())
    assert (again.id, drive_again) == (first.id, False)
    clock.advance(orders.STALE_AFTER + timedelta(seconds=1))
    async with session_scope(sessions) as session:
        stale, take_over = await orders.claim(session, wanted, clock.now())
    assert (stale.id, take_over) == (first.id, True)
    async with session_scope(sessions) as session:
        _, once_more = await orders.claim(session, wanted, clock.now())
    assert not once_more  # the takeover refreshed it


async def test_crediting_a_line_of_another_account_fails_the_order_with_nothing_credited(
    sessions: Sessions, clock: FrozenClock
) -> None:
    wanted = await request(sessions, clock)  # active_prepaid belongs to the demo account
    async with session_scope(sessions) as session:
        before = await balances.get_balances(
            session, OPERATOR, sim("active_prepaid"), now=clock.now()
        )
    es2 = Es2PlusClient("http://127.0.0.1:9", "unused")
    order = await orders.place_order(Transactions(sessions), es2, wanted, clock)
    await es2.close()
    assert order.status is OrderStatus.FAILED
    assert order.callback is not None
    assert order.callback["args"][0]["moDirectStatus"] == MoDirectStatus.INVALID_SIM.value
    async with session_scope(sessions) as session:
        after = await balances.get_balances(
            session, OPERATOR, sim("active_prepaid"), now=clock.now()
        )
    assert after == before
