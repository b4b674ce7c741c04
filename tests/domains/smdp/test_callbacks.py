"""handleDownloadProgressInfo: bodies built by the use cases, delivery to a real HTTP server."""

from __future__ import annotations

import pytest

from mobileplans.domains.smdp.callbacks import CallbackSender
from mobileplans.domains.smdp.schemas import PendingCallback
from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import (
    EID_A,
    EID_B,
    CallbackServer,
    Sessions,
    device,
    released,
    seed,
)
from tests.support import free_port


def sender(attempts: int = 3) -> CallbackSender:
    return CallbackSender(attempts=attempts, backoff_seconds=0.01, timeout_seconds=5)


def callback(url: str, iccid: str = "8901999000000000003", point: int = 1) -> PendingCallback:
    body = {
        "iccid": iccid,
        "profileType": "PREPAID-5GB",
        "timestamp": "2026-11-02T09:00:00Z",
        "notificationPointId": point,
        "notificationPointStatus": {"status": "Executed-Success"},
        "eid": EID_A,
    }
    return PendingCallback(url, "contoso-bss", body)


class TestUseCasesBuildCallbacks:
    async def test_eligibility_success_and_failure(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        await seed(sessions, clock, callback_url="http://127.0.0.1:9/cb")
        iccid, matching_id = await released(sessions, clock)
        ok = await device(
            sessions, clock, "initiateDownload", {"eid": EID_A, "matchingId": matching_id}
        )
        assert [c.body for c in ok.callbacks] == [
            {
                "iccid": iccid,
                "profileType": "PREPAID-5GB",
                "timestamp": "2026-11-02T09:00:00Z",
                "notificationPointId": 1,
                "notificationPointStatus": {"status": "Executed-Success"},
                "eid": EID_A,
            }
        ]
        assert ok.callbacks[0].url == "http://127.0.0.1:9/cb"
        refused = await device(
            sessions, clock, "initiateDownload", {"eid": EID_B, "matchingId": matching_id}
        )
        (note,) = refused.callbacks
        assert note.body["notificationPointStatus"] == {
            "status": "Failed",
            "statusCodeData": {
                "subjectCode": "8.1.1",
                "reasonCode": "3.8",
                "message": "the profile is bound to another EID",
            },
        }

    async def test_no_callback_url_no_callback(
        self, sessions: Sessions, clock: FrozenClock
    ) -> None:
        await seed(sessions, clock, callback_url=None)
        _, matching_id = await released(sessions, clock)
        ok = await device(
            sessions, clock, "initiateDownload", {"eid": EID_A, "matchingId": matching_id}
        )
        assert ok.callbacks == ()


class TestSender:
    async def test_delivers_with_the_es2plus_protocol_header(self) -> None:
        async with CallbackServer() as server:
            out = sender()
            out.schedule([callback(server.url)])
            await out.drain()
            await out.aclose()
        (received,) = server.bodies
        header = received.pop("header")
        assert received == callback(server.url).body
        assert header["functionRequesterIdentifier"] == "mobileplans-smdp"
        assert header["functionCallIdentifier"].startswith("NP1-")
        assert server.headers[0]["X-Admin-Protocol"] == "gsma/rsp/v2.5.0"
        assert (out.delivered, out.failed) == (1, 0)

    async def test_retries_server_errors_then_delivers(self) -> None:
        async with CallbackServer(answers=[500, 503]) as server:
            out = sender(attempts=3)
            out.schedule([callback(server.url)])
            await out.aclose()
        assert len(server.bodies) == 3
        assert len({b["header"]["functionCallIdentifier"] for b in server.bodies}) == 1
        assert (out.delivered, out.failed) == (1, 0)

    async def test_gives_up_after_the_attempts(self) -> None:
        async with CallbackServer(answers=[500, 500, 500, 500]) as server:
            out = sender(attempts=2)
            out.schedule([callback(server.url)])
            await out.aclose()
        assert len(server.bodies) == 2
        assert (out.delivered, out.failed) == (0, 1)

    @pytest.mark.parametrize("status", [400, 404, 422])
    async def test_client_errors_are_not_retried(self, status: int) -> None:
        async with CallbackServer(answers=[status]) as server:
            out = sender(attempts=3)
            out.schedule([callback(server.url)])
            await out.aclose()
        assert len(server.bodies) == 1
        assert out.failed == 1

    async def test_unreachable_operator_is_logged_not_raised(self) -> None:
        out = sender(attempts=2)
        out.schedule([callback(f"http://127.0.0.1:{free_port()}/cb")])
        await out.aclose()
        assert (out.delivered, out.failed) == (0, 1)

    async def test_in_order_per_iccid(self) -> None:
        async with CallbackServer(answers=[500]) as server:
            out = sender(attempts=3)
            out.schedule([callback(server.url, point=1), callback(server.url, point=3)])
            out.schedule([callback(server.url, point=4)])
            await out.aclose()
        assert [b["notificationPointId"] for b in server.bodies] == [1, 1, 3, 4]
