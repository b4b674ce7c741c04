"""Purchase vocabulary: purchase metadata (spec 2.2.4), orders, launch and re-entry data.

Enum values are the union of the documented values, serialized as PascalCase strings
(spec 7.1 #14): ``Cancelled`` is the samples' ``MobilePlansMoDirectStatus.cancelled``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mobileplans.kit.esim import ESimOperationStatus
from mobileplans.kit.schema import ApiModel


class MetaValue(StrEnum):
    """``userAccount`` / ``purchaseInstrument`` / ``line`` values (spec 2.2.1, 2.2.4).

    New = created in this session; Existing = already there; Bailed = the user quit at
    this step; None = the step was not reached.
    """

    NEW = "New"
    EXISTING = "Existing"
    BAILED = "Bailed"
    NONE = "None"


class MoDirectStatus(StrEnum):
    """``moDirectStatus``: the union of spec 2.2.1, 2.2.2 and 2.2.4 (7.1 #14)."""

    COMPLETE = "Complete"
    SERVICE_ERROR = "ServiceError"
    BILLING_ERROR = "BillingError"
    INVALID_SIM = "InvalidSIM"
    LOG_ON_FAILED = "LogOnFailed"
    PURCHASE_FAILED = "PurchaseFailed"
    CLIENT_ERROR = "ClientError"
    BAILED = "Bailed"
    CANCELLED = "Cancelled"
    NONE = "None"


class CallbackApi(StrEnum):
    """Which JS callback generation an operator's portal speaks (``OperatorSite.callback_api``)."""

    CURRENT = "current"  # MobilePlansInlineOperations / MobilePlans (spec 2.2.4)
    LEGACY = "legacy"  # DataMart.notifyPurchaseResult (spec 2.2.2)


class PurchaseMeta(ApiModel):
    """The purchase metadata object every callback carries (spec 2.2.4)."""

    user_account: MetaValue
    purchase_instrument: MetaValue
    line: MetaValue
    mo_direct_status: MoDirectStatus
    plan_name: str


class OrderKind(StrEnum):
    NEW_ESIM = "new-esim"  # a new profile bound to the device's EID (spec 1.2)
    TOPUP = "topup"  # balance added to a line the account owns (spec 1.4)
    ACTIVATE_SIM = "activate-sim"  # a warm physical SIM put on the account (spec 1.3)
    REISSUE = "reissue"  # a profile handed out again after a failed download (spec 1.9)


class OrderStatus(StrEnum):
    PLACED = "placed"  # claimed; fulfilment in progress
    PENDING_RELEASE = "pending-release"  # delayed profile: confirmed, release due later
    FULFILLED = "fulfilled"
    FAILED = "failed"  # nothing credited, no line created
    RELEASE_FAILED = "release-failed"  # the SM-DP+ refused the delayed release
    CANCELLED = "cancelled"


SETTLED = frozenset(
    {OrderStatus.PENDING_RELEASE, OrderStatus.FULFILLED, OrderStatus.FAILED,
     OrderStatus.RELEASE_FAILED, OrderStatus.CANCELLED}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Callback:
    """One JS call the portal page asks ``portal.js`` to make (docs/activation.md)."""

    object: str
    function: str
    args: list[Any]
    scripts: dict[str, str] | None = None

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"object": self.object, "function": self.function, "args": self.args}
        if self.scripts is not None:
            body["scripts"] = self.scripts
        return body


@dataclass(frozen=True, slots=True)
class OrderRead:
    id: str
    operator_id: str
    account_id: int
    plan_id: int
    kind: OrderKind
    status: OrderStatus
    transaction_id: str
    iccid: str | None
    eid: str | None
    activation_code: str | None
    download_delay_minutes: int
    release_due_at: datetime | None
    failure: str | None
    callback: dict[str, Any] | None
    created_at: datetime

    @property
    def succeeded(self) -> bool:
        return self.status in (OrderStatus.FULFILLED, OrderStatus.PENDING_RELEASE)


@dataclass(frozen=True, slots=True)
class DeviceLaunch:
    """The validated launch parameters of spec 2.1.1 (eras B/C)."""

    transaction_id: str
    location: str
    market: str
    eid: str | None = None
    iccid: str | None = None  # physical SIM
    iccids: tuple[str, ...] = ()  # this operator's profiles on the eUICC
    imei: str | None = None

    @property
    def is_physical(self) -> bool:
        return self.iccid is not None

    @property
    def device_iccids(self) -> tuple[str, ...]:
        return (self.iccid,) if self.iccid else self.iccids


@dataclass(frozen=True, slots=True)
class LaunchProblem:
    """Why a launch is refused: the status the callback reports and the parameter at fault."""

    status: MoDirectStatus  # ClientError or InvalidSIM
    field: str
    rule: str


@dataclass(frozen=True, slots=True)
class LpaError:
    """One entry of ``X-MP-LPAError-Codes`` with its timestamp (spec 2.1.3)."""

    name: str  # as received
    status: ESimOperationStatus  # Other for names we do not know
    at: datetime | None
    raw_time: str | None


@dataclass(frozen=True, slots=True)
class LpaErrorReport:
    """The re-entry headers of spec 2.1.3: what failed, when, and for which ICCID."""

    iccid: str
    errors: tuple[LpaError, ...] = field(default=())

    @property
    def statuses(self) -> frozenset[ESimOperationStatus]:
        return frozenset(e.status for e in self.errors)


class ReentryAction(StrEnum):
    REUSE = "reuse"  # hand the same activation code out again (spec 2.2.5 "Reuse")
    REISSUE = "reissue"  # cancel the old profile (Unavailable) and order a fresh one


@dataclass(frozen=True, slots=True)
class LineSummary:
    """A line on the account page: the SIM and what GetBalance would say about it."""

    iccid: str
    sim_kind: str
    status: str
    on_this_device: bool
    balances: list[dict[str, Any]]
