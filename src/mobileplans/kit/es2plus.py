"""The ES2+ JSON binding (SGP.22 v2.5; esim-rsp 1.2-1.4), one codec for both sides.

The operator's client (``domains.purchase.es2plus_client``) and the SM-DP+'s server
(``domains.smdp.envelope``, ``codes``) build and read the same envelopes here, and so do
the two ends of ``HandleDownloadProgressInfo`` (SGP.22 5.3.5: ``domains.smdp.callbacks``
sends it, ``domains.purchase.progress`` receives it). Pure functions and values: no I/O, no
database, nothing from ``mobileplans`` outside ``kit``.

Wire shapes (member order as written here is the order on the wire):

- request: ``{"header": {"functionRequesterIdentifier", "functionCallIdentifier"}, ...}``
  with HTTP headers ``X-Admin-Protocol: gsma/rsp/v2.5.0`` and JSON content;
- response: ``{"header": {"functionExecutionStatus": {"status", "statusCodeData"?}}, ...}``,
  ``status`` one of ``Executed-Success``, ``Executed-WithWarning``, ``Failed``, ``Expired``;
  ``statusCodeData`` = ``{"subjectCode", "reasonCode", "message"}`` on a failure;
- HandleDownloadProgressInfo body: ``iccid``, ``profileType``, ``timestamp`` (W3C
  ``YYYY-MM-DDThh:mm:ssZ``), ``notificationPointId``, ``notificationPointStatus`` (a
  ``functionExecutionStatus``), optional ``eid``, ``resultData``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import ConfigDict, Field, field_validator

from mobileplans.kit import identifiers as ids
from mobileplans.kit.schema import ApiModel

ADMIN_PROTOCOL: Final = "gsma/rsp/v2.5.0"
ADMIN_PROTOCOL_PREFIX: Final = "gsma/rsp/v"
ES2PLUS_PATH: Final = "/gsma/rsp2/es2plus"
FUNCTIONS: Final = ("downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile")
HANDLE_DOWNLOAD_PROGRESS_INFO: Final = "handleDownloadProgressInfo"

EXECUTED_SUCCESS: Final = "Executed-Success"
EXECUTED_WITH_WARNING: Final = "Executed-WithWarning"
FAILED: Final = "Failed"
EXPIRED: Final = "Expired"
SUCCESS: Final = (EXECUTED_SUCCESS, EXECUTED_WITH_WARNING)

REQUESTER_ID: Final = "functionRequesterIdentifier"
CALL_ID: Final = "functionCallIdentifier"

# Notification points of HandleDownloadProgressInfo (SGP.22 5.3.5).
ELIGIBILITY_CHECK: Final = 1
BPP_DOWNLOAD: Final = 3
BPP_INSTALLATION: Final = 4


def http_headers() -> dict[str, str]:
    """The HTTP headers of an ES2+ request (``X-Admin-Protocol``; JSON body)."""
    return {"X-Admin-Protocol": ADMIN_PROTOCOL, "Content-Type": "application/json"}


def w3c_timestamp(instant: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` (esim-rsp 1.2); ``instant`` is in UTC. The year always has
    four digits (``strftime("%Y")`` writes year 1 as ``1``, which no reader accepts)."""
    return f"{instant.year:04d}-{instant:%m-%dT%H:%M:%S}Z"


# ---- requests ------------------------------------------------------------------------------


