"""The SM-DP+ fast path (``apps/smdp/fastpath.py``) answers byte for byte as the FastAPI
routes do: status, every header in order, body, and the metrics it records, over ES2+
(SGP.22 5.3.1-5.3.4, esim-rsp 1.2 binding failures) and the device download interface
(docs/activation.md: successes, 204, failures, malformed bodies), plus Starlette's 500.

Each case is the same ASGI request sent twice to one app on one database: once through
``SmdpApp.framework`` (FastAPI alone) and once through the app (fast path in front).
Where the first call changes state, the second is a call that answers the same by the
specification: a replayed ES2+ ``functionCallIdentifier`` gets the stored answer, a
repeated install notification is a no-op 204, a second cancelSession answers the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from mobileplans.apps.smdp.app import SmdpApp
from mobileplans.web.metrics import REQUESTS
from tests.domains.smdp.support import EID_A, EID_B, PREPAID, PROTOCOL, World, fci

ES2 = "/gsma/rsp2/es2plus/"
DEVICE = "/rsp/device/v1/"
JSON_TYPE = (b"content-type", b"application/json")


@dataclass(frozen=True)
class Sent:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    fast: bool  # answered without FastAPI's router


def scope_of(path: str, headers: list[tuple[bytes, bytes]], method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"smdp.test"), *headers],
        "client": ("10.0.0.7", 50000),
        "server": ("smdp.test", 80),
    }


async def call(
    app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]], method: str = "POST"
) -> Sent:
    scope = scope_of(path, headers, method)
    messages: list[dict[str, Any]] = []
    chunks = [body[:5], body[5:]]  # the body in two messages, as a client may send it

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start, rest = messages[0], messages[1:]
    headers_sent = [(bytes(k), bytes(v)) for k, v in start["headers"]]
    return Sent(
        start["status"],
        headers_sent,
        b"".join(m.get("body", b"") for m in rest),
        fast="app" not in scope,
    )  # fmt: skip  (Starlette sets it)


def counted(route: str, status: int) -> float:
    return float(REQUESTS.labels("smdp", "POST", route, str(status))._value.get())


async def both(
    smdp: SmdpApp, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[Sent, Sent]:
    """The request through FastAPI, then through the fast path; metrics counted once each."""
    slow = await call(smdp.framework, path, body, headers)
    before = counted(path, slow.status)
    fast = await call(smdp, path, body, headers)
    assert counted(path, fast.status) == before + 1
    assert not slow.fast
    assert fast.fast
    return slow, fast


def es2_body(body: dict[str, Any], *, requester: str = "contoso-bss", call_id: str) -> bytes:
    header = {"functionRequesterIdentifier": requester, "functionCallIdentifier": call_id}
    return orjson.dumps({"header": header, **body})


ES2_HEADERS = [(b"x-admin-protocol", PROTOCOL.encode()), JSON_TYPE]


def status_of(sent: Sent) -> str:
    return str(orjson.loads(sent.body)["header"]["functionExecutionStatus"]["status"])


class TestEs2plus:
    @pytest.mark.parametrize(
        ("function", "body"),
        [
            ("downloadOrder", {"profileType": PREPAID, "eid": EID_A}),  # success: replayed
            ("downloadOrder", {"profileType": "NO-SUCH-TYPE"}),
            ("confirmOrder", {"iccid": "8901999000000000000", "releaseFlag": True}),
            ("cancelOrder", {"iccid": "x", "finalProfileStatusIndicator": "Available"}),
            ("releaseProfile", {}),
        ],
    )
    async def test_answers_and_replays_alike(
        self, smdp: SmdpApp, world: World, function: str, body: dict[str, Any]
    ) -> None:
        raw = es2_body(body, call_id=fci())
        slow, fast = await both(smdp, ES2 + function, raw, ES2_HEADERS)
        assert slow == Sent(fast.status, fast.headers, fast.body, False)
        assert slow.headers == [(b"content-length", str(len(slow.body)).encode()), JSON_TYPE]

    @pytest.mark.parametrize(
        ("headers", "raw"),
        [
            ([JSON_TYPE], b'{"header": {}}'),  # no X-Admin-Protocol: 1.2.2/2.1
            ([(b"x-admin-protocol", b"gsma/v1"), JSON_TYPE], b'{"header": {}}'),
            ([(b"x-admin-protocol", PROTOCOL.encode()), (b"content-type", b"text/xml")], b"<a/>"),
            (ES2_HEADERS, b"{not json"),
            (ES2_HEADERS, b"[1, 2]"),
            (ES2_HEADERS, b'{"header": {"functionRequesterIdentifier": "contoso-bss"}}'),
            ([(b"x-admin-protocol", PROTOCOL.encode())], es2_body({}, call_id="no-type")),
            (ES2_HEADERS, es2_body({"profileType": PREPAID}, requester="nobody", call_id="c1")),
        ],
    )
    async def test_binding_failures_alike(
        self, smdp: SmdpApp, world: World, headers: list[tuple[bytes, bytes]], raw: bytes
    ) -> None:
        slow, fast = await both(smdp, ES2 + "downloadOrder", raw, headers)
        assert (slow.status, slow.headers, slow.body) == (fast.status, fast.headers, fast.body)
        assert status_of(fast) == "Failed"

    async def test_first_header_wins_as_in_starlette(self, smdp: SmdpApp, world: World) -> None:
        headers = [(b"x-admin-protocol", b"gsma/v1"), (b"x-admin-protocol", PROTOCOL.encode())]
        raw = es2_body({"profileType": PREPAID}, call_id=fci())
        slow, fast = await both(smdp, ES2 + "downloadOrder", raw, [*headers, JSON_TYPE])
        assert slow.body == fast.body
        assert status_of(fast) == "Failed"

    async def test_unsupported_function_goes_to_fastapi(self, smdp: SmdpApp, world: World) -> None:
        raw = es2_body({}, call_id=fci())
        sent = await call(smdp, ES2 + "getProfileStatus", raw, ES2_HEADERS)
        assert (sent.fast, sent.status, status_of(sent)) == (False, 200, "Failed")


class TestDevice:
    async def test_a_flow_through_the_fast_path(self, smdp: SmdpApp, world: World) -> None:
        order = await call(smdp, ES2 + "downloadOrder",
                           es2_body({"profileType": PREPAID, "eid": EID_A}, call_id=fci()),
                           ES2_HEADERS)  # fmt: skip
        iccid = orjson.loads(order.body)["iccid"]
        confirm = es2_body({"iccid": iccid, "releaseFlag": True}, call_id=fci())
        matching_id = orjson.loads((await call(smdp, ES2 + "confirmOrder", confirm, ES2_HEADERS))
                                   .body)["matchingId"]  # fmt: skip
        start = orjson.dumps({"eid": EID_A, "matchingId": matching_id})
        started = await call(smdp, DEVICE + "initiateDownload", start, [JSON_TYPE])
        assert (started.fast, started.status) == (True, 200)
        assert started.headers == [(b"content-length", str(len(started.body)).encode()), JSON_TYPE]
        tid = orjson.loads(started.body)["transactionId"]
        bpp = await call(smdp, DEVICE + "getBoundProfilePackage",
                         orjson.dumps({"transactionId": tid}), [JSON_TYPE])  # fmt: skip
        assert bpp.fast
        assert "boundProfilePackage" in orjson.loads(bpp.body)
        note = {"transactionId": tid, "eid": EID_A, "iccid": iccid, "event": "install",
                "success": True}  # fmt: skip
        installed = await call(smdp, DEVICE + "handleNotification", orjson.dumps(note), [])
        assert (installed.status, installed.headers, installed.body) == (204, [], b"")
        again = await both(smdp, DEVICE + "handleNotification", orjson.dumps(note), [])
        assert again == (Sent(204, [], b"", False), Sent(204, [], b"", True))

    async def test_cancel_session_twice_answers_alike(self, smdp: SmdpApp, world: World) -> None:
        order = es2_body({"profileType": PREPAID, "eid": EID_B}, call_id=fci())
        iccid = orjson.loads((await call(smdp, ES2 + "downloadOrder", order, ES2_HEADERS)).body)
        confirm = es2_body({"iccid": iccid["iccid"], "releaseFlag": True}, call_id=fci())
        confirmed = orjson.loads(
            (await call(smdp, ES2 + "confirmOrder", confirm, ES2_HEADERS)).body
        )
        start = orjson.dumps({"eid": EID_B, "matchingId": confirmed["matchingId"]})
        tid = orjson.loads((await call(smdp, DEVICE + "initiateDownload", start, [])).body)
        cancel = orjson.dumps({"transactionId": tid["transactionId"], "reason": "userCancel"})
        slow, fast = await both(smdp, DEVICE + "cancelSession", cancel, [])
        assert (slow.status, slow.headers, slow.body) == (fast.status, fast.headers, fast.body)
        assert orjson.loads(fast.body) == {"transactionId": tid["transactionId"]}

    @pytest.mark.parametrize(
        ("step", "raw"),
        [
            ("initiateDownload", b'{"eid": "%s", "matchingId": "NOPE-NOPE"}' % EID_A.encode()),
            ("initiateDownload", b"{not json"),
            ("initiateDownload", b'{"eid": 5, "matchingId": "X"}'),
            ("getBoundProfilePackage", b'{"transactionId": "00AA"}'),
            ("handleNotification", b'{"transactionId": "00AA", "eid": "%s", "iccid": '
             b'"8901999000000000008", "event": "install", "success": true}' % EID_A.encode()),
            ("handleNotification", b'{"transactionId": "00AA"}'),
            ("cancelSession", b'{"transactionId": "00AA", "reason": "x"}'),
            ("cancelSession", b""),
        ],
    )  # fmt: skip
    async def test_failures_alike(self, smdp: SmdpApp, world: World, step: str, raw: bytes) -> None:
        slow, fast = await both(smdp, DEVICE + step, raw, [JSON_TYPE])
        assert (slow.status, slow.headers, slow.body) == (fast.status, fast.headers, fast.body)
        assert orjson.loads(fast.body)["header"]["functionExecutionStatus"]["status"] == "Failed"

    async def test_other_methods_and_paths_go_to_fastapi(self, smdp: SmdpApp) -> None:
        wrong_method = await call(smdp, DEVICE + "initiateDownload", b"", [], method="GET")
        assert (wrong_method.status, wrong_method.fast) == (405, False)
        unknown = await call(smdp, DEVICE + "installProfile", b"{}", [JSON_TYPE])
        assert (unknown.status, unknown.fast) == (404, False)


async def test_an_error_is_starlettes_500(
    smdp: SmdpApp, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Work that raises: FastAPI's ServerErrorMiddleware sends a plain 500 and raises."""

    async def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr(smdp.state, "run", broken)
    sent: list[list[dict[str, Any]]] = []
    for app in (smdp.framework, smdp):
        messages: list[dict[str, Any]] = []
        with pytest.raises(RuntimeError, match="database gone"):
            await app(scope_of(DEVICE + "cancelSession", []), _receive_empty, _into(messages))
        sent.append(messages)
    normalized = [
        [(m["type"], m.get("status"), list(m.get("headers", [])), m.get("body")) for m in msgs]
        for msgs in sent
    ]
    assert normalized[0] == normalized[1]
    assert normalized[1][0][1] == 500


async def _receive_empty() -> dict[str, Any]:
    return {"type": "http.request", "body": b"{}", "more_body": False}


def _into(messages: list[dict[str, Any]]) -> Any:
    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    return send
