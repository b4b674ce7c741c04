"""Device-facing broker schemas (spec 7.3, our design)."""

from __future__ import annotations

from typing import Any

from mobileplans.kit.schema import ApiModel


class Gateway(ApiModel):
    """The gateway page to show: an enhanced template, or ``None`` for the standard page."""

    template_id: str
    template: dict[str, Any] | None


class Provider(ApiModel):
    mo_id: str
    brand_name: str
    logo: dict[str, Any] | None
    portal_url: str
    launch_url: str
    transaction_id: str
    notification_hosts: list[str]
    gateway: Gateway


class ProviderList(ApiModel):
    location: str
    market: str
    environment: str
    providers: list[Provider]


class SimRead(ApiModel):
    """Which operator and environment an ICCID belongs to (``GET /v1/sims/{iccid}``)."""

    iccid: str
    operator_id: str
    brand_name: str
    environment: str
    range_kind: str
    range_start: str
    range_end: str
