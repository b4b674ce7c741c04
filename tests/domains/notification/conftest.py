"""Fixtures of the notification tests: real SMTP and webhook receivers, and helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from mobileplans.config import Settings
from tests.domains.notification.servers import SmtpHandler, SmtpServer, WebhookReceiver


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(SmtpHandler()) as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_from": "ops@mp.example"}
    )


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    await hook.start()
    yield hook
    await hook.stop()
