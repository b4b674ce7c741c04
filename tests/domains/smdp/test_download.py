"""The device download interface (docs/activation.md): success path and every error mapping."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

import orjson
import pytest

from mobileplans.domains.smdp.schemas import Outcome
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.esim import confirmation_code_digest, hash_cc
from tests.domains.smdp.support import (
    CONFIG,
    EID_A,
    EID_B,
    POSTPAID,
    Sessions,
    World,
    code,
    device,
    download_session,
    es2,
    events,
    profile,
    released,
    status,
)

TRANSACTION_ID = re.compile(r"^[0-9A-F]{32}$")


def failure(outcome: Outcome) -> tuple[str, str, str]:
    assert outcome.response is not None
    assert status(outcome.response) == "Failed"
    subject, reason = code(outcome.response)
    return subject, reason, outcome.response["esimOperationStatus"]


async def initiate(
    sessions: Sessions, clock: FrozenClock, matching_id: str, eid: str = EID_A, **extra: Any
) -> Outcome:
    return await device(
        sessions, clock, "initiateDownload", {"eid": eid, "matchingId": matching_id, **extra}
    )


async def started(sessions: Sessions, clock: FrozenClock, **confirm: Any) -> tuple[str, str]:
    """A released profile with a download session: (ICCID, transactionId)."""
    iccid, matching_id = await released(sessions, clock, **confirm)
    outcome = await initiate(sessions, clock, matching_id)
    assert outcome.response is not None
    assert "transactionId" in outcome.response, outcome
    return iccid, outcome.response["transactionId"]


async def fetch(
    sessions: Sessions, clock: FrozenClock, transaction_id: str, hash_cc: str | None = None
) -> Outcome:
    body = {"transactionId": transaction_id}
    if hash_cc is not None:
        body["hashCc"] = hash_cc
    return await device(sessions, clock, "getBoundProfilePackage", body)


async def notify(
    sessions: Sessions,
    clock: FrozenClock,
    transaction_id: str,
    iccid: str,
    event: str = "install",
    success: bool = True,
    eid: str = EID_A,
) -> Outcome:
    body = {
        "transactionId": transaction_id, "eid": eid, "iccid": iccid,
        "event": event, "success": success,
    }  # fmt: skip
    return await device(sessions, clock, "handleNotification", body)


class TestSuccessPath:
    async def test_initiate_fetch_install(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock)
        started_ = await initiate(sessions, clock, matching_id, imei="356938035643809")
        assert started_.response is not None
        transaction_id = started_.response["transactionId"]
        assert TRANSACTION_ID.fullmatch(transaction_id)
        assert started_.response == {
            "transactionId": transaction_id,
            "ccRequired": False,
            "profileMetadata": {
                "iccid": iccid,
                "serviceProviderName": "Contoso",
                "profileName": "contoso PREPAID-5GB",
                "operatorId": "contoso",
                "profileClass": "operational",
            },
        }
        package = await fetch(sessions, clock, transaction_id)
        assert package.response is not None
        assert package.response["transactionId"] == transaction_id
        bpp = orjson.loads(base64.b64decode(package.response["boundProfilePackage"]))
        assert (bpp["iccid"], bpp["eid"], bpp["profileType"]) == (iccid, EID_A, "PREPAID-5GB")
        assert (await profile(sessions, iccid)).state == "Downloaded"
        installed = await notify(sessions, clock, transaction_id, iccid)
        assert installed.response is None  # 204
        assert (await profile(sessions, iccid)).state == "Installed"
        assert (await download_session(sessions, transaction_id)).state == "Completed"
        assert await events(sessions, iccid) == [
            (None, "Available", "generate"),
            ("Available", "Linked", "downloadOrder"),
            ("Linked", "Released", "confirmOrder"),
            ("Released", "Downloaded", "getBoundProfilePackage"),
            ("Downloaded", "Installed", "handleNotification"),
        ]

    async def test_an_order_without_eid_binds_the_first_device(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock, eid=None, profile_type=POSTPAID)
        first = await initiate(sessions, clock, matching_id, eid=EID_B)
        assert first.response is not None
        assert "transactionId" in first.response
        row = await profile(sessions, iccid)
        assert (row.eid, row.state, row.download_attempts) == (EID_B, "Released", 1)
        assert (await events(sessions, iccid))[-1] == ("Released", "Released", "initiateDownload")
        assert failure(await initiate(sessions, clock, matching_id, eid=EID_A)) == (
            "8.1.1", "3.8", "EidMismatch"
        )  # fmt: skip

    async def test_install_failure_then_retry_with_the_same_activation_code(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock)
        first = (await initiate(sessions, clock, matching_id)).response
        assert first is not None
        await fetch(sessions, clock, first["transactionId"])
        failed = await notify(sessions, clock, first["transactionId"], iccid, success=False)
        assert failed.response is None
        assert (await profile(sessions, iccid)).state == "Error"
        second = (await initiate(sessions, clock, matching_id)).response  # spec 2.2.5 reuse
        assert second is not None
        await fetch(sessions, clock, second["transactionId"])
        await notify(sessions, clock, second["transactionId"], iccid)
        assert (await profile(sessions, iccid)).state == "Installed"

    async def test_a_new_session_supersedes_the_old_one(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock)
        old = (await initiate(sessions, clock, matching_id)).response
        await fetch(sessions, clock, old["transactionId"])  # type: ignore[index]
        new = (await initiate(sessions, clock, matching_id)).response  # retry from Downloaded
        assert new is not None
        assert failure(await notify(sessions, clock, old["transactionId"], iccid)) == (  # type: ignore[index]
            "8.10.1", "3.9", "NoCorrespondingRequest"
        )  # fmt: skip
        assert (await fetch(sessions, clock, new["transactionId"])).response is not None
        assert (await events(sessions, iccid))[-1] == (
            "Downloaded", "Downloaded", "getBoundProfilePackage"
        )  # fmt: skip


class TestInitiateDownloadErrors:
    async def test_unknown_matching_id(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        assert failure(await initiate(sessions, clock, "NO-SUCH-ID")) == (
            "8.2.6", "3.8", "InvalidMatchingId"
        )  # fmt: skip

    async def test_bound_to_another_eid(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock)
        assert failure(await initiate(sessions, clock, matching_id, eid=EID_B)) == (
            "8.1.1", "3.8", "EidMismatch"
        )  # fmt: skip
        assert (await profile(sessions, iccid)).download_attempts == 0

    async def test_not_released(self, sessions: Sessions, clock: FrozenClock, world: World) -> None:
        ordered = await es2(
            sessions, clock, "downloadOrder", {"eid": EID_A, "iccid": world.prepaid[0]}
        )
        confirmed = await es2(
            sessions, clock, "confirmOrder", {"iccid": ordered["iccid"], "releaseFlag": False}
        )
        assert failure(await initiate(sessions, clock, confirmed["matchingId"])) == (
            "8.2", "1.2", "ProfileNotReleasedByOperator"
        )  # fmt: skip

    async def test_installed_profile_is_not_available_again(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock)
        started_ = (await initiate(sessions, clock, matching_id)).response
        await fetch(sessions, clock, started_["transactionId"])  # type: ignore[index]
        await notify(sessions, clock, started_["transactionId"], iccid)  # type: ignore[index]
        assert failure(await initiate(sessions, clock, matching_id)) == (
            "8.2.1", "3.3", "ProfileNotAvailableForNewBinding"
        )  # fmt: skip
        cancel = {"iccid": iccid, "finalProfileStatusIndicator": "Available"}
        assert code(await es2(sessions, clock, "cancelOrder", cancel)) == ("8.2.1", "3.5")

    async def test_download_attempts_are_limited(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock)
        for _ in range(CONFIG.max_download_attempts):
            assert "transactionId" in (await initiate(sessions, clock, matching_id)).response  # type: ignore[operator]
        assert failure(await initiate(sessions, clock, matching_id)) == (
            "8.8.5", "6.4", "ProfileNotAvailableForNewBinding"
        )  # fmt: skip
        assert (await profile(sessions, iccid)).state == "Error"

    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[]",
            orjson.dumps({"matchingId": "AB12"}),
            orjson.dumps({"eid": EID_A, "matchingId": 12}),
            orjson.dumps({"eid": "1234", "matchingId": "AB12"}),
            orjson.dumps({"eid": EID_A, "matchingId": "AB12", "imei": "356938035643808"}),
        ],
    )
    async def test_malformed(
        self, sessions: Sessions, clock: FrozenClock, world: World, body: bytes
    ) -> None:
        assert failure(await device(sessions, clock, "initiateDownload", body)) == (
            "1.3.1", "2.1", "Other"
        )  # fmt: skip


class TestBoundProfilePackageErrors:
    async def test_unknown_and_expired_transaction(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        assert failure(await fetch(sessions, clock, "0" * 32)) == (
            "8.10.1", "3.9", "NoCorrespondingRequest"
        )  # fmt: skip
        iccid, transaction_id = await started(sessions, clock)
        clock.advance(timedelta(seconds=CONFIG.session_ttl_seconds))
        assert failure(await fetch(sessions, clock, transaction_id))[2] == "NoCorrespondingRequest"
        assert (await download_session(sessions, transaction_id)).state == "Expired"
        assert (await profile(sessions, iccid)).state == "Released"

    async def test_fetching_twice_in_one_session(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        _, transaction_id = await started(sessions, clock)
        assert (await fetch(sessions, clock, transaction_id)).response is not None
        assert failure(await fetch(sessions, clock, transaction_id))[:2] == ("8.10.1", "3.9")

    @pytest.mark.parametrize("body", [b"{}", orjson.dumps({"transactionId": 5})])
    async def test_malformed(
        self, sessions: Sessions, clock: FrozenClock, world: World, body: bytes
    ) -> None:
        outcome = await device(sessions, clock, "getBoundProfilePackage", body)
        assert failure(outcome) == ("1.3.1", "2.1", "Other")


class TestConfirmationCode:
    async def test_right_hash_downloads(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock, confirmationCode="4711")
        started_ = (await initiate(sessions, clock, matching_id)).response
        assert started_ is not None
        assert started_["ccRequired"] is True
        transaction_id = started_["transactionId"]
        good = hash_cc(confirmation_code_digest("4711"), transaction_id).upper()
        assert (await fetch(sessions, clock, transaction_id, good)).response is not None
        assert (await profile(sessions, iccid)).state == "Downloaded"

    async def test_missing_wrong_and_too_many(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, transaction_id = await started(sessions, clock, confirmationCode="4711")
        wrong = hash_cc(confirmation_code_digest("0000"), transaction_id)
        assert failure(await fetch(sessions, clock, transaction_id)) == (
            "8.2.7", "2.2", "ConfirmationCodeMissing"
        )  # fmt: skip
        assert (await profile(sessions, iccid)).cc_attempts == 0
        for attempt in range(1, CONFIG.max_cc_attempts):
            assert failure(await fetch(sessions, clock, transaction_id, wrong)) == (
                "8.2.7", "3.8", "IncorrectConfirmationCode"
            )  # fmt: skip
            assert (await profile(sessions, iccid)).cc_attempts == attempt
        assert failure(await fetch(sessions, clock, transaction_id, wrong)) == (
            "8.2.7", "6.4", "ConfirmationCodeMaxRetriesExceeded"
        )  # fmt: skip
        assert (await profile(sessions, iccid)).state == "Error"
        row = await profile(sessions, iccid)
        retry = (await initiate(sessions, clock, row.matching_id or "")).response
        assert retry is not None
        right = hash_cc(confirmation_code_digest("4711"), retry["transactionId"])
        assert failure(await fetch(sessions, clock, retry["transactionId"], right))[1] == "6.4"

    async def test_attempts_run_out_in_a_retry_after_a_failed_install(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, matching_id = await released(sessions, clock, confirmationCode="4711")
        first = (await initiate(sessions, clock, matching_id)).response
        assert first is not None
        right = hash_cc(confirmation_code_digest("4711"), first["transactionId"])
        await fetch(sessions, clock, first["transactionId"], right)
        await notify(sessions, clock, first["transactionId"], iccid, success=False)
        assert (await profile(sessions, iccid)).state == "Error"
        retry = (await initiate(sessions, clock, matching_id)).response
        assert retry is not None
        wrong = hash_cc(confirmation_code_digest("0000"), retry["transactionId"])
        answers = [
            failure(await fetch(sessions, clock, retry["transactionId"], wrong))[2]
            for _ in range(CONFIG.max_cc_attempts)
        ]
        assert answers[-1] == "ConfirmationCodeMaxRetriesExceeded"
        row = await profile(sessions, iccid)
        assert (row.state, row.cc_attempts) == ("Error", CONFIG.max_cc_attempts)


class TestHandleNotification:
    async def test_errors(self, sessions: Sessions, clock: FrozenClock, world: World) -> None:
        iccid, transaction_id = await started(sessions, clock)
        assert failure(await notify(sessions, clock, transaction_id, iccid)) == (
            "8.10.1",
            "3.9",
            "NoCorrespondingRequest",
        )  # fmt: skip  (nothing downloaded yet)
        await fetch(sessions, clock, transaction_id)
        assert failure(await notify(sessions, clock, "F" * 32, iccid))[:2] == ("8.10.1", "3.9")
        assert failure(await notify(sessions, clock, transaction_id, iccid, eid=EID_B)) == (
            "8.1.1", "3.8", "EidMismatch"
        )  # fmt: skip
        other = world.prepaid[-1]
        assert failure(await notify(sessions, clock, transaction_id, other))[:2] == (
            "8.2.1", "3.10"
        )  # fmt: skip
        enable = await notify(sessions, clock, transaction_id, iccid, event="enable")
        assert failure(enable)[:2] == ("8.2.1", "3.5")
        bad = {"transactionId": transaction_id, "eid": EID_A, "iccid": iccid, "event": "explode",
               "success": True}  # fmt: skip
        assert failure(await device(sessions, clock, "handleNotification", bad))[0] == "1.3.1"
        assert (await profile(sessions, iccid)).state == "Downloaded"

    async def test_repeat_enable_disable_delete(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, transaction_id = await started(sessions, clock)
        await fetch(sessions, clock, transaction_id)
        assert (await notify(sessions, clock, transaction_id, iccid)).response is None
        assert (await notify(sessions, clock, transaction_id, iccid)).response is None  # repeat
        for event in ("enable", "disable"):
            assert (await notify(sessions, clock, transaction_id, iccid, event)).response is None
        assert (await profile(sessions, iccid)).state == "Installed"
        assert (await notify(sessions, clock, transaction_id, iccid, "delete")).response is None
        assert (await profile(sessions, iccid)).state == "Unavailable"
        assert (await events(sessions, iccid))[-4:] == [
            ("Downloaded", "Installed", "handleNotification"),
            ("Installed", "Installed", "handleNotification"),
            ("Installed", "Installed", "handleNotification"),
            ("Installed", "Unavailable", "handleNotification"),
        ]


class TestCancelSession:
    async def test_before_download_keeps_the_profile_released(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, transaction_id = await started(sessions, clock)
        body = {"transactionId": transaction_id, "reason": "endUserRejection"}
        assert (await device(sessions, clock, "cancelSession", body)).response == {
            "transactionId": transaction_id
        }
        assert (await device(sessions, clock, "cancelSession", body)).response == {
            "transactionId": transaction_id
        }
        assert (await profile(sessions, iccid)).state == "Released"
        assert failure(await fetch(sessions, clock, transaction_id))[:2] == ("8.10.1", "3.9")

    async def test_after_download_the_profile_goes_to_error(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, transaction_id = await started(sessions, clock)
        await fetch(sessions, clock, transaction_id)
        body = {"transactionId": transaction_id, "reason": "loadBppExecutionError"}
        assert (await device(sessions, clock, "cancelSession", body)).response is not None
        assert (await profile(sessions, iccid)).state == "Error"

    async def test_errors(self, sessions: Sessions, clock: FrozenClock, world: World) -> None:
        unknown = {"transactionId": "A" * 32, "reason": "timeout"}
        assert failure(await device(sessions, clock, "cancelSession", unknown))[:2] == (
            "8.10.1", "3.9"
        )  # fmt: skip
        _, transaction_id = await started(sessions, clock)
        missing = {"transactionId": transaction_id}
        assert failure(await device(sessions, clock, "cancelSession", missing))[0] == "1.3.1"

    async def test_cancel_order_ends_the_download_sessions(
        self, sessions: Sessions, clock: FrozenClock, world: World
    ) -> None:
        iccid, transaction_id = await started(sessions, clock)
        cancel = {"iccid": iccid, "finalProfileStatusIndicator": "Available"}
        assert status(await es2(sessions, clock, "cancelOrder", cancel)) == "Executed-Success"
        assert (await download_session(sessions, transaction_id)).state == "Cancelled"
        assert failure(await fetch(sessions, clock, transaction_id))[:2] == ("8.10.1", "3.9")
