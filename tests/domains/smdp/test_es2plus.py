"""ES2+ functions against a real database: every success and every documented failure."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from mobileplans.db.models import SmdpFunctionCall, SmdpProfileEvent
from mobileplans.db.session import session_scope
from mobileplans.domains.smdp.envelope import Es2Request
from mobileplans.kit.clock import FrozenClock
from tests.domains.smdp.support import (
    EID_A,
    EID_B,
    POSTPAID,
    PREPAID,
    Sessions,
    World,
    code,
    es2,
    es2_raw,
    es2_request,
    events,
    fci,
    profile,
    released,
    status,
)
from tests.support import valid_iccid

MATCHING_ID = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")
UNKNOWN_ICCID = valid_iccid("890199905555555555")


async def count_rows(sessions: Sessions, model: type) -> int:
    async with session_scope(sessions) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


class TestDownloadOrder:
    async def test_by_profile_type_with_eid_links_the_lowest_available(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        answer = await es2(sessions, clock, "downloadOrder", {"eid": EID_A, "profileType": PREPAID})
        assert answer == {
            "header": {"functionExecutionStatus": {"status": "Executed-Success"}},
            "iccid": world.prepaid[0],
        }
        row = await profile(sessions, world.prepaid[0])
        assert (row.state, row.eid, row.requester_id) == ("Linked", EID_A, "contoso-bss")
        assert (await profile(sessions, world.prepaid[1])).state == "Available"

    async def test_without_eid_allocates(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        answer = await es2(sessions, clock, "downloadOrder", {"profileType": POSTPAID})
        assert answer["iccid"] == world.postpaid[0]
        row = await profile(sessions, world.postpaid[0])
        assert (row.state, row.eid) == ("Allocated", None)

    async def test_by_iccid_with_trailing_f_normalised(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        wanted = world.prepaid[2]
        answer = await es2(
            sessions, clock, "downloadOrder",
            {"iccid": wanted + "F", "eid": EID_B, "profileType": POSTPAID},
        )  # fmt: skip
        assert answer["iccid"] == wanted  # the ICCID wins over profileType
        assert (await profile(sessions, wanted)).state == "Linked"

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"eid": EID_A}, ("8.2.1", "2.3")),
            ({"iccid": UNKNOWN_ICCID}, ("8.2.1", "3.9")),
            ({"iccid": "8901999000000000001"}, ("8.2.1", "2.1")),  # wrong Luhn digit
            ({"iccid": 8901999000000000001}, ("8.2.1", "2.1")),  # not a string
            ({"profileType": PREPAID, "eid": "8904903212345123451234567890123"}, ("8.1.1", "2.1")),
            ({"profileType": PREPAID, "eid": EID_A[:-1] + "0"}, ("8.1.1", "2.1")),
            ({"profileType": "GOLD"}, ("8.2.5", "3.9")),
            ({"profileType": ""}, ("8.2.5", "2.1")),
            ({"profileType": PREPAID, "smdsAddress": "smds.example"}, ("8.9.1", "3.1")),
        ],
    )
    async def test_failures(
        self,
        sessions: Sessions,
        clock: FrozenClock,
        world: World,
        body: dict[str, Any],
        expected: tuple[str, str],
    ) -> None:
        answer = await es2(sessions, clock, "downloadOrder", body)
        assert status(answer) == "Failed"
        assert code(answer) == expected
        assert answer["header"]["functionExecutionStatus"]["statusCodeData"]["message"]
        assert {(await profile(sessions, i)).state for i in world.prepaid} == {"Available"}

    async def test_profiles_are_scoped_to_the_requesters_operator(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        foreign = await es2(sessions, clock, "downloadOrder", {"iccid": world.fabrikam[0]})
        assert code(foreign) == ("8.2.1", "3.9")
        by_type = await es2(
            sessions, clock, "downloadOrder", {"profileType": POSTPAID}, requester="fabrikam-bss"
        )
        assert code(by_type) == ("8.2.5", "3.9")  # Fabrikam has no POSTPAID profiles
        assert (await profile(sessions, world.postpaid[0])).state == "Available"

    async def test_no_profile_left_of_the_type(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        first = await es2(sessions, clock, "downloadOrder", {"profileType": POSTPAID})
        assert status(first) == "Executed-Success"
        second = await es2(sessions, clock, "downloadOrder", {"profileType": POSTPAID})
        assert code(second) == ("8.2.5", "3.7")

    async def test_iccid_not_available(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        body = {"iccid": world.prepaid[0], "eid": EID_A}
        assert status(await es2(sessions, clock, "downloadOrder", body)) == "Executed-Success"
        again = await es2(sessions, clock, "downloadOrder", {"iccid": world.prepaid[0]})
        assert code(again) == ("8.2.1", "3.3")
        assert (await profile(sessions, world.prepaid[0])).eid == EID_A

    async def test_unknown_requester(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        answer = await es2(
            sessions, clock, "downloadOrder", {"profileType": PREPAID}, requester="intruder"
        )
        assert code(answer) == ("1.1", "1.1")
        assert await count_rows(sessions, SmdpFunctionCall) == 0


class TestConfirmOrder:
    async def test_release_flag_true_releases_with_generated_matching_id(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        ordered = await es2(
            sessions, clock, "downloadOrder", {"eid": EID_A, "profileType": PREPAID}
        )
        answer = await es2(
            sessions, clock, "confirmOrder", {"iccid": ordered["iccid"], "releaseFlag": True}
        )
        assert status(answer) == "Executed-Success"
        assert MATCHING_ID.fullmatch(answer["matchingId"])
        assert answer["eid"] == EID_A
        assert answer["smdpAddress"] == "127.0.0.1:8702"
        row = await profile(sessions, ordered["iccid"])
        assert (row.state, row.matching_id, row.confirmation_code_hash) == (
            "Released", answer["matchingId"], None
        )  # fmt: skip

    async def test_release_flag_false_then_release_profile(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        ordered = await es2(sessions, clock, "downloadOrder", {"profileType": POSTPAID})
        iccid = ordered["iccid"]
        confirmed = await es2(
            sessions, clock, "confirmOrder",
            {"iccid": iccid, "releaseFlag": False, "eid": EID_B, "matchingId": "QR-G-5C-1LS"},
        )  # fmt: skip
        assert confirmed["matchingId"] == "QR-G-5C-1LS"
        assert confirmed["eid"] == EID_B  # an Allocated profile gets the EID at confirmation
        assert (await profile(sessions, iccid)).state == "Confirmed"
        assert status(await es2(sessions, clock, "releaseProfile", {"iccid": iccid})) == (
            "Executed-Success"
        )
        assert (await profile(sessions, iccid)).state == "Released"
        assert await events(sessions, iccid) == [
            (None, "Available", "generate"),
            ("Available", "Allocated", "downloadOrder"),
            ("Allocated", "Confirmed", "confirmOrder"),
            ("Confirmed", "Released", "releaseProfile"),
        ]

    async def test_confirmation_code_is_stored_only_as_sha256(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock, confirmationCode="4711")
        row = await profile(sessions, iccid)
        assert row.confirmation_code_hash == hashlib.sha256(b"4711").hexdigest()
        async with session_scope(sessions) as session:
            query = select(SmdpProfileEvent).where(SmdpProfileEvent.function == "confirmOrder")
            event = (await session.scalars(query)).one()
        assert event.detail["activationCode"] == f"1$127.0.0.1:8702${matching_id}$$1"
        assert "4711" not in orjson.dumps(event.detail).decode()

    async def test_matching_id_conflict(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        await released(sessions, clock, matchingId="AB12-CD34")
        ordered = await es2(sessions, clock, "downloadOrder", {"profileType": PREPAID})
        clash = await es2(
            sessions, clock, "confirmOrder",
            {"iccid": ordered["iccid"], "releaseFlag": True, "matchingId": "AB12-CD34"},
        )  # fmt: skip
        assert code(clash) == ("8.2.6", "3.3")
        assert (await profile(sessions, ordered["iccid"])).state == "Allocated"

    async def test_eid_different_from_the_linked_one(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        ordered = await es2(
            sessions, clock, "downloadOrder", {"eid": EID_A, "profileType": PREPAID}
        )
        answer = await es2(
            sessions, clock, "confirmOrder",
            {"iccid": ordered["iccid"], "releaseFlag": True, "eid": EID_B},
        )  # fmt: skip
        assert code(answer) == ("8.1.1", "3.10")
        assert (await profile(sessions, ordered["iccid"])).state == "Linked"

    @pytest.mark.parametrize(
        ("extra", "expected"),
        [
            ({"releaseFlag": None}, ("8.2.1", "2.2")),
            ({"releaseFlag": "true"}, ("8.2.1", "2.1")),
            ({"iccid": None}, ("8.2.1", "2.2")),
            ({"matchingId": "ab12-cd34"}, ("8.2.6", "2.1")),
            ({"matchingId": "AB$12"}, ("8.2.6", "2.1")),
            ({"matchingId": ""}, ("8.2.6", "2.1")),
            ({"confirmationCode": ""}, ("8.2.7", "2.1")),
            ({"eid": "123"}, ("8.1.1", "2.1")),
        ],
    )
    async def test_malformed(
        self,
        sessions: Sessions,
        clock: FrozenClock,
        world: World,
        extra: dict[str, Any],
        expected: tuple[str, str],
    ) -> None:
        ordered = await es2(sessions, clock, "downloadOrder", {"profileType": PREPAID})
        body = {"iccid": ordered["iccid"], "releaseFlag": True, **extra}
        answer = await es2(
            sessions, clock, "confirmOrder", {k: v for k, v in body.items() if v is not None}
        )
        assert code(answer) == expected
        assert (await profile(sessions, ordered["iccid"])).state == "Allocated"

    async def test_wrong_state(self, sessions: Sessions, clock: FrozenClock, world: World) -> None:
        available = await es2(
            sessions, clock, "confirmOrder", {"iccid": world.prepaid[0], "releaseFlag": True}
        )
        assert code(available) == ("8.2.1", "3.5")
        iccid, _ = await released(sessions, clock)
        twice = await es2(sessions, clock, "confirmOrder", {"iccid": iccid, "releaseFlag": True})
        assert code(twice) == ("8.2.1", "3.5")


class TestCancelOrder:
    async def test_back_to_available_clears_the_order(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock, confirmationCode="1234")
        answer = await es2(
            sessions, clock, "cancelOrder",
            {"iccid": iccid, "finalProfileStatusIndicator": "Available", "eid": EID_A,
             "matchingId": matching_id},
        )  # fmt: skip
        assert status(answer) == "Executed-Success"
        row = await profile(sessions, iccid)
        assert (row.state, row.eid, row.matching_id, row.confirmation_code_hash) == (
            "Available", None, None, None
        )  # fmt: skip
        assert (await events(sessions, iccid))[-1] == ("Released", "Available", "cancelOrder")
        again = await es2(sessions, clock, "downloadOrder", {"iccid": iccid, "eid": EID_B})
        assert status(again) == "Executed-Success"

    async def test_retire_unavailable(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        ordered = await es2(
            sessions, clock, "downloadOrder", {"eid": EID_A, "profileType": PREPAID}
        )
        body = {"iccid": ordered["iccid"], "finalProfileStatusIndicator": "Unavailable"}
        assert status(await es2(sessions, clock, "cancelOrder", body)) == "Executed-Success"
        assert (await profile(sessions, ordered["iccid"])).state == "Unavailable"
        again = await es2(sessions, clock, "downloadOrder", {"iccid": ordered["iccid"]})
        assert code(again) == ("8.2.1", "3.3")

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({}, ("8.2.1", "2.2")),
            ({"finalProfileStatusIndicator": "Gone"}, ("8.2.1", "2.1")),
            ({"finalProfileStatusIndicator": "Available", "eid": EID_B}, ("8.1.1", "3.10")),
            (
                {"finalProfileStatusIndicator": "Available", "matchingId": "NOT-THIS-ONE"},
                ("8.2.6", "3.10"),
            ),
        ],
    )
    async def test_failures(
        self,
        sessions: Sessions,
        clock: FrozenClock,
        world: World,
        body: dict[str, Any],
        expected: tuple[str, str],
    ) -> None:
        iccid, _ = await released(sessions, clock)
        answer = await es2(sessions, clock, "cancelOrder", {"iccid": iccid, **body})
        assert code(answer) == expected
        assert (await profile(sessions, iccid)).state == "Released"

    async def test_wrong_state(self, sessions: Sessions, clock: FrozenClock, world: World) -> None:
        body = {"iccid": world.prepaid[0], "finalProfileStatusIndicator": "Unavailable"}
        assert code(await es2(sessions, clock, "cancelOrder", body)) == ("8.2.1", "3.5")
        assert (await profile(sessions, world.prepaid[0])).state == "Available"


class TestReleaseProfile:
    async def test_failures(self, sessions: Sessions, clock: FrozenClock, world: World) -> None:
        ordered = await es2(
            sessions, clock, "downloadOrder", {"eid": EID_A, "profileType": PREPAID}
        )
        linked = await es2(sessions, clock, "releaseProfile", {"iccid": ordered["iccid"]})
        assert code(linked) == ("8.2.1", "3.5")
        assert code(await es2(sessions, clock, "releaseProfile", {})) == ("8.2.1", "2.2")
        unknown = await es2(sessions, clock, "releaseProfile", {"iccid": UNKNOWN_ICCID})
        assert code(unknown) == ("8.2.1", "3.9")


class TestBinding:
    @pytest.mark.parametrize(
        ("request_", "expected"),
        [
            (Es2Request("downloadOrder", b"{}", None, "application/json"), ("1.2.2", "2.1")),
            (Es2Request("downloadOrder", b"{}", "http/1.1", "application/json"), ("1.2.2", "2.1")),
            (Es2Request("downloadOrder", b"{}", "gsma/rsp/v2.5.0", "text/plain"), ("1.2.1", "2.1")),
            (Es2Request("downloadOrder", b"{nope", "gsma/rsp/v2.5.0", None), ("1.3.1", "2.1")),
            (Es2Request("downloadOrder", b"[1]", "gsma/rsp/v2.5.0", None), ("1.3.1", "2.1")),
            (Es2Request("downloadOrder", b"{}", "gsma/rsp/v2.5.0", None), ("1.3.1", "2.2")),
            (
                Es2Request("downloadOrder", b'{"header": {"functionRequesterIdentifier": "x"}}',
                           "gsma/rsp/v2.5.0", None),
                ("1.3.1", "2.2"),
            ),
            (Es2Request("getProfileStatus", b"{}", "gsma/rsp/v2.5.0", None), ("1.6", "3.1")),
        ],
    )  # fmt: skip
    async def test_envelope_failures(
        self,
        sessions: Sessions,
        clock: FrozenClock,
        world: World,
        request_: Es2Request,
        expected: tuple[str, str],
    ) -> None:
        answer = await es2_raw(sessions, clock, request_)
        assert status(answer) == "Failed"
        assert code(answer) == expected

    async def test_oversized_call_id(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        answer = await es2(
            sessions, clock, "downloadOrder", {"profileType": PREPAID}, call_id="x" * 129
        )
        assert code(answer) == ("1.3.1", "2.1")
        assert await count_rows(sessions, SmdpFunctionCall) == 0


class TestReplay:
    async def test_same_body_answers_the_stored_response_and_does_nothing_twice(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        request = es2_request("downloadOrder", {"eid": EID_A, "profileType": PREPAID})
        first = await es2_raw(sessions, clock, request)
        events_after_first = await count_rows(sessions, SmdpProfileEvent)
        second = await es2_raw(sessions, clock, request)
        assert second == first
        assert await count_rows(sessions, SmdpProfileEvent) == events_after_first
        assert (await profile(sessions, world.prepaid[1])).state == "Available"

    async def test_different_body_is_refused_as_replayed(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        call_id = fci()
        await es2(sessions, clock, "downloadOrder", {"profileType": PREPAID}, call_id=call_id)
        other = await es2(
            sessions, clock, "downloadOrder", {"profileType": POSTPAID}, call_id=call_id
        )
        assert code(other) == ("1.6", "3.3")
        assert "replayed" in other["header"]["functionExecutionStatus"]["statusCodeData"]["message"]
        assert (await profile(sessions, world.postpaid[0])).state == "Available"
        same_body_other_function = await es2(
            sessions, clock, "releaseProfile", {"profileType": PREPAID}, call_id=call_id
        )
        assert code(same_body_other_function) == ("1.6", "3.3")

    async def test_a_failed_answer_is_replayed_too(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        request = es2_request("releaseProfile", {"iccid": world.prepaid[0]})
        first = await es2_raw(sessions, clock, request)
        assert code(first) == ("8.2.1", "3.5")
        assert await es2_raw(sessions, clock, request) == first

    async def test_call_ids_are_per_requester(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        call_id = fci()
        contoso = await es2(
            sessions, clock, "downloadOrder", {"profileType": PREPAID}, call_id=call_id
        )
        fabrikam = await es2(
            sessions, clock, "downloadOrder", {"profileType": PREPAID},
            call_id=call_id, requester="fabrikam-bss",
        )  # fmt: skip
        assert (contoso["iccid"], fabrikam["iccid"]) == (world.prepaid[0], world.fabrikam[0])
