"""What a notification is before it becomes an outbox row."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    LOG = "log"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Recipient:
    """One address on one channel. ``secret`` is not stored with the row: delivery signs a
    webhook body with the operator's secret of the moment (HMAC-SHA256)."""

    channel: Channel
    address: str
    name: str = ""
    secret: str | None = None


@dataclass(frozen=True)
class Message:
    """A rendered message and the facts it was rendered from (sent as a webhook's JSON)."""

    event: str
    subject: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)
    operator_id: str | None = None
    incident_id: int | None = None
    maintenance_id: int | None = None
    bug_id: int | None = None
