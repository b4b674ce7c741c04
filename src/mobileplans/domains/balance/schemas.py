"""What the broker answers the network flyout (spec 1.10 table; contract 7.3)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from mobileplans.kit.schema import ApiModel


class FlyoutAction(StrEnum):
    CONNECT_WITH_DATA_PLAN = "connectWithDataPlan"  # NONE: opens the Mobile Plans app
    VIEW_MY_ACCOUNT = "viewMyAccount"


class BalanceItem(ApiModel):
    """One MO balance, normalised (keys read case-insensitively, spec 7.1 #1)."""

    id: str | None = None
    type: str
    data_remaining_in_mb: float = Field(serialization_alias="dataRemaininginMB")
    time_remaining: str
    locations: list[str] | None = None


class Flyout(ApiModel):
    action: FlyoutAction
    balance_text: str | None
    mobile_plans_enabled: bool


class BalanceAnswer(ApiModel):
    iccid: str
    operator_id: str
    environment: str
    balances: list[BalanceItem]
    flyout: Flyout
    cached: bool
    ms_transaction_id: str


LookupRecord = tuple[datetime, str, str, str, str, str, int | None, float]
"""One GetBalance call as the broker records it for ``balance_lookups``: at, operatorId,
environment, ICCID, msTransactionId, outcome, status code, latency in ms, in that order
(a tuple, not a dict: one is made for every proxied call)."""
