"""The callback outbox (docs/smdp.md S15): delivery to a real HTTP server on 127.0.0.1 with a
controllable clock; backoff, giving up, order per ICCID, leases shared by two senders."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

import pytest

from mobileplans.db.models import SmdpCallbackOutbox
from mobileplans.db.transactions import Transactions
from mobileplans.domains.smdp import repository
from mobileplans.domains.smdp.callbacks import CallbackSender, Retry, enqueue
from mobileplans.domains.smdp.schemas import PendingCallback
from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import EID_A, CallbackServer, Sessions

ICCIDS = ("8901999000000000003", "8901999000000000011")
RETRY = Retry(first=30, cap=600, give_up=86400, lease=60)


def callback(url: str, iccid: str = ICCIDS[0], point: int = 1) -> PendingCallback:
    body = {
        "iccid": iccid,
        "profileType": "PREPAID-5GB",
        "timestamp": "2026-11-02T09:00:00Z",
        "notificationPointId": point,
        "notificationPointStatus": {"status": "Executed-Success"},
        "eid": EID_A,
    }
    return PendingCallback(url, "contoso-bss", body)


def sender(sessions: Sessions, clock: FrozenClock, owner: str = "smdp-a") -> CallbackSender:
    return CallbackSender(
        Transactions(sessions), clock, retry=RETRY, timeout_seconds=5, owner=owner
    )


async def write(sessions: Sessions, clock: FrozenClock, *callbacks: PendingCallback) -> None:
    async with Transactions(sessions).step() as session:
        await enqueue(session, callbacks, clock.now())


async def rows(sessions: Sessions) -> list[SmdpCallbackOutbox]:
    async with Transactions(sessions).step() as session:
        return await repository.callbacks_in(session, ["pending", "delivered", "failed"])


async def next_due(sessions: Sessions) -> Any:
    async with Transactions(sessions).step() as session:
        return await repository.next_callback_due(session)


def order(server: CallbackServer) -> dict[str, list[int]]:
    """The points each ICCID received, in arrival order."""
    seen: dict[str, list[int]] = {}
    for body in server.bodies:
        seen.setdefault(body["iccid"], []).append(body["notificationPointId"])
    return seen


def six(url: str) -> list[PendingCallback]:
    return [callback(url, iccid, point) for iccid in ICCIDS for point in (1, 3, 4)]


class TestDelivery:
    async def test_header_and_one_call_id_across_retries(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        async with CallbackServer(answers=[500, 503]) as server:
            out = sender(sessions, clock)
            await write(sessions, clock, callback(server.url))
            assert await out.run_once() == 1
            assert await out.run_once() == 0  # backing off 30 s
            clock.advance(timedelta(seconds=30))
            assert await out.run_once() == 1
            clock.advance(timedelta(seconds=59))
            assert await out.run_once() == 0  # the second delay is 60 s
            clock.advance(timedelta(seconds=1))
            assert await out.run_once() == 1
            await out.aclose()
        assert len(server.bodies) == 3
        header = server.bodies[0]["header"]
        assert header["functionRequesterIdentifier"] == "mobileplans-smdp"
        assert header["functionCallIdentifier"].startswith("NP1-")
        assert {b["header"]["functionCallIdentifier"] for b in server.bodies} == {
            header["functionCallIdentifier"]
        }
        assert server.headers[0]["X-Admin-Protocol"] == "gsma/rsp/v2.5.0"
        (row,) = await rows(sessions)
        assert (row.status, row.attempts, row.delivered_at) == ("delivered", 3, clock.now())
        assert (out.delivered, out.failed) == (1, 0)

    @pytest.mark.parametrize("status", [400, 404, 422])
    async def test_a_client_error_fails_it_and_the_next_one_goes(
        self, sessions: Sessions, clock: FrozenClock, status: int
    ) -> None:
        async with CallbackServer(answers=[status]) as server:
            out = sender(sessions, clock)
            await write(sessions, clock, callback(server.url), callback(server.url, point=3))
            while await out.run_once():
                pass
            await out.aclose()
        assert order(server) == {ICCIDS[0]: [1, 3]}
        assert [(r.status, r.last_error) for r in await rows(sessions)] == [
            ("failed", f"HTTP {status}"),
            ("delivered", None),
        ]
        assert (out.delivered, out.failed) == (1, 1)

    async def test_given_up_after_24_hours_with_capped_backoff(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        async with CallbackServer() as server:
            url = server.url
        out = sender(sessions, clock)  # nobody listens on that port any more
        start = clock.now()
        await write(sessions, clock, callback(url))
        delays = []
        while (due := await next_due(sessions)) is not None:
            delays.append((due - clock.now()).total_seconds())
            clock.set(due)
            assert await out.run_once() == 1
        await out.aclose()
        (row,) = await rows(sessions)
        assert row.status == "failed"
        assert "Connect" in (row.last_error or "")
        assert clock.now() - start >= timedelta(hours=24)
        assert delays[:7] == [0, 30, 60, 120, 240, 480, 600]
        assert set(delays[6:]) == {600}
        assert (out.delivered, out.failed) == (0, 1)


class TestOperatorDownForAnHour:
    async def test_pending_with_growing_backoff_then_each_once_in_order(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        server = CallbackServer()  # not listening yet: connections are refused
        out = sender(sessions, clock)
        start = clock.now()
        await write(sessions, clock, *six(server.url))
        attempts_at: list[float] = []
        while (due := await next_due(sessions)) < start + timedelta(minutes=60):
            clock.set(due)
            assert await out.run_once() == 2  # the first callback of each ICCID only
            attempts_at.append((clock.now() - start).total_seconds())
        written = await rows(sessions)
        assert [r.status for r in written] == ["pending"] * 6
        assert [r.attempts for r in written] == [10, 0, 0, 10, 0, 0]
        gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
        assert gaps == [30, 60, 120, 240, 480, 600, 600, 600, 600]
        async with server:  # the operator is back
            clock.set(await next_due(sessions))
            while await out.run_once():
                pass
            await out.aclose()
        assert order(server) == {ICCIDS[0]: [1, 3, 4], ICCIDS[1]: [1, 3, 4]}
        calls = [b["header"]["functionCallIdentifier"] for b in server.bodies]
        assert len(set(calls)) == 6
        assert [r.status for r in await rows(sessions)] == ["delivered"] * 6


class TestTwoSenders:
    async def test_a_leased_callback_blocks_its_iccid_for_the_other(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        async with CallbackServer() as server:
            await write(sessions, clock, *six(server.url))
            async with Transactions(sessions).step() as session:
                taken = await repository.claim_callbacks(
                    session, owner="smdp-a", now=clock.now(),
                    lease_until=clock.now() + timedelta(seconds=60), limit=1,
                )  # fmt: skip
            assert [(r.iccid, r.body["notificationPointId"]) for r in taken] == [(ICCIDS[0], 1)]
            b = sender(sessions, clock, owner="smdp-b")
            assert await b.run_once() == 1  # ICCID 2's point 1; ICCID 1 waits for smdp-a
            assert order(server) == {ICCIDS[1]: [1]}
            assert await b.run_once() == 1
            clock.advance(timedelta(seconds=61))  # smdp-a died: its lease ran out
            while await b.run_once():
                pass
            async with Transactions(sessions).step() as session:
                late = await repository.finish_callback(
                    session, taken[0].id, owner="smdp-a", values={"status": "delivered"}
                )
            await b.aclose()
        assert late is False
        assert order(server) == {ICCIDS[1]: [1, 3, 4], ICCIDS[0]: [1, 3, 4]}

    async def test_concurrent_passes_send_each_once_in_order(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        async with CallbackServer() as server:
            iccids = [f"89019990000000001{n:02d}" for n in range(6)]
            await write(sessions, clock, *(callback(server.url, i, p)
                                           for i in iccids for p in (1, 3, 4)))  # fmt: skip
            a, b = sender(sessions, clock, "smdp-a"), sender(sessions, clock, "smdp-b")
            while await next_due(sessions) is not None:
                await asyncio.gather(a.run_once(), b.run_once())
            await a.aclose()
            await b.aclose()
        calls = [body["header"]["functionCallIdentifier"] for body in server.bodies]
        assert len(calls) == len(set(calls)) == 18
        assert order(server) == {iccid: [1, 3, 4] for iccid in iccids}
        assert a.delivered + b.delivered == 18


class TestDriverStatements:
    """The claim and the record run as prebuilt statements on the driver connection (D256):
    the values come back typed as the ORM reads them, and the lease is what the ORM sees."""

    async def test_claim_returns_typed_rows_and_leases_them(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        url = "http://127.0.0.1:9/cb"
        await write(sessions, clock, *six(url))
        now = clock.now()
        until = now + timedelta(seconds=60)
        async with Transactions(sessions).step() as session:
            claimed = await repository.claim_callbacks(
                session, owner="smdp-a", now=now, lease_until=until, limit=10
            )
        assert [(r.iccid, r.body["notificationPointId"]) for r in claimed] == [
            (ICCIDS[0], 1), (ICCIDS[1], 1)
        ]  # fmt: skip
        assert claimed[0].body == callback(url).body
        assert claimed[0].created_at == now
        assert claimed[0].attempts == 0
        leased = {r.id: r for r in await rows(sessions)}
        for row in claimed:
            assert leased[row.id].lease_owner == "smdp-a"
            assert leased[row.id].lease_expires_at == until
        async with Transactions(sessions).step() as session:
            again = await repository.claim_callbacks(
                session, owner="smdp-b", now=now, lease_until=until, limit=10
            )
            assert again == []
            assert await repository.next_callback_due(session) == until
            taken = await repository.finish_callback(
                session, claimed[0].id, owner="smdp-b", values={"status": "delivered"}
            )
            done = await repository.finish_callback(
                session, claimed[0].id, owner="smdp-a",
                values={"status": "delivered", "delivered_at": now, "last_error": None},
            )  # fmt: skip
        assert (taken, done) == (False, True)
        finished = {r.id: r for r in await rows(sessions)}[claimed[0].id]
        assert (finished.status, finished.attempts, finished.lease_owner) == ("delivered", 1, None)
