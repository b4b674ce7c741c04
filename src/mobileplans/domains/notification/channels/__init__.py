"""One adapter per delivery channel (email, webhook, log), each ``send(row)`` or raise
:class:`~mobileplans.domains.notification.channels.base.DeliveryError` (issue #5)."""

from mobileplans.domains.notification.channels.base import (
    ChannelAdapter,
    DeliveryError,
    OutboxRow,
)

__all__ = ["ChannelAdapter", "DeliveryError", "OutboxRow"]
