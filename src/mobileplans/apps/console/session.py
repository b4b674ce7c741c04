"""The console's session: a signed cookie (HMAC-SHA256 with the data directory's
``console_session_secret``), ``HttpOnly``, ``SameSite=Strict``, with an expiry.

Format: ``base64url(JSON) "." base64url(HMAC-SHA256(secret, "console|" + payload))``. The
session names the party (platform, or one operator) and carries the CSRF token of its
forms. A cookie with a bad signature reads as no session; an expired one as expired (the
sign-in page says so).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from mobileplans.domains.access.service import Party

COOKIE_NAME = "mp_console"
CSRF_COOKIE = "mp_console_csrf"
MAX_AGE_SECONDS = 8 * 3600


class ConsoleSession(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Literal["platform", "operator"]
    operator_id: str | None
    actor: str
    expires: float  # epoch seconds
    csrf: str

    @property
    def party(self) -> Party:
        return Party(self.side, self.operator_id, self.actor)


@dataclass(frozen=True)
class Read:
    session: ConsoleSession | None
    expired: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), f"console|{payload}".encode(), hashlib.sha256).digest())


def issue(party: Party, secret: str, now: datetime) -> tuple[ConsoleSession, str]:
    """A new session for ``party`` and its cookie value."""
    state = ConsoleSession(
        side=party.side,
        operator_id=party.operator_id,
        actor=party.actor,
        expires=now.timestamp() + MAX_AGE_SECONDS,
        csrf=secrets.token_urlsafe(24),
    )
    payload = _b64(state.model_dump_json().encode())
    return state, f"{payload}.{_signature(secret, payload)}"


def read(token: str | None, secret: str, now: datetime) -> Read:
    if not token or token.count(".") != 1:
        return Read(None)
    payload, signature = token.split(".")
    if not hmac.compare_digest(signature.encode(), _signature(secret, payload).encode()):
        return Read(None)
    try:
        state = ConsoleSession.model_validate_json(_unb64(payload))
    except (ValidationError, ValueError, binascii.Error):
        return Read(None)
    if now.timestamp() >= state.expires:
        return Read(None, expired=True)
    return Read(state)


def same(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens; a missing one never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
