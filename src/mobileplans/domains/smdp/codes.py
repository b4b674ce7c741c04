"""Every SGP.22 subject/reason code the SM-DP+ answers with, in one table.

Codes follow SGP.22 5.2.6 as summarised in esim-rsp 1.4; each entry also names the
``ESimOperationStatus`` (spec 2.1.3) the device download interface reports with it
(``docs/activation.md``, "Device download interface"). ES2+-only codes never reach a
device and carry ``Other``. ``docs/smdp.md`` prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mobileplans.kit import es2plus as codec
from mobileplans.kit.esim import ESimOperationStatus

S = ESimOperationStatus


@dataclass(frozen=True, slots=True)
class StatusCode:
    subject: str
    reason: str
    meaning: str
    esim_status: ESimOperationStatus = S.Other

    def data(self, message: str | None = None) -> dict[str, str]:
        """``statusCodeData`` of a failed ``functionExecutionStatus``."""
        return self.failure(message).wire()

    def failure(self, message: str | None = None) -> codec.StatusCodeData:
        return codec.StatusCodeData(self.subject, self.reason, message or self.meaning)


# Binding and generic (esim-rsp 1.2, 1.4)
CONTENT_TYPE_INVALID = StatusCode("1.2.1", "2.1", "Content-Type must be application/json")
ADMIN_PROTOCOL_INVALID = StatusCode("1.2.2", "2.1", "X-Admin-Protocol must be gsma/rsp/v<x.y.z>")
EXECUTION_ERROR = StatusCode("1.2", "4.2", "the SM-DP+ could not execute the function, retry")
REQUESTER_UNKNOWN = StatusCode("1.1", "1.1", "function requester unknown")
MALFORMED = StatusCode("1.3.1", "2.1", "malformed request")
HEADER_ELEMENT_MISSING = StatusCode("1.3.1", "2.2", "request header element missing")
FUNCTION_UNSUPPORTED = StatusCode("1.6", "3.1", "function not supported")
FUNCTION_REPLAYED = StatusCode(
    "1.6", "3.3", "functionCallIdentifier replayed with a different request body"
)
# eUICC (EID)
EID_INVALID = StatusCode("8.1.1", "2.1", "EID invalid")
EID_ASSOCIATION = StatusCode(
    "8.1.1", "3.10", "a different EID is already associated with this ICCID"
)
EID_MISMATCH = StatusCode("8.1.1", "3.8", "EID does not match the order", S.EidMismatch)
# Profile, ICCID
NOT_RELEASED = StatusCode(
    "8.2", "1.2", "profile not yet released by the operator", S.ProfileNotReleasedByOperator
)
ELEMENT_MISSING = StatusCode("8.2.1", "2.2", "mandatory element missing")
ICCID_INVALID = StatusCode("8.2.1", "2.1", "ICCID invalid")
ELEMENT_INVALID = StatusCode("8.2.1", "2.1", "element invalid")
ICCID_OR_PROFILE_TYPE_MISSING = StatusCode(
    "8.2.1", "2.3", "conditional element missing: iccid or profileType is required"
)
PROFILE_NOT_AVAILABLE = StatusCode(
    "8.2.1", "3.3", "profile not available", S.ProfileNotAvailableForNewBinding
)
INVALID_TRANSITION = StatusCode("8.2.1", "3.5", "invalid transition for the profile's state")
ICCID_UNKNOWN = StatusCode("8.2.1", "3.9", "ICCID unknown")
ICCID_NOT_IN_SESSION = StatusCode("8.2.1", "3.10", "ICCID is not the one of this session")
# Profile type
PROFILE_TYPE_INVALID = StatusCode("8.2.5", "2.1", "profileType invalid")
PROFILE_TYPE_EXHAUSTED = StatusCode("8.2.5", "3.7", "no more profile available of this type")
PROFILE_TYPE_UNKNOWN = StatusCode("8.2.5", "3.9", "profile type unknown")
# Matching ID
MATCHING_ID_INVALID = StatusCode("8.2.6", "2.1", "matchingId invalid")
MATCHING_ID_CONFLICT = StatusCode("8.2.6", "3.3", "matchingId already in use")
MATCHING_ID_REFUSED = StatusCode("8.2.6", "3.8", "matchingId refused", S.InvalidMatchingId)
MATCHING_ID_ASSOCIATION = StatusCode("8.2.6", "3.10", "matchingId is not the one of this order")
# Confirmation code
CC_INVALID = StatusCode("8.2.7", "2.1", "confirmationCode invalid")
CC_MISSING = StatusCode("8.2.7", "2.2", "confirmation code missing", S.ConfirmationCodeMissing)
CC_REFUSED = StatusCode("8.2.7", "3.8", "confirmation code refused", S.IncorrectConfirmationCode)
CC_RETRIES_EXCEEDED = StatusCode(
    "8.2.7",
    "6.4",
    "maximum number of confirmation code attempts exceeded",
    S.ConfirmationCodeMaxRetriesExceeded,
)
INSTALL_FAILED = StatusCode("8.2.10", "4.2", "profile installation failed on the eUICC")
DOWNLOAD_RETRIES_EXCEEDED = StatusCode(
    "8.8.5",
    "6.4",
    "maximum number of download attempts exceeded",
    S.ProfileNotAvailableForNewBinding,
)
SMDS_UNSUPPORTED = StatusCode("8.9.1", "3.1", "SM-DS is not supported by this SM-DP+")
TRANSACTION_UNKNOWN = StatusCode(
    "8.10.1", "3.9", "unknown transactionId (no such session, or expired)", S.NoCorrespondingRequest
)

CODES: tuple[StatusCode, ...] = tuple(
    v for v in list(globals().values()) if isinstance(v, StatusCode)
)

# Wire field → (code when missing, code when malformed) for ES2+ request bodies.
FIELD_CODES: dict[str, tuple[StatusCode, StatusCode]] = {
    "iccid": (ELEMENT_MISSING, ICCID_INVALID),
    "eid": (ELEMENT_MISSING, EID_INVALID),
    "profileType": (ICCID_OR_PROFILE_TYPE_MISSING, PROFILE_TYPE_INVALID),
    "matchingId": (ELEMENT_MISSING, MATCHING_ID_INVALID),
    "confirmationCode": (ELEMENT_MISSING, CC_INVALID),
    "releaseFlag": (ELEMENT_MISSING, ELEMENT_INVALID),
    "finalProfileStatusIndicator": (ELEMENT_MISSING, ELEMENT_INVALID),
    "smdsAddress": (ELEMENT_MISSING, SMDS_UNSUPPORTED),
}


class RspError(Exception):
    """A business failure: answered as ``Failed`` with this code (never an HTTP error)."""

    def __init__(self, code: StatusCode, message: str | None = None) -> None:
        super().__init__(message or code.meaning)
        self.code = code
        self.message = message or code.meaning


class ConcurrentUpdate(Exception):
    """Another transaction changed the same row first: roll back and run the request again."""


def es2_failed(code: StatusCode, message: str | None = None) -> dict[str, Any]:
    """An ES2+ response body with ``status: Failed`` (esim-rsp 1.2)."""
    return codec.response_body(codec.ExecutionStatus(codec.FAILED, code.failure(message)))


def es2_success(**fields: Any) -> dict[str, Any]:
    """An ES2+ response body with ``status: Executed-Success`` and the given fields."""
    return codec.response_body(codec.OK, **fields)


def device_failed(code: StatusCode, message: str | None = None) -> dict[str, Any]:
    """A device-interface error body: the ES2+ failure plus ``esimOperationStatus``."""
    body = es2_failed(code, message)
    body["esimOperationStatus"] = code.esim_status.name
    return body
