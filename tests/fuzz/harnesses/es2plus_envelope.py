"""An ES2+ request as the SM-DP+ reads it (esim-rsp 1.2-1.4; domains/smdp/envelope.py).

Input: three lines (the function from the URL path, ``X-Admin-Protocol``,
``Content-Type``) then the body. Contract: ``open_envelope`` returns an ``Envelope`` or
raises ``RspError`` (answered as HTTP 200 ``Failed``); so do the member readers every
function uses. The client's ``kit.es2plus.read_status`` reads any JSON as a status or
``None`` and never raises. Properties: the envelope's header texts are printable and
within their limits; a status read back from its wire form is the same status.
"""

from __future__ import annotations

import json

from tests.fuzz.support import check, instrumented, main

with instrumented():
    from mobileplans.domains.smdp import envelope
    from mobileplans.domains.smdp.codes import RspError
    from mobileplans.kit import es2plus as codec

TEXT_MEMBERS = ("profileType", "matchingId", "confirmationCode", "finalProfileStatusIndicator")


def _request(data: bytes) -> envelope.Es2Request:
    parts = data.split(b"\n", 3)
    parts += [b""] * (4 - len(parts))
    function, protocol, content_type, body = parts
    return envelope.Es2Request(
        function=function.decode("latin-1"),
        body=body,
        admin_protocol=protocol.decode("latin-1") or None,
        content_type=content_type.decode("latin-1") or None,
    )


def _members(body: dict[str, object]) -> None:
    readers = [
        lambda: envelope.iccid(body, required=True),
        lambda: envelope.eid(body),
        lambda: envelope.flag(body, "releaseFlag"),
        lambda: envelope.no_smds(body),
        *[lambda name=name: envelope.text(body, name) for name in TEXT_MEMBERS],
    ]
    for read in readers:
        try:
            read()
        except RspError as exc:
            check(bool(exc.code), "RspError without a code", body)


def _status(body: object) -> None:
    status = codec.read_status(body)
    if status is not None:
        again = codec.read_status(json.loads(json.dumps(codec.response_body(status))))
        check(again == status, "status does not round-trip", body, status, again)


def TestOneInput(data: bytes) -> None:
    request = _request(data)
    try:
        body = envelope.parse_object(request.body)
    except RspError:
        body = None
    if body is not None:
        _members(body)
        _status(body)
    try:
        env = envelope.open_envelope(request)
    except RspError:
        return
    for value, limit in ((env.requester_id, 64), (env.call_id, 128)):
        check(value.isprintable() and 0 < len(value) <= limit, "header text", value)


if __name__ == "__main__":
    main(TestOneInput)
