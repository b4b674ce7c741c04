"""Subscriber schemas. Wire names of GetBalance follow the spec's examples (7.1 #1)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from mobileplans.kit.schema import ApiModel


class BalanceType(StrEnum):
    """GetBalance ``type`` values, DYNAMO onward (spec 2.3; 7.1 #9 for the two MO Direct kinds)."""

    MODIRECT = "MODIRECT"  # postpaid / subscription: flyout shows "View my account" only
    MODIRECTPAYG = "MODIRECTPAYG"  # metered prepaid: flyout shows the balance
    NONE = "NONE"  # nothing to consume: flyout offers "Connect with a data plan"
    NOTSUPPORTED = "NOTSUPPORTED"  # SIM excluded from Mobile Plans


class PlanKind(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class SimKind(StrEnum):
    ESIM = "esim"
    PHYSICAL = "physical"


class LineStatus(StrEnum):
    """Where a line is in its life at the operator."""

    WARM = "warm"  # physical SIM, attaches but has no subscription
    RESERVED = "reserved"  # eSIM ordered at the SM-DP+, not yet releasable
    RELEASED = "released"  # activation code handed out, waiting for the device
    DOWNLOADED = "downloaded"  # SM-DP+ reported the BPP downloaded (notification point 3)
    INSTALLED = "installed"  # SM-DP+ reported it installed (notification point 4)
    ACTIVE = "active"  # in service with an account
    CANCELLED = "cancelled"


class PlanIn(ApiModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=120)
    kind: PlanKind
    data_mb: float = Field(gt=0)
    validity_days: int = Field(gt=0, le=3660)
    price_cents: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    countries: list[str] = Field(min_length=1)
    profile_type: str = Field(min_length=1, max_length=64)
    download_delay_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)

    @property
    def balance_type(self) -> BalanceType:
        return BalanceType.MODIRECTPAYG if self.kind is PlanKind.PREPAID else BalanceType.MODIRECT


class PlanRead(PlanIn):
    id: int
    operator_id: str


class AccountRead(ApiModel):
    id: int
    operator_id: str
    email: str
    display_name: str
    payment_last4: str | None


class LineRead(ApiModel):
    iccid: str
    operator_id: str
    account_id: int | None
    eid: str | None
    sim_kind: SimKind
    status: LineStatus
    supported: bool


class Balance(ApiModel):
    """One balance resource of GetBalance (spec 2.3); ``full`` adds ``locations``."""

    id: str
    type: BalanceType
    data_remaining_in_mb: float = Field(serialization_alias="dataRemaininginMB")
    time_remaining: str
    locations: list[str] | None = None


class LineState(ApiModel):
    """What the core network stand-in sees for a line: may it use the open internet?"""

    iccid: str
    walled_garden: bool
    data_remaining_in_mb: float = Field(serialization_alias="dataRemaininginMB")
    time_remaining: str


class UsageReport(ApiModel):
    """What the core network stand-in reports: ``mb`` used on a line, optionally where."""

    iccid: str
    mb: float = Field(allow_inf_nan=False)
    location: str | None = None


class UsageResult(ApiModel):
    """The part of a usage report that found no balance, and the line's state after it."""

    refused_mb: float
    state: LineState


class NotificationType(StrEnum):
    """GetNotifications types (spec 2.7): lower camelCase on the wire."""

    LOW_BALANCE = "lowBalance"
    ZERO_BALANCE = "zeroBalance"
    NEW_OFFER = "newOffer"
    TRIAL_OFFER = "trialOffer"
    TRIAL_ENDING = "trialEnding"
    TRIAL_ENDED = "trialEnded"


class Offer(ApiModel):
    """One GetOffers entry (spec 2.6): a gateway template id (a string, 7.1 #21/#23)."""

    gateway_id: str


class Notification(ApiModel):
    """One GetNotifications entry (spec 2.7); ``notificationId`` is numeric on the wire."""

    notification_id: int
    notification_type: NotificationType
