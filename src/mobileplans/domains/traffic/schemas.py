"""Wire models of traffic failure percentages."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from mobileplans.kit.schema import ApiModel


class SourceCounts(ApiModel):
    """Requests of one kind in the window; ``clientSide`` of them are counted, not failed."""

    requests: int = 0
    failures: int = 0
    client_side: int = 0
    failure_percent: float | None = None


class TrafficCounts(ApiModel):
    requests: int
    failures: int
    failure_percent: float | None
    balance: SourceCounts
    purchase: SourceCounts


class PartnerFailures(TrafficCounts):
    operator_id: str


class TrafficFailures(ApiModel):
    """Partner and global failure percentages over ``[start, end)`` (spec 5.3, 7.2 #31)."""

    window_seconds: int
    start: datetime
    end: datetime
    environment: str | None
    global_traffic: TrafficCounts = Field(alias="global")
    partners: list[PartnerFailures]
