"""ES2+ HandleDownloadProgressInfo at the operator (SGP.22 5.3.5): the SM-DP+ reports a
download; the line moves forward; malformed calls are refused with a 4xx problem."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mobileplans.db.session import session_scope
from mobileplans.domains.purchase import journal, repository
from mobileplans.domains.subscriber import service as subscriber
from mobileplans.domains.subscriber.schemas import LineStatus, SimKind
from mobileplans.kit.clock import FrozenClock
from mobileplans.kit.esim import ActivationCode
from tests.apps.operator.portal_fixtures import (
    EID,
    IMEI,
    OPERATOR,
    Sessions,
    Stack,
    buy,
    esim_launch,
    line_of,
    orders,
    running_stack,
    sign_up,
)
from tests.support import valid_iccid

PATH = f"/{OPERATOR}/gsma/rsp2/es2plus/handleDownloadProgressInfo"
ICCID = valid_iccid("890199900000012345")


@pytest.fixture
async def stack(sessions: Sessions, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with running_stack(sessions, clock, profiles=2) as running:
        async with session_scope(sessions) as session:
            await subscriber.create_line(
                session,
                OPERATOR,
                iccid=ICCID,
                sim_kind=SimKind.ESIM,
                status=LineStatus.RELEASED,
                now=clock.now(),
                eid=EID,
            )
        yield running


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.operator_url) as client:
        yield client


def progress(point: int, status: str = "Executed-Success", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "header": {"functionRequesterIdentifier": "smdp", "functionCallIdentifier": f"p{point}"},
        "iccid": ICCID,
        "profileType": "contoso-consumer",
        "timestamp": "2026-11-02T09:00:00Z",
        "notificationPointId": point,
        "notificationPointStatus": {"status": status},
        "eid": EID,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def status(sessions: Sessions) -> LineStatus:
    line = await line_of(sessions, ICCID)
    assert line is not None
    return line.status


async def test_download_then_installation_move_the_line_forward_only(
    http: httpx.AsyncClient, sessions: Sessions
) -> None:
    eligible = await http.post(PATH, json=progress(1))
    assert (eligible.status_code, eligible.content) == (204, b"")
    assert await status(sessions) is LineStatus.RELEASED
    assert (await http.post(PATH, json=progress(3))).status_code == 204
    assert await status(sessions) is LineStatus.DOWNLOADED
    assert (await http.post(PATH, json=progress(4))).status_code == 204
    assert await status(sessions) is LineStatus.INSTALLED
    assert (await http.post(PATH, json=progress(3))).status_code == 204  # late and out of order
    assert await status(sessions) is LineStatus.INSTALLED
    async with session_scope(sessions) as session:
        events = await repository.download_events(session, OPERATOR, ICCID)
    assert [(e.notification_point_id, e.status) for e in events] == [
        (1, "Executed-Success"),
        (3, "Executed-Success"),
        (4, "Executed-Success"),
        (3, "Executed-Success"),
    ]
    assert events[1].payload["header"]["functionCallIdentifier"] == "p3"


async def test_a_failed_installation_is_kept_but_moves_nothing(
    http: httpx.AsyncClient, sessions: Sessions
) -> None:
    failure = {
        "status": "Failed",
        "statusCodeData": {"subjectCode": "8.2.10", "reasonCode": "4.2", "message": "x"},
    }
    answer = await http.post(PATH, json=progress(4, notificationPointStatus=failure))
    assert answer.status_code == 204
    assert await status(sessions) is LineStatus.RELEASED
    async with session_scope(sessions) as session:
        [event] = await repository.download_events(session, OPERATOR, ICCID)
    assert event.status == "Failed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (progress(3, iccid=None), "iccid"),
        (progress(3, iccid="12345"), "iccid"),
        (progress(3, profileType=None), "profileType"),
        (progress(3, timestamp="2026-11-02T09:00:00"), "timestamp"),
        (progress(3, timestamp="yesterday"), "timestamp"),
        (progress(3, notificationPointId="3"), "notificationPointId"),
        (progress(3, notificationPointStatus=None), "notificationPointStatus"),
        (progress(3, notificationPointStatus={"statusCodeData": {}}), "notificationPointStatus"),
        (progress(3, eid="123"), "eid"),
        ([1, 2, 3], "body"),
    ],
)
async def test_malformed_calls_are_400_naming_the_field(
    http: httpx.AsyncClient, sessions: Sessions, body: Any, field: str
) -> None:
    answer = await http.post(PATH, json=body)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["field"].startswith(field)
    assert await status(sessions) is LineStatus.RELEASED


async def test_a_body_that_is_not_json_is_400(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        PATH, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()["field"]) == (400, "body")


async def test_unknown_iccid_and_unknown_operator_are_404(http: httpx.AsyncClient) -> None:
    unknown = await http.post(PATH, json=progress(3, iccid=valid_iccid("890199900000099999")))
    assert unknown.status_code == 404
    elsewhere = await http.post(
        "/nobody/gsma/rsp2/es2plus/handleDownloadProgressInfo", json=progress(3)
    )
    assert elsewhere.status_code == 404


async def wait_for(sessions: Sessions, iccid: str, wanted: LineStatus) -> LineStatus:
    for _ in range(200):  # the SM-DP+ calls back after its commit, in the background
        line = await line_of(sessions, iccid)
        assert line is not None
        if line.status is wanted:
            break
        await asyncio.sleep(0.05)
    return line.status


async def test_a_real_download_through_the_smdp_reaches_the_operator(
    stack: Stack, sessions: Sessions
) -> None:
    async with stack.browser() as browser:
        plans = await sign_up(browser, await browser.launch(esim_launch(transactionId="dl.1")))
        done = await browser.submit(await buy(browser, plans, "contoso-1gb-day"))
    assert done.callback is not None
    code = ActivationCode.parse(done.callback["args"][1])
    [order] = await orders(sessions)
    assert order.iccid is not None
    async with httpx.AsyncClient(base_url=f"http://{code.smdp_address}/rsp/device/v1") as lpa:
        started = (
            await lpa.post(
                "/initiateDownload", json={"eid": EID, "matchingId": code.matching_id, "imei": IMEI}
            )
        ).json()
        transaction = started["transactionId"]
        bpp = await lpa.post("/getBoundProfilePackage", json={"transactionId": transaction})
        assert "boundProfilePackage" in bpp.json()
        assert await wait_for(sessions, order.iccid, LineStatus.DOWNLOADED) is LineStatus.DOWNLOADED
        installed = await lpa.post(
            "/handleNotification",
            json={
                "transactionId": transaction,
                "eid": EID,
                "iccid": order.iccid,
                "event": "install",
                "success": True,
            },
        )
        assert installed.status_code == 204
    assert await wait_for(sessions, order.iccid, LineStatus.INSTALLED) is LineStatus.INSTALLED
    async with session_scope(sessions) as session:
        points = [
            e.notification_point_id
            for e in await repository.download_events(session, OPERATOR, order.iccid)
        ]
        logged = await journal.entries(session, OPERATOR, "dl.1")
    assert points == [1, 3, 4]
    assert [d["point"] for e, d in logged if e == "download-progress"] == [1, 3, 4]
