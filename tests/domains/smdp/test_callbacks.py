"""handleDownloadProgressInfo: the bodies the use cases build (delivery: test_callback_outbox)."""

from __future__ import annotations

from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import (
    EID_A,
    EID_B,
    Sessions,
    device,
    released,
    seed,
)


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
