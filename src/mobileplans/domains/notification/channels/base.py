"""What every channel adapter shares: the row it sends, its protocol, its one error.

An adapter either returns (the receiving server accepted the message) or raises
:class:`DeliveryError`; ``permanent`` says whether trying again could help (spec 7.3:
"email/webhook notifiers"; retries and backoff are the caller's, see ``delivery``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class OutboxRow:
    """One claimed ``notifications`` row, as its channel sends it."""

    id: int
    event: str
    channel: str
    recipient: str
    subject: str
    body: str
    created_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    operator_id: str | None = None
    incident_id: int | None = None
    maintenance_id: int | None = None
    bug_id: int | None = None
    attempts: int = 0
    lease_expires_at: datetime | None = None


class DeliveryError(Exception):
    """The message was not accepted. ``permanent``: the same request will fail again."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class ChannelAdapter(Protocol):
    name: str
    """The channel's label in metrics and logs (``email``, ``webhook``, ``log``)."""
    timeout_seconds: float
    """Longest one ``send`` may take; the caller starts a send only if its lease outlasts it."""

    async def send(self, row: OutboxRow) -> None:
        """Hand ``row`` to its receiver; return once it was accepted, else raise
        :class:`DeliveryError`."""
        ...
