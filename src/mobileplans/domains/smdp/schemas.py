"""SM-DP+ states and wire shapes (ES2+ per SGP.22 v2.5, device interface per docs/activation.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict

from mobileplans.kit.schema import ApiModel


class ProfileState(StrEnum):
    """SM-DP+ profile lifecycle (esim-rsp 1.5)."""

    AVAILABLE = "Available"
    ALLOCATED = "Allocated"
    LINKED = "Linked"
    CONFIRMED = "Confirmed"
    RELEASED = "Released"
    DOWNLOADED = "Downloaded"
    INSTALLED = "Installed"
    ERROR = "Error"
    UNAVAILABLE = "Unavailable"


class SessionState(StrEnum):
    """A device download session (``smdp_download_sessions.state``)."""

    INITIATED = "Initiated"
    DOWNLOADED = "Downloaded"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    SUPERSEDED = "Superseded"
    EXPIRED = "Expired"


class NotificationPoint:
    """``notificationPointId`` values of ES2+ HandleDownloadProgressInfo (esim-rsp 1.3)."""

    ELIGIBILITY = 1
    BPP_DOWNLOAD = 3
    BPP_INSTALLATION = 4


@dataclass(frozen=True, slots=True)
class PendingCallback:
    """A ``handleDownloadProgressInfo`` call to make once the transaction committed."""

    url: str
    requester_id: str
    body: dict[str, Any]

    @property
    def iccid(self) -> str:
        return str(self.body["iccid"])

    @property
    def notification_point_id(self) -> int:
        return int(self.body["notificationPointId"])


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a use case answers: the response body (``None`` = 204) and callbacks to send."""

    response: dict[str, Any] | None
    callbacks: tuple[PendingCallback, ...] = field(default=())


class DeviceRequest(ApiModel):
    """Device-interface requests: strict JSON types; unknown members are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)


class InitiateDownloadIn(DeviceRequest):
    eid: str
    matching_id: str
    imei: str | None = None


class GetBoundProfilePackageIn(DeviceRequest):
    transaction_id: str
    hash_cc: str | None = None


NotificationEvent = Literal["install", "enable", "disable", "delete"]


class HandleNotificationIn(DeviceRequest):
    transaction_id: str
    eid: str
    iccid: str
    event: NotificationEvent
    success: bool
    reason: str | None = None


class CancelSessionIn(DeviceRequest):
    transaction_id: str
    reason: str


class ProfileMetadata(ApiModel):
    iccid: str
    service_provider_name: str
    profile_name: str
    operator_id: str
    profile_class: Literal["operational"] = "operational"


class InitiateDownloadOut(ApiModel):
    transaction_id: str
    cc_required: bool
    profile_metadata: ProfileMetadata


class BoundProfilePackageOut(ApiModel):
    transaction_id: str
    bound_profile_package: str


class CancelSessionOut(ApiModel):
    transaction_id: str


class ProfileRead(ApiModel):
    iccid: str
    operator_id: str
    profile_type: str
    state: ProfileState
    eid: str | None
    matching_id: str | None
    cc_required: bool
    spn: str
    profile_name: str
    requester_id: str | None
    download_attempts: int
    cc_attempts: int
    updated_at: datetime


class ProfileEventRead(ApiModel):
    iccid: str
    at: datetime
    from_state: ProfileState | None
    to_state: ProfileState
    function: str
    detail: dict[str, Any]


class RequesterRead(ApiModel):
    requester_id: str
    operator_id: str
    callback_url: str | None


class ProfileCount(ApiModel):
    operator_id: str
    profile_type: str
    state: ProfileState
    count: int


class CallbackRead(ApiModel):
    """One row of the callback outbox, for ``mobileplans smdp callbacks``."""

    id: int
    iccid: str
    notification_point_id: int
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    url: str
