"""The ES2+ JSON binding (esim-rsp 1.2) as the server reads it: headers, request header,
body fields. Names and envelopes come from the codec both sides share (``kit.es2plus``).

Everything here raises :class:`RspError` with the code of the broken rule, so every
malformed request still gets an HTTP 200 ``Failed`` answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

import orjson

from mobileplans.domains.smdp.codes import (
    ADMIN_PROTOCOL_INVALID,
    CONTENT_TYPE_INVALID,
    FIELD_CODES,
    FUNCTION_UNSUPPORTED,
    HEADER_ELEMENT_MISSING,
    MALFORMED,
    RspError,
)
from mobileplans.kit import es2plus as codec
from mobileplans.kit.identifiers import IdentifierError, parse_eid, parse_iccid

ADMIN_PROTOCOL_PREFIX: Final = codec.ADMIN_PROTOCOL_PREFIX
ES2PLUS_FUNCTIONS: Final = codec.FUNCTIONS
MAX_BODY_BYTES: Final = 64 * 1024
MAX_REQUESTER_ID: Final = 64  # smdp_requesters.requester_id
MAX_CALL_ID: Final = 128  # smdp_function_calls.function_call_id
MAX_TEXT: Final = 64  # profileType, matchingId, confirmationCode


@dataclass(frozen=True, slots=True)
class Es2Request:
    """An ES2+ call as received: the function (URL path), two headers and the raw body."""

    function: str
    body: bytes
    admin_protocol: str | None
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Envelope:
    requester_id: str
    call_id: str
    body: dict[str, Any]
    digest: str


def open_envelope(request: Es2Request) -> Envelope:
    """Check the binding (function, headers, JSON object, request header) in that order."""
    if request.function not in ES2PLUS_FUNCTIONS:
        raise RspError(FUNCTION_UNSUPPORTED, f"function {request.function!r} is not served")
    protocol = (request.admin_protocol or "").strip()
    if not protocol.startswith(ADMIN_PROTOCOL_PREFIX):
        raise RspError(ADMIN_PROTOCOL_INVALID, f"unsupported X-Admin-Protocol {protocol!r}")
    media_type = (request.content_type or "application/json").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise RspError(CONTENT_TYPE_INVALID, f"unsupported Content-Type {media_type!r}")
    body = parse_object(request.body)
    header = body.get("header")
    if not isinstance(header, dict):
        raise RspError(HEADER_ELEMENT_MISSING, "header is mandatory")
    requester_id = _header_text(header, codec.REQUESTER_ID, MAX_REQUESTER_ID)
    call_id = _header_text(header, codec.CALL_ID, MAX_CALL_ID)
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(request.function.encode() + b"\n" + canonical).hexdigest()
    return Envelope(requester_id, call_id, body, digest)


def parse_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``MALFORMED`` (1.3.1/2.1)."""
    if len(raw) > MAX_BODY_BYTES:
        raise RspError(MALFORMED, f"request body larger than {MAX_BODY_BYTES} bytes")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RspError(MALFORMED, f"request body is not JSON: {exc.msg}") from exc
    if not isinstance(body, dict):
        raise RspError(MALFORMED, "request body must be a JSON object")
    return body


def _header_text(header: dict[str, Any], name: str, limit: int) -> str:
    value = header.get(name)
    if value is None or value == "":
        raise RspError(HEADER_ELEMENT_MISSING, f"header.{name} is mandatory")
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise RspError(MALFORMED, f"header.{name} must be printable text of at most {limit}")
    return value


def text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """An optional (or mandatory) string member; wrong type/empty/too long → its 2.1 code."""
    missing, invalid = FIELD_CODES[name]
    value = body.get(name)
    if value is None:
        if required:
            raise RspError(missing, f"{name} is mandatory")
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT or not value.isprintable():
        raise RspError(invalid, f"{name} must be non-empty printable text of at most {MAX_TEXT}")
    return value


def flag(body: dict[str, Any], name: str) -> bool:
    """A mandatory JSON boolean (``releaseFlag``)."""
    missing, invalid = FIELD_CODES[name]
    value = body.get(name)
    if value is None:
        raise RspError(missing, f"{name} is mandatory")
    if not isinstance(value, bool):
        raise RspError(invalid, f"{name} must be a JSON boolean")
    return value


def iccid(body: dict[str, Any], *, required: bool) -> str | None:
    """The ICCID, trailing ``F`` filler removed, Luhn-checked (esim-rsp 1.9)."""
    missing, invalid = FIELD_CODES["iccid"]
    value = body.get("iccid")
    if value is None:
        if required:
            raise RspError(missing, "iccid is mandatory")
        return None
    if not isinstance(value, str):
        raise RspError(invalid, "iccid must be a string of digits")
    try:
        return parse_iccid(value)
    except IdentifierError as exc:
        raise RspError(invalid, str(exc)) from exc


def eid(body: dict[str, Any]) -> str | None:
    """The optional EID: 32 digits with MOD 97-10 check digits (esim-rsp 1.10)."""
    _, invalid = FIELD_CODES["eid"]
    value = body.get("eid")
    if value is None:
        return None
    if not isinstance(value, str):
        raise RspError(invalid, "eid must be a string of 32 digits")
    try:
        return parse_eid(value)
    except IdentifierError as exc:
        raise RspError(invalid, str(exc)) from exc


def no_smds(body: dict[str, Any]) -> None:
    """``smdsAddress`` asks for SM-DS registration, which this SM-DP+ does not offer."""
    if body.get("smdsAddress") not in (None, ""):
        raise RspError(FIELD_CODES["smdsAddress"][1])
