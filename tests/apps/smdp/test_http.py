"""The SM-DP+ over HTTP: ES2+ binding, the device flow, callbacks to a real server."""

from __future__ import annotations

import re

import httpx
import pytest

from mobileplans.apps.smdp.app import SmdpApp, openapi_document
from mobileplans.domains.smdp.codes import ConcurrentUpdate
from mobileplans.domains.smdp.schemas import Outcome, PendingCallback
from mobileplans.kit.esim import ActivationCode
from tests.apps.smdp.support import DEVICE, ES2, device, es2
from tests.domains.smdp.support import (
    EID_A,
    PREPAID,
    PROTOCOL,
    CallbackServer,
    Sessions,
    World,
    fci,
    profile,
)

W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def failed(body: dict[str, object]) -> tuple[str, str]:
    data = body["header"]["functionExecutionStatus"]["statusCodeData"]  # type: ignore[index]
    return data["subjectCode"], data["reasonCode"]  # type: ignore[index]


class TestEs2plusBinding:
    async def test_every_function_over_http(self, client: httpx.AsyncClient, world: World) -> None:
        ordered = await es2(client, "downloadOrder", {"profileType": PREPAID})
        iccid = ordered["iccid"]
        confirmed = await es2(client, "confirmOrder", {"iccid": iccid, "releaseFlag": False})
        released = await es2(client, "releaseProfile", {"iccid": iccid})
        cancelled = await es2(
            client, "cancelOrder", {"iccid": iccid, "finalProfileStatusIndicator": "Available"}
        )
        for answer in (ordered, confirmed, released, cancelled):
            assert answer["header"]["functionExecutionStatus"] == {"status": "Executed-Success"}
        assert confirmed["smdpAddress"] == "127.0.0.1:8702"

    @pytest.mark.parametrize(
        ("headers", "content", "expected"),
        [
            ({}, b'{"header": {}}', ("1.2.2", "2.1")),
            ({"X-Admin-Protocol": "gsma/v1"}, b'{"header": {}}', ("1.2.2", "2.1")),
            ({"X-Admin-Protocol": PROTOCOL, "Content-Type": "text/xml"}, b"<a/>", ("1.2.1", "2.1")),
            (
                {"X-Admin-Protocol": PROTOCOL, "Content-Type": "application/json"},
                b"{not json",
                ("1.3.1", "2.1"),
            ),
        ],
    )
    async def test_failures_are_http_200(
        self,
        client: httpx.AsyncClient,
        world: World,
        headers: dict[str, str],
        content: bytes,
        expected: tuple[str, str],
    ) -> None:
        response = await client.post(ES2 + "downloadOrder", content=content, headers=headers)
        assert response.status_code == 200
        assert response.json()["header"]["functionExecutionStatus"]["status"] == "Failed"
        assert failed(response.json()) == expected

    async def test_unknown_function_is_a_failed_answer(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        answer = await es2(client, "getProfileStatus", {"iccid": world.prepaid[0]})
        assert failed(answer) == ("1.6", "3.1")

    async def test_replay_over_http(self, client: httpx.AsyncClient, world: World) -> None:
        call_id = fci()
        first = await es2(client, "downloadOrder", {"profileType": PREPAID}, call_id=call_id)
        again = await es2(client, "downloadOrder", {"profileType": PREPAID}, call_id=call_id)
        other = await es2(
            client, "downloadOrder", {"profileType": PREPAID, "eid": EID_A}, call_id=call_id
        )
        assert again == first
        assert failed(other) == ("1.6", "3.3")


class TestDeviceFlow:
    async def test_download_with_callbacks_at_points_1_3_4(
        self,
        client: httpx.AsyncClient,
        smdp: SmdpApp,
        sessions: Sessions,
        world: World,
        callback_server: CallbackServer,
    ) -> None:
        ordered = await es2(client, "downloadOrder", {"eid": EID_A, "profileType": PREPAID})
        iccid = ordered["iccid"]
        confirmed = await es2(client, "confirmOrder", {"iccid": iccid, "releaseFlag": True})
        code = ActivationCode(confirmed["smdpAddress"], confirmed["matchingId"])
        assert ActivationCode.parse(str(code)).matching_id == confirmed["matchingId"]
        started = await device(
            client, "initiateDownload", {"eid": EID_A, "matchingId": code.matching_id}
        )
        transaction_id = started.json()["transactionId"]
        package = await device(client, "getBoundProfilePackage", {"transactionId": transaction_id})
        assert package.status_code == 200
        assert package.json()["boundProfilePackage"]
        installed = await device(
            client, "handleNotification",
            {"transactionId": transaction_id, "eid": EID_A, "iccid": iccid, "event": "install",
             "success": True},
        )  # fmt: skip
        assert installed.status_code == 204
        assert installed.content == b""
        await smdp.state.callbacks.drain()
        assert callback_server.points() == [
            (1, "Executed-Success"), (3, "Executed-Success"), (4, "Executed-Success")
        ]  # fmt: skip
        for body in callback_server.bodies:
            assert (body["iccid"], body["eid"], body["profileType"]) == (iccid, EID_A, PREPAID)
            assert W3C.fullmatch(body["timestamp"])
        assert (await profile(sessions, iccid)).state == "Installed"

    async def test_install_failure_is_reported_at_point_4(
        self,
        client: httpx.AsyncClient,
        smdp: SmdpApp,
        world: World,
        callback_server: CallbackServer,
    ) -> None:
        ordered = await es2(client, "downloadOrder", {"eid": EID_A, "profileType": PREPAID})
        confirmed = await es2(
            client, "confirmOrder", {"iccid": ordered["iccid"], "releaseFlag": True}
        )
        started = await device(
            client, "initiateDownload", {"eid": EID_A, "matchingId": confirmed["matchingId"]}
        )
        transaction_id = started.json()["transactionId"]
        await device(client, "getBoundProfilePackage", {"transactionId": transaction_id})
        await device(
            client, "handleNotification",
            {"transactionId": transaction_id, "eid": EID_A, "iccid": ordered["iccid"],
             "event": "install", "success": False, "reason": "insufficient memory"},
        )  # fmt: skip
        await smdp.state.callbacks.drain()
        last = callback_server.bodies[-1]
        assert last["notificationPointId"] == 4
        assert last["notificationPointStatus"] == {
            "status": "Failed",
            "statusCodeData": {
                "subjectCode": "8.2.10", "reasonCode": "4.2", "message": "insufficient memory"
            },
        }  # fmt: skip

    async def test_error_body_is_exactly_the_documented_shape(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await device(
            client, "initiateDownload", {"eid": EID_A, "matchingId": "NOPE-NOPE"}
        )
        assert response.status_code == 200
        assert response.json() == {
            "header": {
                "functionExecutionStatus": {
                    "status": "Failed",
                    "statusCodeData": {
                        "subjectCode": "8.2.6",
                        "reasonCode": "3.8",
                        "message": "unknown matchingId",
                    },
                }
            },
            "esimOperationStatus": "InvalidMatchingId",
        }

    async def test_malformed_device_request(self, client: httpx.AsyncClient, world: World) -> None:
        response = await client.post(DEVICE + "cancelSession", content=b"\xff\xfe")
        assert response.status_code == 200
        assert response.json()["esimOperationStatus"] == "Other"
        assert failed(response.json()) == ("1.3.1", "2.1")


class TestTransactionRunner:
    async def test_callbacks_go_out_only_after_a_commit(
        self, smdp: SmdpApp, callback_server: CallbackServer
    ) -> None:
        note = PendingCallback(
            callback_server.url,
            "contoso-bss",
            {"iccid": "1", "notificationPointId": 1, "notificationPointStatus": {}},
        )
        attempts: list[int] = []

        async def lose_then_win(_session: object, _now: object) -> Outcome:
            attempts.append(1)
            if len(attempts) < 3:
                raise ConcurrentUpdate("test")
            return Outcome({"ok": True}, (note,))

        assert (await smdp.state.run(lose_then_win, busy=lambda: Outcome(None))).response == {
            "ok": True
        }
        await smdp.state.callbacks.drain()
        assert len(attempts) == 3
        assert len(callback_server.bodies) == 1

        async def always_lose(_session: object, _now: object) -> Outcome:
            raise ConcurrentUpdate("test")

        busy = await smdp.state.run(always_lose, busy=lambda: Outcome({"busy": True}))
        assert busy.response == {"busy": True}
        await smdp.state.callbacks.drain()
        assert len(callback_server.bodies) == 1


def test_openapi_lists_the_documented_paths() -> None:
    paths = set(openapi_document()["paths"])
    assert {
        ES2 + f for f in ("downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile")
    } <= paths
    assert DEVICE + "initiateDownload" in paths