def request_body(requester_id: str, call_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """An ES2+ request: the request header, then the function's members."""
    return {"header": {REQUESTER_ID: requester_id, CALL_ID: call_id}, **fields}


# ---- responses -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusCodeData:
    """Why a function failed: SGP.22 5.2.6 subject and reason codes, and a message."""

    subject_code: str
    reason_code: str
    message: str = ""

    @property
    def code(self) -> str:
        return f"{self.subject_code}/{self.reason_code}"

    def wire(self) -> dict[str, str]:
        return {"subjectCode": self.subject_code, "reasonCode": self.reason_code,
                "message": self.message}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExecutionStatus:
    """A ``functionExecutionStatus``: the status, and on failure its ``statusCodeData``."""

    status: str
    status_code_data: StatusCodeData | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS

    def wire(self) -> dict[str, Any]:
        if self.status_code_data is None:
            return {"status": self.status}
        return {"status": self.status, "statusCodeData": self.status_code_data.wire()}


OK: Final = ExecutionStatus(EXECUTED_SUCCESS)


def failure(subject_code: str, reason_code: str, message: str) -> ExecutionStatus:
    """A ``Failed`` status with its codes."""
    return ExecutionStatus(FAILED, StatusCodeData(subject_code, reason_code, message))


def response_body(status: ExecutionStatus, **fields: Any) -> dict[str, Any]:
    """An ES2+ response: the response header, then the members that are not ``None``."""
    body: dict[str, Any] = {"header": {"functionExecutionStatus": status.wire()}}
    body.update({name: value for name, value in fields.items() if value is not None})
    return body


def read_status(answer: Any) -> ExecutionStatus | None:
    """The ``functionExecutionStatus`` of a response body; ``None`` when ``answer`` is not
    an ES2+ response. Missing codes read as empty strings."""
    header = answer.get("header") if isinstance(answer, dict) else None
    block = header.get("functionExecutionStatus") if isinstance(header, dict) else None
    if not isinstance(block, dict) or not isinstance(block.get("status"), str):
        return None
    status: str = block["status"]
    if status in SUCCESS:
        return ExecutionStatus(status)
    data = block.get("statusCodeData")
    data = data if isinstance(data, dict) else {}
    return ExecutionStatus(
        status,
        StatusCodeData(
            str(data.get("subjectCode", "")),
            str(data.get("reasonCode", "")),
            str(data.get("message", "")),
        ),
    )


# ---- HandleDownloadProgressInfo (SGP.22 5.3.5) ---------------------------------------------


def progress_body(
    *,
    iccid: str,
    profile_type: str,
    timestamp: datetime,
    point: int,
    status: ExecutionStatus,
    eid: str | None = None,
) -> dict[str, Any]:
    """The members of a HandleDownloadProgressInfo request (the request header is added by
    :func:`request_body` when it is sent)."""
    body: dict[str, Any] = {
        "iccid": iccid,
        "profileType": profile_type,
        "timestamp": w3c_timestamp(timestamp),
        "notificationPointId": point,
        "notificationPointStatus": status.wire(),
    }
    if eid:
        body["eid"] = eid
    return body


class _Lenient(ApiModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class StatusCodeDataIn(_Lenient):
    subject_code: str
    reason_code: str
    subject_identifier: str | None = None
    message: str | None = None


class ExecutionStatusIn(_Lenient):
    status: str = Field(min_length=1, max_length=32)
    status_code_data: StatusCodeDataIn | None = None

    def value(self) -> ExecutionStatus:
        data = self.status_code_data
        if data is None:
            return ExecutionStatus(self.status)
        return ExecutionStatus(
            self.status, StatusCodeData(data.subject_code, data.reason_code, data.message or "")
        )


class RequestHeaderIn(_Lenient):
    function_requester_identifier: str | None = None
    function_call_identifier: str | None = None


class DownloadProgressInfo(_Lenient):
    """A received HandleDownloadProgressInfo body; unknown members are ignored."""

    header: RequestHeaderIn | None = None
    iccid: str
    profile_type: str = Field(min_length=1, max_length=64)
    timestamp: datetime = Field(strict=False)
    notification_point_id: int = Field(ge=0, le=1000)
    notification_point_status: ExecutionStatusIn
    eid: str | None = None
    result_data: str | None = None

    @field_validator("iccid")
    @classmethod
    def _iccid(cls, value: str) -> str:
        return ids.parse_iccid(value, lenient=True)

    @field_validator("eid")
    @classmethod
    def _eid(cls, value: str | None) -> str | None:
        return ids.parse_eid(value) if value is not None else None

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp needs a UTC offset or Z (W3C YYYY-MM-DDThh:mm:ssTZD)")
        return value

    @property
    def succeeded(self) -> bool:
        return self.notification_point_status.status in SUCCESS
